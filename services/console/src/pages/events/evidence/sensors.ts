/**
 * The bundle's sensors.csv (the correlator's ``sensors_csv``: ``time,device_id,seq,mag_x,...``,
 * oldest first, one row per reading of each of the event's devices) as uPlot's aligned columns:
 * one shared time axis in seconds, and one series per device and plotted column, null where that
 * device has no reading at that instant.
 */

/** The columns drawn, with their axis: the magnetic field (µT) left, the audio peak right. */
export const PLOTTED = [
  { column: "mag_magnitude", scale: "uT" },
  { column: "audio_peak", scale: "peak" },
] as const;

export interface SensorSeries {
  device: string;
  column: string;
  scale: string;
}

export interface SensorTable {
  /** uPlot's data: ``[times (s), ...one array per series]``. */
  data: [number[], ...(number | null)[][]];
  series: SensorSeries[];
  rows: number;
}

/** One CSV line split on commas, with RFC 4180 quotes (the writer quotes nothing it needs not). */
function splitLine(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      cells.push(cell);
      cell = "";
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/** ``text`` (sensors.csv) as plotted series; columns or devices without a number are left out. */
export function parseSensors(text: string): SensorTable {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const header = splitLine(lines[0] ?? "");
  const at = (name: string) => header.indexOf(name);
  const timeAt = at("time");
  const deviceAt = at("device_id");
  const readings = new Map<number, Map<string, number>>(); // time (ms) -> "device|column" -> value
  const keys = new Set<string>();
  let rows = 0;
  for (const line of lines.slice(1)) {
    const cells = splitLine(line);
    const time = Date.parse(cells[timeAt] ?? "");
    if (Number.isNaN(time)) continue;
    rows++;
    const device = cells[deviceAt] ?? "";
    let values = readings.get(time);
    if (!values) readings.set(time, (values = new Map()));
    for (const { column } of PLOTTED) {
      const raw = cells[at(column)];
      if (raw === undefined || raw === "") continue;
      const value = Number(raw);
      if (!Number.isFinite(value)) continue;
      values.set(`${device}|${column}`, value);
      keys.add(`${device}|${column}`);
    }
  }
  const times = [...readings.keys()].sort((a, b) => a - b);
  const series: SensorSeries[] = [];
  for (const { column, scale } of PLOTTED) {
    for (const key of [...keys].sort()) {
      const [device, name] = key.split("|") as [string, string];
      if (name === column) series.push({ device, column, scale });
    }
  }
  const columns = series.map((s) => times.map((t) => readings.get(t)?.get(`${s.device}|${s.column}`) ?? null));
  return { data: [times.map((t) => t / 1000), ...columns], series, rows };
}
