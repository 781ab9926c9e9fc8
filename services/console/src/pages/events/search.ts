/**
 * The events list's filters as they live in the URL (``/events?status=open,acknowledged&severity=
 * critical&type=intrusion&camera=<id>&hours=24&likely=true``), what control's ``GET /events/`` is
 * asked for them, and whether an event a live message describes belongs in the list they select. Pure, so
 * Vitest covers the three against each other.
 */
import type { components } from "@/api/schema";

export type EventRow = components["schemas"]["Event"];
export type EventStatus = components["schemas"]["EventStatusEnum"];
export type Severity = components["schemas"]["SeverityEnum"];

export const STATUSES: readonly EventStatus[] = ["open", "acknowledged", "resolved"];
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low"];
/** The time ranges offered, in hours back from now (none: any time). */
export const RANGES = [1, 24, 168, 720] as const;
export type RangeHours = (typeof RANGES)[number];

/** One source of an event, as the correlator writes it (vigia.common.messages.EventSource). */
export interface EventSource {
  kind: string;
  ref?: string;
  device?: string | null;
  camera?: string | null;
  weight?: number;
}

/** The filters, each absent when it selects everything. */
export interface EventSearch {
  status?: EventStatus[];
  severity?: Severity[];
  type?: string;
  camera?: string;
  device?: string;
  hours?: RangeHours;
  since?: string;
  until?: string;
  /** The false-alarm classifier's mark: only events it marked (true) or only the others (false). */
  likely?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function listOf<T extends string>(value: unknown, allowed: readonly T[]): T[] | undefined {
  const raw = Array.isArray(value) ? value.map(String) : typeof value === "string" ? value.split(",") : [];
  const picked = allowed.filter((item) => raw.includes(item));
  return picked.length > 0 ? picked : undefined;
}

function instant(value: unknown): string | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** The filters in ``search`` (the URL's, or their URL form): only valid ones come out. */
export function parseEventSearch(search: Record<string, unknown>): EventSearch {
  const out: EventSearch = {};
  const status = listOf(search.status, STATUSES);
  if (status) out.status = status;
  const severity = listOf(search.severity, SEVERITIES);
  if (severity) out.severity = severity;
  if (search.type !== undefined && String(search.type).trim() !== "") out.type = String(search.type).trim().slice(0, 64);
  if (typeof search.camera === "string" && UUID.test(search.camera)) out.camera = search.camera.toLowerCase();
  else if (typeof search.device === "string" && UUID.test(search.device)) out.device = search.device.toLowerCase();
  const since = instant(search.since);
  const until = instant(search.until);
  if (since || until) {
    if (since) out.since = since;
    if (until) out.until = until;
  } else {
    const hours = Number(search.hours);
    if ((RANGES as readonly number[]).includes(hours)) out.hours = hours as RangeHours;
  }
  if (search.likely === true || search.likely === "true") out.likely = true;
  else if (search.likely === false || search.likely === "false") out.likely = false;
  return out;
}

/** The filters as the URL holds them (what the route's validateSearch answers): lists joined by commas. */
export type EventSearchParams = {
  status?: string;
  severity?: string;
  type?: string;
  camera?: string;
  device?: string;
  hours?: number;
  since?: string;
  until?: string;
  likely?: boolean;
};

/** The URL form of ``search``: lists joined by commas, absent filters left out. */
export function searchParams(search: EventSearch): EventSearchParams {
  const out: EventSearchParams = {};
  if (search.status) out.status = search.status.join(",");
  if (search.severity) out.severity = search.severity.join(",");
  if (search.type) out.type = search.type;
  if (search.camera) out.camera = search.camera;
  if (search.device) out.device = search.device;
  if (search.hours) out.hours = search.hours;
  if (search.since) out.since = search.since;
  if (search.until) out.until = search.until;
  if (search.likely !== undefined) out.likely = search.likely;
  return out;
}

export interface EventQuery {
  status?: EventStatus[];
  severity?: Severity[];
  event_type?: string;
  camera?: string;
  device?: string;
  since?: string;
  until?: string;
  likely_false_alarm?: boolean;
}

/** What control's ``GET /api/v1/events/`` is asked for ``search`` at ``now``. */
export function apiQuery(search: EventSearch, now: Date): EventQuery {
  const query: EventQuery = {};
  if (search.status) query.status = search.status;
  if (search.severity) query.severity = search.severity;
  if (search.type) query.event_type = search.type;
  if (search.camera) query.camera = search.camera;
  if (search.device) query.device = search.device;
  if (search.hours) query.since = new Date(now.getTime() - search.hours * 3_600_000).toISOString();
  if (search.since) query.since = search.since;
  if (search.until) query.until = search.until;
  if (search.likely !== undefined) query.likely_false_alarm = search.likely;
  return query;
}

/** The sources of an event (its ``sources`` column is free-form JSON: anything else is none). */
export function sourcesOf(event: Pick<EventRow, "sources">): EventSource[] {
  if (!Array.isArray(event.sources)) return [];
  return event.sources.filter((s): s is EventSource => typeof s === "object" && s !== null && typeof s.kind === "string");
}

/** Whether ``event`` is one the list selected by ``search`` shows (the server's filters, in the browser). */
export function matches(search: EventSearch, event: EventRow, now: Date): boolean {
  if (search.status && !search.status.includes(event.status)) return false;
  if (search.severity && !search.severity.includes(event.severity)) return false;
  if (search.type && event.event_type !== search.type) return false;
  if (search.likely !== undefined && event.likely_false_alarm !== search.likely) return false;
  const sources = sourcesOf(event);
  if (search.camera && !sources.some((s) => s.camera?.toLowerCase() === search.camera)) return false;
  if (search.device && !sources.some((s) => s.device?.toLowerCase() === search.device)) return false;
  const time = Date.parse(event.time);
  const { since, until } = apiQuery(search, now);
  if (since && time < Date.parse(since)) return false;
  if (until && time >= Date.parse(until)) return false;
  return true;
}

/** The route's validateSearch: the URL's filters, valid ones only, in their URL form. */
export function validateEventSearch(search: Record<string, unknown>): EventSearchParams {
  return searchParams(parseEventSearch(search));
}

/** Whether any filter is set (the page offers to clear them). */
export function isFiltered(search: EventSearch): boolean {
  return Object.keys(searchParams(search)).length > 0;
}
