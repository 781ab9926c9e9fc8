/** A node's captured input for a dry run: what the runtime's last runs recorded it received. */
import type { GraphNode } from "./graph";
import type { DryRunItem, PipelineRun } from "./queries";

interface Trace {
  node: string;
  inputs: { port?: string; value?: unknown }[];
  outputs: unknown[];
  error: string | null;
}

/** The newest captured input of ``node`` in ``runs``: the run's item for an input node, else what the node received. */
export function capturedInput(runs: readonly PipelineRun[], node: GraphNode, isInput: boolean): DryRunItem | null {
  for (const run of runs) {
    const trigger = (run.trigger ?? {}) as { kind?: DryRunItem["kind"]; source?: string; data?: Record<string, unknown> };
    const traces = (Array.isArray(run.nodes) ? run.nodes : []) as Trace[];
    const trace = traces.find((t) => t.node === node.id);
    if (!trigger.kind) continue;
    if (isInput && trace) return { kind: trigger.kind, source: trigger.source ?? "", data: trigger.data ?? {} };
    const received = trace?.inputs?.[0]?.value;
    if (!isInput && received && typeof received === "object") {
      return { kind: trigger.kind, source: trigger.source ?? "", data: received as Record<string, unknown> };
    }
  }
  return null;
}
