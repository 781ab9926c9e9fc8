/**
 * The bundle's sensors.csv as a uPlot chart: the magnetic field of each device (µT, left axis) and
 * its audio peak (right axis) across the evidence window, times in the organization's zone, the
 * incident itself shaded.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import { formatTime } from "@/lib/format";

import { type EvidenceFile, sourceNames } from "../queries";
import type { EventRow } from "../search";
import { parseSensors } from "./sensors";

const COLOURS = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2"];
const HEIGHT = 260;
// Tick spacing in seconds: whole seconds and minutes, so every label is a distinct HH:mm:ss.
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

export function SensorChart({ file, timeZone, event }: { file: EvidenceFile; timeZone: string; event: EventRow }) {
  const { t, i18n } = useTranslation();
  const box = useRef<HTMLDivElement>(null);
  const names = useQuery(sourceNames);
  const table = useQuery({
    queryKey: ["events", "evidence-sensors", file.sha256 ?? file.url],
    queryFn: async () => {
      const response = await fetch(file.url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return parseSensors(await response.text());
    },
    staleTime: Infinity,
  });

  useEffect(() => {
    const element = box.current;
    const data = table.data;
    if (!element || !data || data.rows === 0) return;
    const locale = i18n.language;
    const clock = (seconds: number) => formatTime(seconds * 1000, timeZone, locale);
    const deviceName = (id: string) => names.data?.devices.find((d) => d.id === id)?.name ?? id.slice(0, 8);
    const start = Date.parse(event.time) / 1000;
    const end = event.ended_at ? Date.parse(event.ended_at) / 1000 : start;
    const options: uPlot.Options = {
      width: Math.max(280, element.clientWidth),
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
      scales: { x: { time: true }, uT: { auto: true }, peak: { auto: true } },
      axes: [
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" }, incrs: TIME_STEPS,
          values: (_u: uPlot, ticks: number[]) => ticks.map(clock) },
        { scale: "uT", label: "µT", stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" } },
        { scale: "peak", side: 1, label: "audio_peak", stroke: "currentColor", grid: { show: false } },
      ],
      series: [
        { label: t("events.evidence.time"), value: (_u: uPlot, v: number | null) => (v === null ? "--" : clock(v)) },
        ...data.series.map((s, n) => ({
          label: `${s.column} (${deviceName(s.device)})`,
          scale: s.scale,
          stroke: COLOURS[n % COLOURS.length]!,
          width: 1.5,
          spanGaps: true,
        })),
      ],
      hooks: {
        drawClear: [(u: uPlot) => {
          // The incident, from its first to its last signal, behind the lines.
          const left = u.valToPos(start, "x", true);
          const right = u.valToPos(end, "x", true);
          u.ctx.save();
          u.ctx.fillStyle = "rgba(220, 38, 38, 0.12)";
          u.ctx.fillRect(left, u.bbox.top, Math.max(2, right - left), u.bbox.height);
          u.ctx.restore();
        }],
      },
    };
    const plot = new uPlot(options, data.data as uPlot.AlignedData, element);
    element.dataset.points = String(data.data[0].length);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [table.data, names.data, timeZone, event.time, event.ended_at, t, i18n.language]);

  if (table.isError) return <p className="text-sm text-destructive">{t("events.evidence.loadError")}</p>;
  if (!table.data) return <p className="text-sm text-muted-foreground" aria-busy="true">{t("events.loading")}</p>;
  if (table.data.rows === 0) return <p className="text-sm text-muted-foreground">{t("events.evidence.sensorsEmpty")}</p>;
  return (
    <figure className="flex flex-col gap-1">
      <div ref={box} className="w-full" data-testid="evidence-chart" role="img"
        aria-label={t("events.evidence.chartLabel", { series: table.data.series.map((s) => s.column).join(", ") })} />
      <figcaption className="text-xs text-muted-foreground">{t("events.evidence.sensorsRows", { count: table.data.rows })}</figcaption>
    </figure>
  );
}
