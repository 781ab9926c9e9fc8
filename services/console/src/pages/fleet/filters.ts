/**
 * What the fleet list keeps in the URL (``/fleet?q=portao&status=WARNING,OFF&kind=phone``): the
 * search text, the statuses and kinds to show (comma-separated, so the link reads plainly).
 * Unknown values in a shared link are dropped.
 */
import type { components } from "@/api/schema";

export type DeviceStatus = components["schemas"]["DeviceStatusEnum"];
export type DeviceKind = components["schemas"]["DeviceKindEnum"];

export const STATUSES: readonly DeviceStatus[] = ["ON", "WARNING", "OFF"];
export const KINDS: readonly DeviceKind[] = ["phone", "camera", "plc", "sensor", "gateway"];

export interface FleetSearch {
  q?: string;
  /** Statuses, comma-separated, in STATUSES order. */
  status?: string;
  /** Kinds, comma-separated, in KINDS order. */
  kind?: string;
}

/** The known values of ``value`` (a comma-separated string, or a list) in ``allowed`` order. */
export function listOf<T extends string>(value: unknown, allowed: readonly T[]): T[] | undefined {
  const raw: unknown[] = Array.isArray(value) ? value : typeof value === "string" ? value.split(",") : [];
  const kept = allowed.filter((option) => raw.includes(option));
  return kept.length ? kept : undefined;
}

export function validateFleetSearch(search: Record<string, unknown>): FleetSearch {
  const out: FleetSearch = {};
  const q = typeof search.q === "string" ? search.q.trim().slice(0, 64) : "";
  if (q) out.q = q;
  const status = listOf(search.status, STATUSES);
  if (status) out.status = status.join(",");
  const kind = listOf(search.kind, KINDS);
  if (kind) out.kind = kind.join(",");
  return out;
}

export const statusesOf = (search: FleetSearch) => listOf(search.status, STATUSES);
export const kindsOf = (search: FleetSearch) => listOf(search.kind, KINDS);

/** The comma-separated ``list`` with ``value`` added or removed; undefined when nothing is left. */
export function toggle<T extends string>(list: string | undefined, value: T, order: readonly T[]): string | undefined {
  const next = new Set(listOf(list, order) ?? []);
  if (next.has(value)) next.delete(value);
  else next.add(value);
  const kept = order.filter((option) => next.has(option));
  return kept.length ? kept.join(",") : undefined;
}
