/**
 * A device's signal over its recent telemetry (uPlot, loaded only on the device page): the chosen
 * metric, anomalies as vertical marks in their severity's colour, times on the organization's
 * clock. The band is drawn when a forecast is given; the device page does not read the forecast API
 * (``GET /api/v1/devices/{id}/forecast``) yet (issue #14).
 */
import "uplot/dist/uPlot.min.css";

import { useEffect, useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";
import uPlot from "uplot";

import { formatDateTime, formatTime } from "@/lib/format";

import { marksWithin, type Metric, type Row, toSeries } from "./series";

const SEVERITY_COLOUR: Record<string, string> = { critical: "#dc2626", high: "#ea580c", medium: "#d97706", low: "#0284c7" };

export interface Forecast {
  times: number[];
  low: (number | null)[];
  high: (number | null)[];
}

function marksPlugin(marks: () => { x: number; severity: string }[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.lineWidth = 2 * uPlot.pxRatio;
        for (const mark of marks()) {
          const x = Math.round(u.valToPos(mark.x, "x", true));
          ctx.strokeStyle = SEVERITY_COLOUR[mark.severity] ?? "#dc2626";
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    },
  };
}

export function SignalChart({ rows, anomalies, metric, timeZone, forecast }: {
  rows: readonly Row[];
  anomalies: readonly { time: string; kind: string; severity: string }[];
  metric: Metric;
  timeZone: string;
  forecast?: Forecast;
}) {
  const { t, i18n } = useTranslation();
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [times, values] = useMemo(() => toSeries(rows, metric), [rows, metric]);
  const marks = useMemo(() => marksWithin(anomalies, times), [anomalies, times]);
  const marksRef = useRef(marks);
  marksRef.current = marks;

  const data = useMemo<uPlot.AlignedData>(() => {
    if (!forecast) return [times, values];
    const low = new Map(forecast.times.map((x, i) => [x, forecast.low[i] ?? null]));
    const high = new Map(forecast.times.map((x, i) => [x, forecast.high[i] ?? null]));
    return [times, values, times.map((x) => low.get(x) ?? null), times.map((x) => high.get(x) ?? null)];
  }, [times, values, forecast]);
  const withBand = data.length === 4;

  useEffect(() => {
    const element = container.current!;
    const locale = i18n.language;
    const series: uPlot.Series[] = [{
      label: t("fleet.time"),
      value: (_u, x) => (x == null ? "—" : formatDateTime(x * 1000, timeZone, locale)),
    }, { label: t(`fleet.metrics.${metric}`), stroke: "#2563eb", width: 2, spanGaps: false }];
    if (withBand) {
      series.push({ label: t("fleet.forecastLow"), stroke: "#94a3b8", dash: [4, 4] },
        { label: t("fleet.forecastHigh"), stroke: "#94a3b8", dash: [4, 4] });
    }
    const instance = new uPlot({
      width: Math.max(element.clientWidth, 280), height: 260, series,
      bands: withBand ? [{ series: [3, 2], fill: "rgba(148, 163, 184, 0.25)" }] : [],
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
      // Ticks on the organization's 24-hour clock, whatever the browser's zone and locale.
      axes: [{ stroke: "currentColor", values: (_u, ticks) => ticks.map((x) => formatTime(x * 1000, timeZone, locale)) },
        { stroke: "currentColor" }],
      legend: { show: true },
      plugins: [marksPlugin(() => marksRef.current)],
    }, data, element);
    plot.current = instance;
    const resize = new ResizeObserver(() => instance.setSize({ width: Math.max(element.clientWidth, 280), height: 260 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      instance.destroy();
      plot.current = null;
    };
    // A new metric, zone or band is a new chart; new rows only new data (below).
  }, [metric, timeZone, withBand, t, i18n.language]);

  useEffect(() => {
    plot.current?.setData(data);
    container.current!.dataset.points = String(times.length);
    container.current!.dataset.marks = String(marks.length);
  }, [data, times.length, marks.length]);

  return <div ref={container} data-testid="signal-chart" className="w-full text-foreground"
    role="img" aria-label={t("fleet.chartLabel", { metric: t(`fleet.metrics.${metric}`), count: times.length, marks: marks.length })} />;
}

export default SignalChart;
