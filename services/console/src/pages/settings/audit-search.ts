/**
 * The audit log's filters as they live in the URL (``/settings/audit?action=sign_in&method=PATCH``):
 * parsed from whatever a link carries, unknown or malformed values dropped, so a shared link shows
 * the same rows and a mangled one still opens.
 */
import type { components, operations } from "@/api/schema";

type Query = NonNullable<operations["audit_list"]["parameters"]["query"]>;

export const AUDIT_ACTIONS: readonly components["schemas"]["AuditEntryActionEnum"][] = [
  "sign_in", "sign_in_failed", "sign_in_refused", "account_locked_out", "address_locked_out", "user_unlocked",
  "event_acknowledged", "event_resolved", "plate_searched", "passages_exported",
];
export const AUDIT_METHODS = ["POST", "PUT", "PATCH", "DELETE", "GET"] as const;

export interface AuditSearch {
  action?: NonNullable<Query["action"]>;
  method?: (typeof AUDIT_METHODS)[number];
  object_type?: string;
  user?: string;
  since?: string;
  until?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OBJECT_TYPE = /^[A-Za-z0-9_.-]{1,64}$/;

function instant(value: unknown): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

export function parseAuditSearch(search: Record<string, unknown>): AuditSearch {
  const out: AuditSearch = {};
  const action = search.action;
  if (typeof action === "string" && (AUDIT_ACTIONS as readonly string[]).includes(action)) {
    out.action = action as AuditSearch["action"];
  }
  const method = typeof search.method === "string" ? search.method.toUpperCase() : "";
  if ((AUDIT_METHODS as readonly string[]).includes(method)) out.method = method as AuditSearch["method"];
  if (typeof search.object_type === "string" && OBJECT_TYPE.test(search.object_type)) out.object_type = search.object_type;
  if (typeof search.user === "string" && UUID.test(search.user)) out.user = search.user.toLowerCase();
  const since = instant(search.since);
  const until = instant(search.until);
  if (since) out.since = since;
  if (until) out.until = until;
  return out;
}

/** ``search`` with ``key`` set to ``value`` (or removed when empty), as the next URL's search. */
export function withFilter(search: AuditSearch, key: keyof AuditSearch, value: string): AuditSearch {
  return parseAuditSearch({ ...search, [key]: value === "" ? undefined : value });
}

/** Midnight starting ``day`` (``YYYY-MM-DD``) in ``timeZone``, as an ISO instant; "" for no day. */
export function dayStart(day: string, timeZone: string, offsetMs: (instant: Date, timeZone: string) => number): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return "";
  const midnightAsUtc = Date.UTC(+match[1]!, +match[2]! - 1, +match[3]!);
  let guess = midnightAsUtc - offsetMs(new Date(midnightAsUtc), timeZone);
  guess = midnightAsUtc - offsetMs(new Date(guess), timeZone);
  return new Date(guess).toISOString();
}

/** The day (``YYYY-MM-DD``) in ``timeZone`` an ISO instant falls on, for a date input; "" for none. */
export function dayOf(instant: string | undefined, timeZone: string): string {
  if (!instant) return "";
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(instant));
}

/** The day after ``day`` (``until`` is exclusive: "until the 2nd" means before the 3rd's midnight). */
export function nextDay(day: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return "";
  return new Date(Date.UTC(+match[1]!, +match[2]! - 1, +match[3]! + 1)).toISOString().slice(0, 10);
}

/** The day before ``day``: what a date input shows for an exclusive ``until``. */
export function previousDay(day: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return "";
  return new Date(Date.UTC(+match[1]!, +match[2]! - 1, +match[3]! - 1)).toISOString().slice(0, 10);
}
