/**
 * A device's signal (uPlot, loaded only on the device page): the chosen metric's recent telemetry,
 * or, when the forecast service has a forecast of it, seed 002's chart — the readings resampled to
 * the forecast's step, then the forecast's mean and 95 % band ahead of them; anomalies as vertical
 * marks in their severity's colour, times on the organization's clock.
 */
import "uplot/dist/uPlot.min.css";

import { useEffect, useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";
import uPlot from "uplot";

import { formatDateTime, formatTime } from "@/lib/format";

import { forecastColumns, marksWithin, type Metric, type MetricForecast, type Row, toSeries } from "./series";

const SEVERITY_COLOUR: Record<string, string> = { critical: "#dc2626", high: "#ea580c", medium: "#d97706", low: "#0284c7" };

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
  forecast?: MetricForecast;
}) {
  const { t, i18n } = useTranslation();
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = useMemo<uPlot.AlignedData>(
    () => (forecast ? forecastColumns(forecast) : toSeries(rows, metric)), [rows, metric, forecast]);
  const times = data[0] as number[];
  const withBand = data.length === 5;
  const marks = useMemo(() => marksWithin(
    [...anomalies, ...(forecast?.anomalies ?? []).map((a) => ({ time: a.t, kind: "forecast", severity: a.severity }))],
    times), [anomalies, forecast, times]);
  const marksRef = useRef(marks);
  marksRef.current = marks;


  useEffect(() => {
    const element = container.current!;
    const locale = i18n.language;
    const series: uPlot.Series[] = [{
      label: t("fleet.time"),
      value: (_u, x) => (x == null ? "—" : formatDateTime(x * 1000, timeZone, locale)),
    }, { label: t(`fleet.metrics.${metric}`), stroke: "#2563eb", width: 2, spanGaps: false }];
    if (withBand) {
      series.push({ label: t("fleet.forecastMean"), stroke: "#7c3aed", width: 2, dash: [6, 4] },
        { label: t("fleet.forecastLow"), stroke: "#94a3b8", dash: [4, 4] },
        { label: t("fleet.forecastHigh"), stroke: "#94a3b8", dash: [4, 4] });
    }
    const instance = new uPlot({
      width: Math.max(element.clientWidth, 280), height: 260, series,
      bands: withBand ? [{ series: [4, 3], fill: "rgba(148, 163, 184, 0.25)" }] : [],
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
    container.current!.dataset.forecast = String(withBand);
  }, [data, times.length, marks.length, withBand]);

  return <div ref={container} data-testid="signal-chart" className="w-full text-foreground"
    role="img" aria-label={t("fleet.chartLabel", { metric: t(`fleet.metrics.${metric}`), count: times.length, marks: marks.length })} />;
}

export default SignalChart;
