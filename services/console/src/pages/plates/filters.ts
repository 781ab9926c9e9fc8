/**
 * What the plates pages keep in the URL and how it becomes API queries: the plate typed (tolerant
 * search), the camera, the site and the period. The period is typed as wall-clock time in the
 * organization's zone (``2026-12-06T08:00``, what ``<input type="datetime-local">`` gives) and sent
 * as an instant.
 */
import { zoneOffsetMs } from "@/lib/format";

export interface PlatesSearch {
  /** The plate as typed; look-alikes (O/0, I/1, B/8…) and one wrong character still match. */
  q?: string;
  camera?: string;
  site?: string;
  /** Wall-clock time in the organization's zone, minutes precision. */
  since?: string;
  until?: string;
}

const WALL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function text(value: unknown, max: number): string | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const trimmed = String(value).trim().slice(0, max);
  return trimmed || undefined;
}

/** The route's search params, whatever the link held: unknown or malformed values are dropped. */
export function validatePlatesSearch(search: Record<string, unknown>): PlatesSearch {
  const out: PlatesSearch = {};
  const q = text(search.q, 32);
  if (q) out.q = q;
  const camera = text(search.camera, 36);
  if (camera && UUID.test(camera)) out.camera = camera.toLowerCase();
  const site = text(search.site, 64);
  if (site) out.site = site;
  for (const key of ["since", "until"] as const) {
    const value = text(search[key], 16);
    if (value && WALL_TIME.test(value)) out[key] = value;
  }
  return out;
}

/** A plate as the API compares it: upper case, letters and digits only ("abc-1d23" -> "ABC1D23"). */
export function normalisePlate(typed: string): string {
  return typed.toUpperCase().replace(/[^A-Z0-9]/g, "");
}

/** Whether the search endpoint accepts ``typed``: 6 to 8 letters and digits once normalised. */
export function searchable(typed: string | undefined): boolean {
  const plate = normalisePlate(typed ?? "");
  return plate.length >= 6 && plate.length <= 8;
}

/** The instant (ISO, UTC) of wall-clock ``wall`` (``YYYY-MM-DDTHH:mm``) in ``timeZone``. */
export function wallTimeToIso(wall: string, timeZone: string): string {
  const [date, time] = wall.split("T");
  const [y, m, d] = date!.split("-").map(Number);
  const [h, min] = time!.split(":").map(Number);
  const asUtc = Date.UTC(y!, m! - 1, d!, h!, min!);
  // The zone's offset at the guess, then again at the corrected instant (a DST change between).
  let instant = asUtc - zoneOffsetMs(new Date(asUtc), timeZone);
  instant = asUtc - zoneOffsetMs(new Date(instant), timeZone);
  return new Date(instant).toISOString();
}

/** The list/export filters of ``search`` as API query params (the plate query is not one of them). */
export function passageFilters(search: PlatesSearch, timeZone: string): {
  camera?: string; site?: string; since?: string; until?: string;
} {
  const query: { camera?: string; site?: string; since?: string; until?: string } = {};
  if (search.camera) query.camera = search.camera;
  if (search.site) query.site = search.site;
  if (search.since) query.since = wallTimeToIso(search.since, timeZone);
  if (search.until) query.until = wallTimeToIso(search.until, timeZone);
  return query;
}

/** The export's name: ``passagens-ABC1D23-2026-12-06T0800.csv``, from what it holds. */
export function exportFileName(plate: string | undefined, search: PlatesSearch): string {
  const parts = ["passagens", plate, search.since?.replace(":", "")].filter(Boolean);
  return `${parts.join("-")}.csv`;
}
