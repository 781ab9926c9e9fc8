/**
 * A device's signal as uPlot wants it: seconds on x, one column per series, ascending and without
 * repeated instants (a page of telemetry comes newest first; live rows may repeat one already
 * shown). Anomalies become marks at their time.
 */

export const METRICS = ["mag_magnitude", "audio_peak", "acc_x", "acc_y", "acc_z", "bluetooth_devices"] as const;
export type Metric = (typeof METRICS)[number];

export interface Row {
  time: string;
  [metric: string]: unknown;
}

/** ``[times (s), values]`` of ``metric`` over ``rows``, oldest first; null where a row lacks it. */
export function toSeries(rows: readonly Row[], metric: Metric): [number[], (number | null)[]] {
  const byTime = new Map<number, number | null>();
  for (const row of rows) {
    const t = Date.parse(row.time) / 1000;
    if (!Number.isFinite(t)) continue;
    const value = row[metric];
    byTime.set(t, typeof value === "number" && Number.isFinite(value) ? value : null);
  }
  const times = [...byTime.keys()].sort((a, b) => a - b);
  return [times, times.map((t) => byTime.get(t)!)];
}

/** Anomalies inside the plotted window, as ``{x (s), label}``. */
export function marksWithin(anomalies: readonly { time: string; kind: string; severity: string }[],
  times: readonly number[]): { x: number; label: string; severity: string }[] {
  if (times.length === 0) return [];
  const [first, last] = [times[0]!, times[times.length - 1]!];
  return anomalies
    .map((a) => ({ x: Date.parse(a.time) / 1000, label: a.kind, severity: a.severity }))
    .filter((mark) => mark.x >= first && mark.x <= last)
    .sort((a, b) => a.x - b.x);
}

/** The metrics that have at least one value in ``rows`` (the chart offers only those). */
export function metricsPresent(rows: readonly Row[]): Metric[] {
  return METRICS.filter((metric) => rows.some((row) => typeof row[metric] === "number"));
}
