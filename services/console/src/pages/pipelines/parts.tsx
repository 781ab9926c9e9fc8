/** Small pieces of the pipelines area: state and status badges, the canvas's node card, JSON blocks. */
import { Handle, type Node, type NodeProps, Position } from "@xyflow/react";
import { useTranslation } from "react-i18next";

import { cn } from "@/lib/utils";

import { configSummary, type GraphNode, type NodeTypeSpec } from "./graph";
import type { NodeStatus } from "./status";

// Status colours (the one place the area hard-codes colours), dark enough for white text (WCAG AA).
const STATE_CLASS: Record<string, string> = {
  draft: "bg-muted text-foreground",
  running: "bg-green-700 text-white",
  stopped: "bg-slate-600 text-white",
  error: "bg-red-700 text-white",
};

const STATUS_CLASS: Record<NodeStatus, string> = {
  stopped: "bg-muted text-foreground",
  waiting: "bg-slate-600 text-white",
  active: "bg-blue-700 text-white",
  fired: "bg-green-700 text-white",
  error: "bg-red-700 text-white",
};

export function StateBadge({ state }: { state: string }) {
  const { t } = useTranslation();
  return (
    <span data-testid="pipeline-state" data-state={state}
      className={cn("inline-block rounded px-2 py-0.5 text-xs font-medium", STATE_CLASS[state] ?? STATE_CLASS.draft)}>
      {t(`pipelines.state.${state}`, { defaultValue: state })}
    </span>
  );
}

export function StatusBadge({ status }: { status: NodeStatus }) {
  const { t } = useTranslation();
  return (
    <span data-testid="node-status" data-status={status}
      className={cn("inline-block rounded px-1.5 py-0.5 text-[11px] font-medium", STATUS_CLASS[status])}>
      {t(`pipelines.status.${status}`)}
    </span>
  );
}

/** A JSON value shown as text; scrollable, so focusable (keyboard users can scroll it). */
export function JsonBlock({ value, label, testId }: { value: unknown; label: string; testId?: string }) {
  return (
    <pre tabIndex={0} aria-label={label} data-testid={testId}
      className="max-h-48 overflow-auto rounded bg-muted p-2 text-xs text-foreground">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export interface PipelineNodeData extends Record<string, unknown> {
  node: GraphNode;
  spec: NodeTypeSpec | undefined;
  status: NodeStatus;
  inputs: number;
  outputs: number;
  errors: number;
  problems: string[];
}

export type PipelineFlowNode = Node<PipelineNodeData, "pipeline">;

const handleTop = (index: number, count: number) => `${((index + 1) * 100) / (count + 1)}%`;


/** A node on the canvas: its label and type, status badge, counters and ports (handles ``in:<port>`` / ``out:<port>``). */
export function PipelineNodeCard({ data, selected }: NodeProps<PipelineFlowNode>) {
  const { t } = useTranslation();
  const { node, spec, status, problems } = data;
  const inputs = spec?.inputs ?? [];
  const outputs = spec?.outputs ?? [];
  return (
    <div data-testid={`node-${node.id}`} data-node-type={node.type}
      className={cn("relative w-[220px] rounded-md border bg-card px-3 py-2 text-card-foreground shadow-sm",
        selected && "ring-2 ring-ring", problems.length > 0 && "border-2 border-destructive")}>
      {inputs.map((port, i) => (
        <Handle key={port.name} id={`in:${port.name}`} type="target" position={Position.Left}
          style={{ top: handleTop(i, inputs.length), width: 12, height: 12 }} title={`${port.name} (${port.type})`}
          data-testid={`handle-${node.id}-in-${port.name}`} />
      ))}
      <div className="flex items-center justify-between gap-2">
        <span className="truncate text-sm font-semibold">{node.label || node.id}</span>
        <StatusBadge status={status} />
      </div>
      <div className="truncate text-xs text-muted-foreground">{spec?.label ?? node.type}</div>
      <div className="truncate text-[11px] text-muted-foreground" data-testid="node-summary" title={configSummary(node.config)}>
        {configSummary(node.config)}
      </div>
      <div className="mt-1 flex gap-2 text-[11px] tabular-nums text-muted-foreground" data-testid="node-counters">
        <span>{t("pipelines.inspector.inputs")} <b data-testid="node-inputs" className="text-foreground">{data.inputs}</b></span>
        <span>{t("pipelines.inspector.outputs")} <b data-testid="node-outputs" className="text-foreground">{data.outputs}</b></span>
        {data.errors > 0 && <span className="text-destructive">{t("pipelines.inspector.errors")} <b>{data.errors}</b></span>}
      </div>
      {problems.length > 0 && (
        <p className="mt-1 line-clamp-2 text-[11px] text-destructive" data-testid="node-problem">{problems[0]}</p>
      )}
      <div className="pointer-events-none absolute inset-y-0 left-1 flex flex-col justify-around text-[10px] text-muted-foreground" aria-hidden>
        {inputs.length > 1 && inputs.map((p) => <span key={p.name}>{p.name}</span>)}
      </div>
      <div className="pointer-events-none absolute inset-y-0 right-1 flex flex-col justify-around text-right text-[10px] text-muted-foreground" aria-hidden>
        {outputs.length > 1 && outputs.map((p) => <span key={p.name}>{p.name}</span>)}
      </div>
      {outputs.map((port, i) => (
        <Handle key={port.name} id={`out:${port.name}`} type="source" position={Position.Right}
          style={{ top: handleTop(i, outputs.length), width: 12, height: 12 }} title={`${port.name} (${port.type})`}
          data-testid={`handle-${node.id}-out-${port.name}`} />
      ))}
    </div>
  );
}
