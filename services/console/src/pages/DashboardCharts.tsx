/**
 * The dashboard's charts, drawn with ECharts (only the bar chart, the grid and the tooltip, on a
 * canvas): detections per hour over the range and events by severity. Loaded on its own, after
 * the KPIs, so it does not weigh on the console's first download. Each chart is an image with a
 * text alternative that says what it shows.
 */
import { BarChart } from "echarts/charts";
import { GridComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";

import type { components } from "@/api/schema";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";

import { hourlySeries, SEVERITY_COLOURS, severitySeries } from "./dashboard-charts";

echarts.use([BarChart, GridComponent, TooltipComponent, CanvasRenderer]);

const AXIS = { axisLabel: { color: "#8a8a8a" }, axisLine: { lineStyle: { color: "#8a8a8a" } } };

/** One ECharts instance in a div, resized with its box and disposed with the component. */
function Chart({ option, label, testId }: { option: echarts.EChartsCoreOption; label: string; testId: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    const element = box.current!;
    chart.current = echarts.init(element, undefined, { renderer: "canvas" });
    const resize = new ResizeObserver(() => chart.current?.resize());
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.current?.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);
  return <div ref={box} role="img" aria-label={label} data-testid={testId} className="h-56 w-full" />;
}

type Analytics = components["schemas"]["Analytics"];

export default function DashboardCharts({ analytics, timeZone }: { analytics: Analytics; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const hourly = hourlySeries(analytics.detections_per_hour, timeZone, i18n.language);
  const severities = severitySeries(analytics.events_by_severity);
  const hourlyLabel = hourly.peak === null
    ? t("dashboard.charts.detectionsNone")
    : t("dashboard.charts.detectionsSummary", { total: analytics.detections_total, hour: hourly.peak.label,
      count: hourly.peak.count });
  const severityLabel = t("dashboard.charts.eventsSummary", {
    list: severities.map(({ severity, count }) => `${count} ${t(`dashboard.severity.${severity}`)}`).join(", "),
  });
  return (
    <section className="grid grid-cols-1 gap-4 lg:grid-cols-3" aria-label={t("dashboard.charts.title")}>
      <Card className="lg:col-span-2">
        <CardHeader><CardTitle>{t("dashboard.charts.detectionsPerHour")}</CardTitle></CardHeader>
        <CardContent>
          <Chart testId="chart-detections" label={hourlyLabel} option={{
            animation: false,
            grid: { left: 40, right: 8, top: 8, bottom: 24 },
            tooltip: { trigger: "axis" },
            xAxis: { type: "category", data: hourly.labels, ...AXIS },
            yAxis: { type: "value", minInterval: 1, ...AXIS, splitLine: { lineStyle: { color: "#8a8a8a33" } } },
            series: [{ type: "bar", name: t("dashboard.charts.detections"), data: hourly.counts,
              itemStyle: { color: "#0ea5e9" } }],
          }} />
        </CardContent>
      </Card>
      <Card>
        <CardHeader><CardTitle>{t("dashboard.charts.eventsBySeverity")}</CardTitle></CardHeader>
        <CardContent>
          <Chart testId="chart-severity" label={severityLabel} option={{
            animation: false,
            grid: { left: 72, right: 16, top: 8, bottom: 24 },
            tooltip: { trigger: "axis" },
            xAxis: { type: "value", minInterval: 1, ...AXIS, splitLine: { lineStyle: { color: "#8a8a8a33" } } },
            yAxis: { type: "category", inverse: true, data: severities.map(({ severity }) => t(`dashboard.severity.${severity}`)),
              ...AXIS },
            series: [{ type: "bar", name: t("dashboard.charts.events"),
              data: severities.map(({ severity, count }) => ({ value: count, itemStyle: { color: SEVERITY_COLOURS[severity] } })) }],
          }} />
        </CardContent>
      </Card>
    </section>
  );
}
