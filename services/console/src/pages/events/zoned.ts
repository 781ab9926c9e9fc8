/**
 * A ``datetime-local`` input's value read as wall-clock time in the organization's zone (not the
 * browser's), and back: the time-range filter's custom bounds are typed as operators read times.
 */
import { zoneOffsetMs } from "@/lib/format";

const pad = (n: number) => String(n).padStart(2, "0");

/** "2026-01-02T11:04" in ``timeZone`` for the instant ``iso``. */
export function toZonedInput(iso: string, timeZone: string): string {
  const instant = new Date(iso);
  const wall = new Date(instant.getTime() + zoneOffsetMs(instant, timeZone));
  return `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}`;
}

/** The instant (ISO, UTC) that ``value`` ("YYYY-MM-DDTHH:mm") names in ``timeZone``, or undefined. */
export function fromZonedInput(value: string, timeZone: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) return undefined;
  const [, y, m, d, h, min, s] = match.map(Number) as number[];
  const asUtc = Date.UTC(y!, m! - 1, d!, h!, min!, s || 0);
  // The zone's offset at that wall time; a second pass settles it across a DST change.
  let guess = asUtc - zoneOffsetMs(new Date(asUtc), timeZone);
  guess = asUtc - zoneOffsetMs(new Date(guess), timeZone);
  return new Date(guess).toISOString();
}
