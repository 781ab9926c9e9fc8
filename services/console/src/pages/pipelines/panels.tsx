/** The builder's panels around the canvas: the node palette, the diff before deploy, the last runs and the counters. */
import { useTranslation } from "react-i18next";

import { Button } from "@/components/ui/button";
import { formatDateTime } from "@/lib/format";

import { edgeKey, type GraphDiff, isEmptyDiff, type NodeTypeSpec } from "./graph";
import { JsonBlock } from "./parts";
import type { NodeCounters, PipelineRun, VersionSummary } from "./queries";

export const NODE_MIME = "application/vigia-node-type";
const CATEGORIES = ["input", "processing", "logic", "output"] as const;

/** The catalogue by category: each entry draggable onto the canvas, or added with Enter/click. */
export function Palette({ types, readOnly, onAdd }: {
  types: readonly NodeTypeSpec[];
  readOnly: boolean;
  onAdd: (type: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <nav aria-labelledby="palette-title" className="flex flex-col gap-3" data-testid="palette">
      <div>
        <h2 id="palette-title" className="text-sm font-semibold">{t("pipelines.builder.palette")}</h2>
        <p className="text-xs text-muted-foreground">{t("pipelines.builder.paletteHint")}</p>
      </div>
      {CATEGORIES.map((category) => {
        const entries = types.filter((type) => type.category === category);
        if (!entries.length) return null;
        return (
          <section key={category} aria-labelledby={`palette-${category}`}>
            <h3 id={`palette-${category}`} className="mb-1 text-xs font-semibold uppercase text-muted-foreground">
              {t(`pipelines.category.${category}`)}
            </h3>
            <ul className="flex flex-wrap gap-1 lg:flex-col">
              {entries.map((type) => (
                <li key={type.type}>
                  <button type="button" disabled={readOnly} draggable={!readOnly} title={type.description}
                    aria-label={t("pipelines.builder.add", { label: type.label })} data-testid={`palette-${type.type}`}
                    onDragStart={(e) => {
                      e.dataTransfer.setData(NODE_MIME, type.type);
                      e.dataTransfer.effectAllowed = "copy";
                    }}
                    onClick={() => onAdd(type.type)}
                    className="w-full rounded border bg-card px-2 py-1 text-left text-xs hover:bg-accent focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring disabled:opacity-50">
                    {type.label}
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </nav>
  );
}

const show = (value: unknown): string => (value === undefined ? "—" : JSON.stringify(value).slice(0, 120));

/** The diff between the deployed version and the draft, and the confirmation to deploy it. */
export function DeployPanel({ diff, deployed, busy, onConfirm, onCancel }: {
  diff: GraphDiff;
  deployed: number | null;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const lines = [
    ...diff.addedNodes.map((n) => ["added", t("pipelines.diff.addedNode", { node: `${n.id} (${n.type})` })]),
    ...diff.removedNodes.map((n) => ["removed", t("pipelines.diff.removedNode", { node: `${n.id} (${n.type})` })]),
    ...diff.changedNodes.flatMap((n) => [
      ["changed", t("pipelines.diff.changedNode", { node: n.id, keys: n.keys.join(", ") })],
      ...n.changes.map((c) => ["detail", `${n.id}.${c.key}: ${show(c.before)} → ${show(c.after)}`]),
    ]),
    ...diff.addedEdges.map((e) => ["added", t("pipelines.diff.addedEdge", { edge: edgeKey(e) })]),
    ...diff.removedEdges.map((e) => ["removed", t("pipelines.diff.removedEdge", { edge: edgeKey(e) })]),
  ] as [string, string][];
  const mark: Record<string, string> = { added: "+", removed: "−", changed: "~", detail: " " };
  return (
    <section aria-labelledby="deploy-title" className="rounded-md border bg-card p-3" data-testid="deploy-diff">
      <h2 id="deploy-title" className="text-sm font-semibold">{t("pipelines.diff.title")}</h2>
      <p className="text-xs text-muted-foreground">
        {deployed ? t("pipelines.diff.against", { number: deployed }) : t("pipelines.diff.againstNone")}
      </p>
      {isEmptyDiff(diff) ? <p className="mt-2 text-sm">{t("pipelines.diff.none")}</p> : (
        <ul className="mt-2 flex flex-col gap-0.5 font-mono text-xs">
          {lines.map(([kind, text]) => (
            <li key={text} data-change={kind} className={kind === "detail" ? "pl-4 text-muted-foreground" : undefined}>
              <span aria-hidden className="mr-1 font-bold">{mark[kind]}</span>{text}
            </li>
          ))}
        </ul>
      )}
      <div className="mt-3 flex gap-2">
        <Button type="button" size="sm" onClick={onConfirm} disabled={busy}>{t("pipelines.diff.confirm")}</Button>
        <Button type="button" size="sm" variant="outline" onClick={onCancel}>{t("pipelines.diff.cancel")}</Button>
      </div>
    </section>
  );
}

interface TraceEntry {
  node: string;
  inputs: unknown[];
  outputs: unknown[];
  error: string | null;
}

/** The runtime's last runs: each input, whether it fired, and what every node received and handed on. */
export function RunsPanel({ runs, timeZone }: { runs: readonly PipelineRun[]; timeZone: string }) {
  const { t, i18n } = useTranslation();
  return (
    <section aria-labelledby="runs-title" className="flex flex-col gap-2" data-testid="runs">
      <h2 id="runs-title" className="text-sm font-semibold">{t("pipelines.runs.title")}</h2>
      {runs.length === 0 ? <p className="text-xs text-muted-foreground">{t("pipelines.runs.empty")}</p> : (
        <ul className="flex flex-col gap-1">
          {runs.map((run) => {
            const trigger = (run.trigger ?? {}) as { kind?: string; source?: string; data?: unknown };
            const trace = (Array.isArray(run.nodes) ? run.nodes : []) as TraceEntry[];
            return (
              <li key={run.id} className="rounded border" data-testid="run" data-fired={run.fired}>
                <details>
                  <summary className="flex cursor-pointer flex-wrap items-center gap-2 p-2 text-xs">
                    <time dateTime={run.time} className="tabular-nums">{formatDateTime(run.time, timeZone, i18n.language)}</time>
                    <span className={run.fired ? "font-semibold text-green-800 dark:text-green-300" : "text-muted-foreground"}>
                      {run.fired ? t("pipelines.runs.fired") : t("pipelines.runs.quiet")}
                    </span>
                    <span className="text-muted-foreground">{trigger.kind} {trigger.source?.slice(0, 8)}</span>
                    {run.error && <span className="text-destructive">{run.error}</span>}
                  </summary>
                  <div className="flex flex-col gap-2 p-2">
                    <JsonBlock value={trigger.data} label={t("pipelines.runs.input")} />
                    <JsonBlock value={trace.map((n) => ({ node: n.node, inputs: n.inputs, outputs: n.outputs, error: n.error }))}
                      label={t("pipelines.runs.trace")} />
                  </div>
                </details>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

export function CountersTable({ counters, timeZone }: { counters: readonly NodeCounters[]; timeZone: string }) {
  const { t, i18n } = useTranslation();
  return (
    <section aria-labelledby="counters-title" className="flex flex-col gap-2">
      <h2 id="counters-title" className="text-sm font-semibold">{t("pipelines.counters.title")}</h2>
      <div className="overflow-x-auto rounded-md border">
        <table className="w-full text-xs tabular-nums" data-testid="counters">
          <thead className="bg-muted text-left">
            <tr>
              <th scope="col" className="p-1.5">{t("pipelines.counters.node")}</th>
              <th scope="col" className="p-1.5">{t("pipelines.counters.inputs")}</th>
              <th scope="col" className="p-1.5">{t("pipelines.counters.outputs")}</th>
              <th scope="col" className="p-1.5">{t("pipelines.counters.errors")}</th>
              <th scope="col" className="p-1.5">{t("pipelines.counters.lastFired")}</th>
            </tr>
          </thead>
          <tbody>
            {counters.map((c) => (
              <tr key={c.node} className="border-t" data-testid={`counters-${c.node}`}>
                <td className="p-1.5">{c.node}</td>
                <td className="p-1.5">{c.inputs}</td>
                <td className="p-1.5">{c.outputs}</td>
                <td className="p-1.5">{c.errors}</td>
                <td className="p-1.5">{c.last_fired_at ? formatDateTime(c.last_fired_at, timeZone, i18n.language) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** The saved versions of the graph, newest first: who saved each and when; the deployed one marked;
 * an older one can be taken back into the editor (``onRestore``; absent for a read-only role). */
export function VersionsPanel({ versions, deployed, timeZone, onRestore }: {
  versions: readonly VersionSummary[];
  deployed: number | null;
  timeZone: string;
  onRestore?: (number: number) => void;
}) {
  const { t, i18n } = useTranslation();
  return (
    <section aria-labelledby="versions-title" className="flex flex-col gap-2" data-testid="versions">
      <h2 id="versions-title" className="text-sm font-semibold">{t("pipelines.versions.title")}</h2>
      <ul className="flex flex-col gap-1 text-xs">
        {versions.map((v) => (
          <li key={v.number} className="flex flex-wrap gap-2 rounded border p-1.5" data-testid={`version-${v.number}`}>
            <span className="font-semibold tabular-nums">v{v.number}</span>
            {v.number === deployed && <span className="rounded bg-green-700 px-1 text-white">{t("pipelines.versions.deployed")}</span>}
            <time dateTime={v.saved_at} className="tabular-nums">{formatDateTime(v.saved_at, timeZone, i18n.language)}</time>
            <span className="text-muted-foreground">{v.saved_by || t("pipelines.versions.system")}</span>
            <span className="text-muted-foreground">{t("pipelines.versions.size", { nodes: v.nodes, edges: v.edges })}</span>
            {onRestore && v.number !== versions[0]?.number && (
              <button type="button" className="ml-auto underline underline-offset-2" onClick={() => onRestore(v.number)}
                aria-label={t("pipelines.versions.restoreVersion", { number: v.number })}>
                {t("pipelines.versions.restore")}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
