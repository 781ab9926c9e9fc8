/**
 * Times and numbers as operators read them: in the organization's time zone (not the browser's),
 * 24-hour clock, pt-BR day/month/year by default. Pure functions over Intl, so they are tested
 * without a browser and give the same text on every machine.
 */

export const DEFAULT_TIME_ZONE = "America/Sao_Paulo";

function toDate(value: Date | string | number): Date {
  return value instanceof Date ? value : new Date(value);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, timeZone: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}|${JSON.stringify(options)}`;
  let found = formatters.get(key);
  if (!found) {
    // hourCycle h23: 00:00–23:59 in every locale (en-US would otherwise say 3:04 PM).
    found = new Intl.DateTimeFormat(locale, { ...options, timeZone, hourCycle: "h23" });
    formatters.set(key, found);
  }
  return found;
}

/** "06/12/2026 15:04:05" — date and time, seconds included. */
export function formatDateTime(value: Date | string | number, timeZone: string, locale = "pt-BR"): string {
  return formatter(locale, timeZone, {
    day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).format(toDate(value)).replace(",", "");
}

/** "15:04:05" — for the live feed, where the day is today. */
export function formatTime(value: Date | string | number, timeZone: string, locale = "pt-BR"): string {
  return formatter(locale, timeZone, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(toDate(value));
}

/** A count read from one page of a list: "500+" when the list has more than that page. */
export function formatCount(count: number, more: boolean, locale = "pt-BR"): string {
  return `${count.toLocaleString(locale)}${more ? "+" : ""}`;
}

/** The wall-clock parts of ``instant`` in ``timeZone``. */
function wallClock(instant: Date, timeZone: string): { y: number; m: number; d: number; h: number; min: number; s: number } {
  const parts = Object.fromEntries(
    formatter("en-US", timeZone, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(instant).map((p) => [p.type, p.value]),
  );
  return { y: +parts.year!, m: +parts.month!, d: +parts.day!, h: +parts.hour!, min: +parts.minute!, s: +parts.second! };
}

/** How far ``timeZone`` is ahead of UTC at ``instant``, in milliseconds (negative west of Greenwich). */
export function zoneOffsetMs(instant: Date, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUtc = Date.UTC(w.y, w.m - 1, w.d, w.h, w.min, w.s);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * The instant the current day began in ``timeZone`` ("passages today" counts from it).
 * Midnight's offset can differ from now's across a DST change, hence the second correction.
 */
export function startOfDay(now: Date, timeZone: string): Date {
  const w = wallClock(now, timeZone);
  const midnightAsUtc = Date.UTC(w.y, w.m - 1, w.d);
  let guess = midnightAsUtc - zoneOffsetMs(now, timeZone);
  guess = midnightAsUtc - zoneOffsetMs(new Date(guess), timeZone);
  return new Date(guess);
}
