/**
 * Live events into the Query cache: a ``new_event`` message of the live feed (the correlator's
 * ``event.created`` / ``event.updated``, before or after the recorder stored it) becomes a row of
 * every loaded list it belongs in, or updates the row already there, so the list changes without a
 * reload and without asking control again. Operator fields (status, who acknowledged...) never
 * come from ``new_event``: a row keeps its own, a new one starts open. They come from
 * ``event_triaged`` (an operator's decision, as control saved it): the row takes them, or leaves a
 * list whose filters no longer select it, as a refetch would.
 */
import type { components } from "@/api/schema";

import { type EventRow, type EventSearch, matches, SEVERITIES } from "./search";

export type EventPage = components["schemas"]["PaginatedEventList"];
export interface EventPages {
  pages: EventPage[];
  pageParams: unknown[];
}

/** The ``event`` of a ``new_event`` feed message: EventChanged's fields, ``id`` for ``event``. */
export interface LiveEvent {
  id: string;
  event_type?: string;
  severity?: string;
  score?: number;
  started_at?: string;
  ended_at?: string | null;
  site?: string | null;
  sources?: unknown;
  description?: string;
  occurrences?: number;
  false_alarm_score?: number | null;
  false_alarm_model?: string | null;
  likely_false_alarm?: boolean;
}

const SEVERITY = new Set(["low", "medium", "high", "critical"]);

/** The data-plane fields a live message sets (what the recorder would write). */
function dataPlaneFields(live: LiveEvent): Partial<EventRow> {
  const fields: Partial<Record<keyof EventRow, unknown>> = {};
  if (live.event_type) fields.event_type = live.event_type;
  if (live.severity && SEVERITY.has(live.severity)) fields.severity = live.severity;
  if (typeof live.score === "number") fields.score = live.score;
  if (live.started_at) fields.time = live.started_at;
  if (live.ended_at !== undefined) fields.ended_at = live.ended_at;
  if (live.site !== undefined) fields.site = live.site;
  if (live.sources !== undefined) fields.sources = live.sources;
  if (live.description !== undefined) fields.description = live.description;
  if (typeof live.occurrences === "number") fields.occurrences = live.occurrences;
  // An unscored update keeps the last score and mark, as the recorder does.
  if (typeof live.false_alarm_score === "number") {
    fields.false_alarm_score = live.false_alarm_score;
    fields.false_alarm_model = live.false_alarm_model ?? null;
    fields.likely_false_alarm = live.likely_false_alarm === true;
  }
  return fields as Partial<EventRow>;
}

/** A list row for an event known only from the feed (an event the recorder creates open). */
export function rowFromLive(live: LiveEvent, receivedAt: string): EventRow | null {
  if (!live.id || !live.event_type || !live.started_at || !live.severity || !SEVERITY.has(live.severity)) return null;
  return {
    id: live.id, time: live.started_at, ended_at: null, event_type: live.event_type,
    severity: live.severity as EventRow["severity"], score: 0, site: null, sources: [], description: "",
    occurrences: 1, status: "open", classification: "unclassified", notes: "", acknowledged_by: null,
    acknowledged_by_email: null, acknowledged_at: null, acknowledgement_note: "", resolved_by: null,
    resolved_by_email: null, resolved_at: null, resolution_note: "", updated_at: receivedAt,
    false_alarm_score: null, false_alarm_model: null, likely_false_alarm: false,
    ...dataPlaneFields(live),
  };
}

/**
 * ``data`` (a list's loaded pages, newest first) with ``live`` applied: the row already there
 * updated in place, or a new row placed by time when it belongs to ``search`` and is not older
 * than everything loaded while more pages remain (those load it in order). Unchanged data is
 * returned as is, so the cache notifies nobody.
 */
export function applyLiveEvent(data: EventPages | undefined, live: LiveEvent, search: EventSearch,
  now: Date): EventPages | undefined {
  if (!data || data.pages.length === 0) return data;
  for (let p = 0; p < data.pages.length; p++) {
    const page = data.pages[p]!;
    const index = page.results.findIndex((row) => row.id === live.id);
    if (index < 0) continue;
    const updated = { ...page.results[index]!, ...dataPlaneFields(live) };
    const results = [...page.results];
    results[index] = updated;
    const pages = [...data.pages];
    pages[p] = { ...page, results };
    return { ...data, pages };
  }
  const row = rowFromLive(live, now.toISOString());
  if (!row || !matches(search, row, now)) return data;
  const time = Date.parse(row.time);
  for (let p = 0; p < data.pages.length; p++) {
    const page = data.pages[p]!;
    const at = page.results.findIndex((other) => Date.parse(other.time) < time
      || (Date.parse(other.time) === time && other.id < row.id));
    const last = p === data.pages.length - 1;
    if (at < 0 && !(last && !page.next)) continue;
    const results = [...page.results];
    results.splice(at < 0 ? results.length : at, 0, row);
    const pages = [...data.pages];
    pages[p] = { ...page, results };
    return { ...data, pages };
  }
  return data;
}

