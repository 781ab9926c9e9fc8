/**
 * The dashboard's two charts as data: detections per hour (labelled with the hour's start on the
 * organization's clock, 24-hour) and events by severity (most severe first). Pure, so Vitest
 * checks the labels and the order without a canvas.
 */
import type { components } from "@/api/schema";

type Analytics = components["schemas"]["Analytics"];

export const SEVERITIES = ["critical", "high", "medium", "low"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Status colours of the severities (the one place charts do not use the theme's tokens). */
export const SEVERITY_COLOURS: Record<Severity, string> = {
  critical: "#dc2626", high: "#ea580c", medium: "#ca8a04", low: "#2563eb",
};

export interface HourlySeries {
  labels: string[];
  counts: number[];
  /** The busiest hour's label and count (null when nothing was detected). */
  peak: { label: string; count: number } | null;
}

/** Each hour of the window as ``HH:00`` in ``timeZone`` (``dd/MM HH:00`` over more than a day). */
export function hourlySeries(perHour: Analytics["detections_per_hour"], timeZone: string, locale = "pt-BR"): HourlySeries {
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const day = new Intl.DateTimeFormat(locale, { timeZone, day: "2-digit", month: "2-digit" });
  const label = (instant: Date) => (perHour.length > 24 ? `${day.format(instant)} ` : "") + time.format(instant);
  const labels = perHour.map((row) => label(new Date(row.hour)));
  const counts = perHour.map((row) => row.count);
  let peak: HourlySeries["peak"] = null;
  counts.forEach((count, i) => {
    if (count > 0 && (peak === null || count > peak.count)) peak = { label: labels[i]!, count };
  });
  return { labels, counts, peak };
}

/** The severities most severe first, zeros included. */
export function severitySeries(bySeverity: Analytics["events_by_severity"]): { severity: Severity; count: number }[] {
  return SEVERITIES.map((severity) => ({ severity, count: bySeverity[severity] ?? 0 }));
}
