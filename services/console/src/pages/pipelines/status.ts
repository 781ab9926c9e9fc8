/**
 * A node's live status badge, from what the runtime counted (``/counters/``, polled: counts, last
 * firing, the server's ``status`` — ``error`` while its latest error is newer than its latest
 * firing) and the ``pipeline_status_update`` messages of the live feed (``fired`` / ``error`` name
 * the node, before the next poll).
 */
export type NodeStatus = "stopped" | "waiting" | "active" | "fired" | "error";

/** The live feed's latest word about a node. */
export interface LiveNodeStatus {
  status: string;
  error: string | null;
  at: number;
}

export interface CountedNode {
  inputs: number;
  outputs: number;
  errors: number;
  last_fired_at: string | null;
  status?: string;
}

/** How long a node that fired (or failed, by the feed) shows it. */
export const RECENT_MS = 60_000;

export function nodeStatus(running: boolean, counted: CountedNode | undefined, live: LiveNodeStatus | undefined,
  now: number): NodeStatus {
  if (live?.status === "error" && now - live.at < RECENT_MS) return "error";
  if (counted?.status === "error") return "error";
  if (!running) return "stopped";
  const firedAt = Math.max(counted?.last_fired_at ? Date.parse(counted.last_fired_at) : 0,
    live?.status === "fired" ? live.at : 0);
  if (now - firedAt < RECENT_MS) return "fired";
  if ((counted?.inputs ?? 0) > 0) return "active";
  return "waiting";
}

/**
 * The per-node statuses a ``pipeline_status_update`` adds to ``known`` (the pipeline's own messages
 * only). Its ``state`` is the runtime's word (started, fired, stopped, error); ``status`` seed 001's
 * (active, inactive, error), which cannot tell a firing from a start.
 */
export function withLiveStatus(known: Readonly<Record<string, LiveNodeStatus>>, pipeline: string,
  message: { pipeline_id: string; status: string; state?: string; node: string | null; error: string | null },
  at: number,
): Record<string, LiveNodeStatus> {
  if (message.pipeline_id !== pipeline || !message.node) return known as Record<string, LiveNodeStatus>;
  return { ...known, [message.node]: { status: message.state ?? message.status, error: message.error, at } };
}