/**
 * The ``event`` of an ``event_triaged`` feed message: an operator acknowledged, resolved or
 * classified it (EventTriaged's fields, ``id`` for ``event``; times RFC 3339).
 */
export interface TriagedEvent {
  id: string;
  event_type?: string;
  severity?: string;
  status: EventRow["status"];
  classification?: EventRow["classification"];
  notes?: string;
  acknowledged_by?: string | null;
  acknowledged_by_email?: string | null;
  acknowledged_at?: string | null;
  acknowledgement_note?: string;
  resolved_by?: string | null;
  resolved_by_email?: string | null;
  resolved_at?: string | null;
  resolution_note?: string;
  updated_at?: string;
}

/** A status only moves forward: open, then acknowledged, then resolved. */
const STATUS_RANK: Record<EventRow["status"], number> = { open: 0, acknowledged: 1, resolved: 2 };
const OPERATOR_FIELDS = ["status", "classification", "notes", "acknowledged_by", "acknowledged_by_email",
  "acknowledged_at", "acknowledgement_note", "resolved_by", "resolved_by_email", "resolved_at", "resolution_note",
  "updated_at"] as const satisfies readonly (keyof TriagedEvent & keyof EventRow)[];

/**
 * ``row`` with the decision ``triaged`` describes, or ``row`` itself when that changes nothing or
 * the message is older than what the row shows (a status never goes back: a late "acknowledged"
 * does not undo "resolved").
 */
export function triagedRow(row: EventRow, triaged: TriagedEvent): EventRow {
  if (!(triaged.status in STATUS_RANK) || STATUS_RANK[triaged.status] < STATUS_RANK[row.status]) return row;
  const fields: Partial<Record<keyof EventRow, unknown>> = {};
  for (const field of OPERATOR_FIELDS) {
    const value = triaged[field];
    if (value !== undefined && value !== row[field]) fields[field] = value;
  }
  return Object.keys(fields).length === 0 ? row : { ...row, ...(fields as Partial<EventRow>) };
}

/** Whether a list's loaded pages hold the event. */
export function holds(data: EventPages | undefined, id: string): boolean {
  return Boolean(data?.pages.some((page) => page.results.some((row) => row.id === id)));
}

/**
 * ``data`` (a list's loaded pages) with ``triaged`` applied to the event's row: updated in place,
 * or taken out when ``search`` no longer selects it (an "open" list drops an event just
 * acknowledged). Unchanged data, or a list without the event, is returned as is.
 */
export function applyTriage(data: EventPages | undefined, triaged: TriagedEvent, search: EventSearch,
  now: Date): EventPages | undefined {
  if (!data) return data;
  for (let p = 0; p < data.pages.length; p++) {
    const page = data.pages[p]!;
    const index = page.results.findIndex((row) => row.id === triaged.id);
    if (index < 0) continue;
    const updated = triagedRow(page.results[index]!, triaged);
    if (updated === page.results[index]) return data;
    const results = [...page.results];
    if (matches(search, updated, now)) results[index] = updated;
    else results.splice(index, 1);
    const pages = [...data.pages];
    pages[p] = { ...page, results };
    return { ...data, pages };
  }
  return data;
}

/**
 * Whether a list that does not hold the event may now have to: only a status filter can take in
 * an event because of a decision, when it selects the new status (and the event's severity and
 * type, which the message names; its time and sources it does not). Such a list asks control again.
 */
export function mayNowBelong(search: EventSearch, triaged: TriagedEvent): boolean {
  if (!search.status?.includes(triaged.status)) return false;
  const severity = SEVERITIES.find((s) => s === triaged.severity);
  if (search.severity && severity && !search.severity.includes(severity)) return false;
  return !(search.type && triaged.event_type && search.type !== triaged.event_type);
}
