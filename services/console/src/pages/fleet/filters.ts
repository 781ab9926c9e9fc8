/**
 * What the fleet list keeps in the URL (``/fleet?q=portao&status=OFF&status=WARNING&kind=phone``):
 * the search text, the statuses and kinds to show. Unknown values in a shared link are dropped.
 */
import type { components } from "@/api/schema";

export type DeviceStatus = components["schemas"]["DeviceStatusEnum"];
export type DeviceKind = components["schemas"]["DeviceKindEnum"];

export const STATUSES: readonly DeviceStatus[] = ["ON", "WARNING", "OFF"];
export const KINDS: readonly DeviceKind[] = ["phone", "camera", "plc", "sensor", "gateway"];

export interface FleetSearch {
  q?: string;
  status?: DeviceStatus[];
  kind?: DeviceKind[];
}

function listOf<T extends string>(value: unknown, allowed: readonly T[]): T[] | undefined {
  const raw = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [];
  const kept = allowed.filter((option) => raw.includes(option));
  return kept.length ? kept : undefined;
}

export function validateFleetSearch(search: Record<string, unknown>): FleetSearch {
  const out: FleetSearch = {};
  const q = typeof search.q === "string" ? search.q.trim().slice(0, 64) : "";
  if (q) out.q = q;
  const status = listOf(search.status, STATUSES);
  if (status) out.status = status;
  const kind = listOf(search.kind, KINDS);
  if (kind) out.kind = kind;
  return out;
}

/** ``list`` with ``value`` added or removed; undefined when nothing is left (no filter). */
export function toggle<T extends string>(list: readonly T[] | undefined, value: T, order: readonly T[]): T[] | undefined {
  const next = new Set(list ?? []);
  if (next.has(value)) next.delete(value);
  else next.add(value);
  const kept = order.filter((option) => next.has(option));
  return kept.length ? kept : undefined;
}
