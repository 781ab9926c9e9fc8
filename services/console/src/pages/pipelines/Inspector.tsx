/**
 * The selected node's side panel: what it is, its live status and counters, the API's problems
 * with it, its config form, its connections (a keyboard way to connect ports, type-checked like a
 * drag on the canvas), deleting it, and testing it on a captured input (dry run).
 */
import { type FormEvent, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { formatDateTime } from "@/lib/format";

import { ConfigForm } from "./ConfigForm";
import { edgeKey, type Graph, type GraphEdge, type GraphNode, type NodeTypeSpec, type PlacedProblem } from "./graph";
import { JsonBlock, StatusBadge } from "./parts";
import { ApiProblem, type DryRunItem, type DryRunResult, dryRun, type NodeCounters, type PipelineRun } from "./queries";
import { capturedInput } from "./captured";
import type { NodeStatus } from "./status";

const KIND_OF_INPUT: Record<string, DryRunItem["kind"]> = {
  camera_rtsp: "detection", plate: "plate", sensor_data: "anomaly", status: "device_status", event: "event",
  api_webhook: "webhook",
};
const KINDS: DryRunItem["kind"][] = ["detection", "plate", "anomaly", "telemetry", "event", "device_status",
  "camera_health", "tick", "webhook"];

function DryRunPanel({ graph, node, spec, runs, onProblems }: {
  graph: Graph;
  node: GraphNode;
  spec: NodeTypeSpec | undefined;
  runs: readonly PipelineRun[];
  onProblems: (problem: ApiProblem, sent: Graph) => void;
}) {
  const { t } = useTranslation();
  const isInput = spec?.category === "input";
  const [kind, setKind] = useState<DryRunItem["kind"]>(KIND_OF_INPUT[node.type] ?? "detection");
  const [source, setSource] = useState("");
  const [data, setData] = useState("{}");
  const [result, setResult] = useState<DryRunResult | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `dry-${node.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;

  const useCaptured = () => {
    const captured = capturedInput(runs, node, isInput);
    if (!captured) {
      setProblem(t("pipelines.test.noCaptured"));
      return;
    }
    setProblem(null);
    setKind(captured.kind);
    setSource(captured.source);
    setData(JSON.stringify(captured.data, null, 2));
  };

  const run = async (event: FormEvent) => {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      setProblem(t("pipelines.test.badJson"));
      return;
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      setProblem(t("pipelines.test.badJson"));
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      setResult(await dryRun(graph, { kind, source, data: parsed as Record<string, unknown> }, node.id));
    } catch (error) {
      setResult(null);
      if (error instanceof ApiProblem) {
        setProblem(Object.values(error.fields).flat().join(" ") || error.message);
        onProblems(error, graph);
      } else setProblem(String(error));
    } finally {
      setBusy(false);
    }
  };

  const trace = result?.trace.find((t) => t.node === node.id);
  return (
    <section aria-labelledby={`${id}-title`} className="flex flex-col gap-2 border-t pt-3">
      <h3 id={`${id}-title`} className="text-sm font-semibold">{t("pipelines.test.title")}</h3>
      <form className="flex flex-col gap-2" onSubmit={(e) => void run(e)}>
        <div className="flex flex-col gap-1">
          <Label htmlFor={`${id}-kind`}>{t("pipelines.test.kind")}</Label>
          <select id={`${id}-kind`} value={kind} onChange={(e) => setKind(e.target.value as DryRunItem["kind"])}
            className="h-9 rounded-md border border-input bg-background px-2 text-sm">
            {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </div>
        <div className="flex flex-col gap-1">
          <Label htmlFor={`${id}-source`}>{t("pipelines.test.source")}</Label>
          <Input id={`${id}-source`} value={source} onChange={(e) => setSource(e.target.value)} />
        </div>
        <div className="flex flex-col gap-1">
          <Label htmlFor={`${id}-data`}>{t("pipelines.test.data")}</Label>
          <textarea id={`${id}-data`} value={data} onChange={(e) => setData(e.target.value)} rows={5} spellCheck={false}
            className="rounded-md border border-input bg-background p-2 font-mono text-xs" />
        </div>
        <div className="flex flex-wrap gap-2">
          <Button type="button" variant="outline" size="sm" onClick={useCaptured}>{t("pipelines.test.captured")}</Button>
          <Button type="submit" size="sm" disabled={busy}>{t("pipelines.test.run")}</Button>
        </div>
      </form>
      {problem && <p role="alert" className="text-xs text-destructive">{problem}</p>}
      {result && (
        <div className="flex flex-col gap-1" data-testid="dry-run-result" aria-live="polite">
          <p className="text-xs font-medium">{t("pipelines.test.output")}</p>
          {trace && trace.outputs.length > 0
            ? <JsonBlock value={trace.outputs} label={t("pipelines.test.output")} testId="dry-run-output" />
            : <p className="text-xs text-muted-foreground" data-testid="dry-run-output">{t("pipelines.test.nothing")}</p>}
          {trace?.error && <p className="text-xs text-destructive">{trace.error}</p>}
          <p className="text-xs text-muted-foreground">{t("pipelines.test.emissions", { count: result.emissions.length })}</p>
        </div>
      )}
    </section>
  );
}

export function Inspector({ graph, node, spec, catalogue, status, counted, problems, runs, readOnly, timeZone,
  onConfig, onLabel, onDelete, onConnect, onDisconnect, onProblems }: {
  graph: Graph;
  node: GraphNode;
  spec: NodeTypeSpec | undefined;
  catalogue: ReadonlyMap<string, NodeTypeSpec>;
  status: NodeStatus;
  counted: NodeCounters | undefined;
  problems: PlacedProblem[];
  runs: readonly PipelineRun[];
  readOnly: boolean;
  timeZone: string;
  onConfig: (config: Record<string, unknown>) => void;
  onLabel: (label: string) => void;
  onDelete: () => void;
  onConnect: (edge: GraphEdge) => void;
  onDisconnect: (edge: GraphEdge) => void;
  onProblems: (problem: ApiProblem, sent: Graph) => void;
}) {
  const { t, i18n } = useTranslation();
  const outputs = spec?.outputs ?? [];
  const [fromPort, setFromPort] = useState(outputs[0]?.name ?? "");
  const [target, setTarget] = useState("");
  const targets = useMemo(() => graph.nodes.filter((n) => n.id !== node.id).flatMap((n) =>
    (catalogue.get(n.type)?.inputs ?? []).map((p) => ({ value: `${n.id}\u0000${p.name}`, label: `${n.label || n.id} · ${p.name} (${p.type})` }))),
  [graph.nodes, node.id, catalogue]);
  const edges = graph.edges.filter((e) => e.source === node.id || e.target === node.id);
  const nodeProblems = problems.filter((p) => !p.configPath).flatMap((p) => p.messages);
  const configProblems = problems.filter((p) => p.configPath).map((p) => ({ path: p.configPath ?? [], messages: p.messages }));
  const id = node.id.replace(/[^A-Za-z0-9_-]/g, "_");
  const port = fromPort || outputs[0]?.name || "";

  return (
    <div className="flex flex-col gap-3" data-testid="inspector" data-node={node.id}>
      <div>
        <h2 className="text-base font-semibold">{node.label || node.id}</h2>
        <p className="text-xs text-muted-foreground">{spec?.label ?? node.type}</p>
        <p className="mt-1 text-xs text-muted-foreground">{spec?.description}</p>
      </div>
      <div className="flex flex-wrap items-center gap-2 text-xs tabular-nums" data-testid="inspector-counters">
        <StatusBadge status={status} />
        <span>{t("pipelines.inspector.inputs")} {counted?.inputs ?? 0}</span>
        <span>{t("pipelines.inspector.outputs")} {counted?.outputs ?? 0}</span>
        <span>{t("pipelines.inspector.errors")} {counted?.errors ?? 0}</span>
        {counted?.last_fired_at && (
          <span>{t("pipelines.inspector.lastFired", { time: formatDateTime(counted.last_fired_at, timeZone, i18n.language) })}</span>
        )}
      </div>
      {counted?.last_error && (
        <p className="text-xs text-destructive" data-testid="inspector-last-error">
          {t("pipelines.inspector.lastError", {
            time: counted.last_error_at ? formatDateTime(counted.last_error_at, timeZone, i18n.language) : "—",
            error: counted.last_error,
          })}
        </p>
      )}
      {nodeProblems.length > 0 && (
        <ul className="list-disc pl-4 text-xs text-destructive" data-testid="inspector-problems">
          {nodeProblems.map((m) => <li key={m}>{m}</li>)}
        </ul>
      )}
      <div className="flex flex-col gap-1">
        <Label htmlFor={`label-${id}`}>{t("pipelines.inspector.label")}</Label>
        <Input id={`label-${id}`} value={node.label ?? ""} maxLength={120} disabled={readOnly}
          onChange={(e) => onLabel(e.target.value)} />
      </div>
      <section aria-labelledby={`cfg-title-${id}`}>
        <h3 id={`cfg-title-${id}`} className="mb-2 text-sm font-semibold">{t("pipelines.inspector.config")}</h3>
        {spec && (
          <ConfigForm nodeId={node.id} schema={spec.config_schema} config={node.config} problems={configProblems}
            readOnly={readOnly} onChange={onConfig} />
        )}
      </section>
      <section aria-labelledby={`conn-title-${id}`} className="flex flex-col gap-2 border-t pt-3">
        <h3 id={`conn-title-${id}`} className="text-sm font-semibold">{t("pipelines.inspector.connections")}</h3>
        {edges.length === 0 ? <p className="text-xs text-muted-foreground">{t("pipelines.inspector.noConnections")}</p> : (
          <ul className="flex flex-col gap-1 text-xs" data-testid="inspector-edges">
            {edges.map((edge) => {
              const text = `${edge.source}.${edge.source_port} → ${edge.target}.${edge.target_port}`;
              return (
                <li key={edgeKey(edge)} className="flex items-center justify-between gap-2">
                  <span className="break-all">{text}</span>
                  {!readOnly && (
                    <Button type="button" variant="ghost" size="sm" aria-label={t("pipelines.inspector.removeEdge", { edge: text })}
                      onClick={() => onDisconnect(edge)}>×</Button>
                  )}
                </li>
              );
            })}
          </ul>
        )}
        {!readOnly && outputs.length > 0 && targets.length > 0 && (
          <form className="flex flex-col gap-2" onSubmit={(e) => {
            e.preventDefault();
            const [targetNode, targetPort] = (target || targets[0]!.value).split("\u0000");
            onConnect({ source: node.id, source_port: port, target: targetNode!, target_port: targetPort! });
          }}>
            {outputs.length > 1 && (
              <div className="flex flex-col gap-1">
                <Label htmlFor={`from-${id}`}>{t("pipelines.inspector.connectFrom")}</Label>
                <select id={`from-${id}`} value={port} onChange={(e) => setFromPort(e.target.value)}
                  className="h-9 rounded-md border border-input bg-background px-2 text-sm">
                  {outputs.map((p) => <option key={p.name} value={p.name}>{`${p.name} (${p.type})`}</option>)}
                </select>
              </div>
            )}
            <div className="flex flex-col gap-1">
              <Label htmlFor={`to-${id}`}>{t("pipelines.inspector.connectTo")}</Label>
              <select id={`to-${id}`} value={target || targets[0]!.value} onChange={(e) => setTarget(e.target.value)}
                className="h-9 rounded-md border border-input bg-background px-2 text-sm">
                {targets.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
              </select>
            </div>
            <Button type="submit" size="sm" variant="outline">{t("pipelines.inspector.connect")}</Button>
          </form>
        )}
      </section>
      {!readOnly && (
        <Button type="button" variant="outline" size="sm" onClick={onDelete} className="text-destructive">
          {t("pipelines.inspector.delete")}
        </Button>
      )}
      <DryRunPanel key={node.id} graph={graph} node={node} spec={spec} runs={runs} onProblems={onProblems} />
    </div>
  );
}
