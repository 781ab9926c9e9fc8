/**
 * The face search's filters as they live in the URL (``/faces?person=<id>&camera=<id>&since=&until=
 * &known=true|false``), what control's ``GET /api/v1/faces/matches`` is asked for them, and the
 * enrolment form's check. Pure, so Vitest covers them.
 */
export interface FaceSearch {
  person?: string;
  camera?: string;
  since?: string;
  until?: string;
  /** true: enrolled people only; false: unknown faces only. */
  known?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function instant(value: unknown): string | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** The route's validateSearch: only valid filters come out (ids as UUIDs, instants as ISO 8601). */
export function validateFaceSearch(search: Record<string, unknown>): FaceSearch {
  const out: FaceSearch = {};
  if (typeof search.person === "string" && UUID.test(search.person)) out.person = search.person.toLowerCase();
  if (typeof search.camera === "string" && UUID.test(search.camera)) out.camera = search.camera.toLowerCase();
  const since = instant(search.since);
  if (since) out.since = since;
  const until = instant(search.until);
  if (until) out.until = until;
  const known = String(search.known);
  if (known === "true" || known === "false") out.known = known === "true";
  return out;
}

/** What control's ``GET /api/v1/faces/matches`` is asked for ``search`` (``known`` as text). */
export function apiQuery(search: FaceSearch): Omit<FaceSearch, "known"> & { known?: "true" | "false" } {
  const { known, ...rest } = search;
  return known === undefined ? rest : { ...rest, known: known ? "true" : "false" };
}

/** Whether any filter is set (the page offers to clear them). */
export function isFiltered(search: FaceSearch): boolean {
  return Object.keys(validateFaceSearch(search as Record<string, unknown>)).length > 0;
}

/** A person to enrol as the form holds them: trimmed, or the fields at fault ("required", "tooLong"). */
export type PersonDraft = { name: string; consent_note: string };
export function checkPerson(draft: PersonDraft): { ok: true; value: PersonDraft } | { ok: false; errors: Partial<Record<keyof PersonDraft, string>> } {
  const value = { name: draft.name.trim(), consent_note: draft.consent_note.trim() };
  const errors: Partial<Record<keyof PersonDraft, string>> = {};
  if (!value.name) errors.name = "required";
  else if (value.name.length > 200) errors.name = "tooLong";
  if (!value.consent_note) errors.consent_note = "required";
  else if (value.consent_note.length > 2000) errors.consent_note = "tooLong";
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value };
}

/** The embedding distance as a similarity an operator reads ("0,42"), "—" for none. */
export function formatDistance(distance: number | null | undefined, locale: string): string {
  if (distance === null || distance === undefined || !Number.isFinite(distance)) return "—";
  return distance.toLocaleString(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
