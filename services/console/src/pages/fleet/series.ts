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

/** One metric's forecast as the API gives it (``GET /api/v1/devices/{id}/forecast``), the parts drawn. */
export interface MetricForecast {
  points: readonly { t: string; mean: number; lower: number; upper: number }[];
  history: readonly { t: string; value: number | null }[];
  anomalies: readonly { t: string; severity: string }[];
}

/**
 * A forecast as uPlot columns, seed 002's chart: the readings resampled to the forecast's step, then
 * the forecast's mean and band ahead of them, on one time axis (seconds, ascending); each column is
 * null where it has no value.
 */
export function forecastColumns(forecast: MetricForecast): [number[], (number | null)[], (number | null)[],
  (number | null)[], (number | null)[]] {
  const rows = new Map<number, { value: number | null; mean: number | null; lower: number | null; upper: number | null }>();
  const at = (iso: string) => {
    const x = Date.parse(iso) / 1000;
    if (!Number.isFinite(x)) return null;
    if (!rows.has(x)) rows.set(x, { value: null, mean: null, lower: null, upper: null });
    return rows.get(x)!;
  };
  for (const reading of forecast.history) {
    const row = at(reading.t);
    if (row && typeof reading.value === "number" && Number.isFinite(reading.value)) row.value = reading.value;
  }
  for (const point of forecast.points) {
    const row = at(point.t);
    if (row) Object.assign(row, { mean: point.mean, lower: point.lower, upper: point.upper });
  }
  const times = [...rows.keys()].sort((a, b) => a - b);
  const column = (key: "value" | "mean" | "lower" | "upper") => times.map((x) => rows.get(x)![key]);
  return [times, column("value"), column("mean"), column("lower"), column("upper")];
}

/** The forecast service's fallback sentence ("212 steps of history, ttm needs 512: AutoETS", maybe
 * with the stand-in's own reason in parentheses) as its parts, to be said in the console's language;
 * null for a sentence of another shape (shown as it came). */
export function fallbackParts(sentence: string): { have: number; model: string; need: number; standIn: string;
  more: string | null } | null {
  const match = /^(\d+) steps of history, (\S+) needs (\d+): ([^(]+?)(?: \((.+)\))?$/.exec(sentence);
  const [, have, model, need, standIn, more] = match ?? [];
  if (have === undefined || model === undefined || need === undefined || standIn === undefined) return null;
  return { have: Number(have), model, need: Number(need), standIn, more: more ?? null };
}
