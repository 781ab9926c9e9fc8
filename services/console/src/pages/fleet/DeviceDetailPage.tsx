/**
 * One device (``/fleet/<id>?metric=mag_magnitude``): what it is and where, its signal chart (recent
 * telemetry, refreshed every few seconds, or the metric's forecast with its band when the forecast
 * service made one; anomalies marked), its status history and its tokens. Status changes and new
 * forecasts on the live feed update the page at once.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { lazy, Suspense, useCallback } from "react";
import type { TFunction } from "i18next";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE, formatDateTime } from "@/lib/format";
import type { FeedMessage } from "@/live/messages";
import { useLiveFeed } from "@/live/useLiveFeed";
import { organizationSettings } from "@/pages/dashboard-queries";

import { Credentials } from "./Credentials";
import * as q from "./queries";
import { deviceRoute } from "./route";
import { fallbackParts, METRICS, type Metric, metricsPresent } from "./series";
import { StatusBadge } from "./StatusBadge";

const SignalChart = lazy(() => import("./SignalChart"));

function Fact({ term, children }: { term: string; children: React.ReactNode }) {
  return (
    <div className="flex flex-col">
      <dt className="text-xs text-muted-foreground">{term}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

function Signal({ device, metric, timeZone }: { device: string; metric: Metric | undefined; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const telemetry = useQuery(q.telemetry(device));
  const anomalies = useQuery(q.anomalies(device));
  const forecasts = useQuery(q.forecast(device));
  const rows = telemetry.data ?? [];
  const present = metricsPresent(rows);
  const shown = metric ?? present[0] ?? "mag_magnitude";
  const forecast = forecasts.data?.find((f) => f.metric === shown && f.points.length > 0);
  return (
    <Card>
      <CardHeader className="flex-row flex-wrap items-end justify-between gap-2">
        <CardTitle className="text-base text-foreground"><h2>{t("fleet.signal")}</h2></CardTitle>
        <div className="flex items-center gap-2">
          <Label htmlFor="device-metric">{t("fleet.metric")}</Label>
          <select id="device-metric" value={shown} className="h-8 rounded-md border border-input bg-background px-2 text-sm"
            onChange={(event) => void navigate({ to: "/fleet/$id", params: { id: device },
              search: { metric: event.target.value as Metric }, replace: true })}>
            {METRICS.map((option) => <option key={option} value={option}>{t(`fleet.metrics.${option}`)}</option>)}
          </select>
        </div>
      </CardHeader>
      <CardContent className="flex flex-col gap-2">
        {telemetry.isError && <p role="alert" className="text-sm text-destructive">{t("fleet.loadError")}</p>}
        {telemetry.isSuccess && rows.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t("fleet.noTelemetry")}</p>
        ) : (
          <Suspense fallback={<div className="h-[260px] animate-pulse rounded bg-muted" aria-busy="true" />}>
            {telemetry.isSuccess && <SignalChart rows={rows} anomalies={anomalies.data ?? []} metric={shown} timeZone={timeZone}
              forecast={forecast} />}
          </Suspense>
        )}
        <p className="text-xs text-muted-foreground">
          {t("fleet.anomalyCount", { count: anomalies.data?.length ?? 0 })} ·{" "}
          <span data-testid="forecast-summary">
            {forecast ? t("fleet.forecastBy", { model: forecast.model, level: forecast.level,
              made: formatDateTime(forecast.made_at, timeZone, i18n.language) }) : t("fleet.noForecast")}
            {forecast?.fallback && <> · {t("fleet.forecastFallback", { why: fallbackWhy(forecast.fallback, t) })}</>}
          </span>
        </p>
      </CardContent>
    </Card>
  );
}

function StatusHistory({ device, timeZone }: { device: string; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const history = useQuery(q.statusHistory(device));
  return (
    <Card>
      <CardHeader><CardTitle className="text-base text-foreground"><h2>{t("fleet.statusHistory")}</h2></CardTitle></CardHeader>
      <CardContent>
        {history.data?.length === 0 && <p className="text-sm text-muted-foreground">{t("fleet.noHistory")}</p>}
        <ol className="flex flex-col gap-1" data-testid="status-history">
          {history.data?.map((change) => (
            <li key={change.id} className="flex flex-wrap items-center gap-2 text-sm">
              <time className="tabular-nums text-muted-foreground" dateTime={change.time}>
                {formatDateTime(change.time, timeZone, i18n.language)}
              </time>
              {change.previous && <><StatusBadge status={change.previous} /><span aria-hidden="true">→</span></>}
              <StatusBadge status={change.status} />
              {change.reason && <span className="text-muted-foreground">({change.reason})</span>}
            </li>
          ))}
        </ol>
      </CardContent>
    </Card>
  );
}

export function DeviceDetailPage() {
  const { t, i18n } = useTranslation();
  const { id } = deviceRoute.useParams();
  const { metric } = deviceRoute.useSearch();
  const queryClient = useQueryClient();
  const zone = useQuery(organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;
  const device = useQuery(q.device(id));

  const onMessage = useCallback((message: FeedMessage) => {
    if (message.type === "device_status_update" && message.device_id === id) {
      void queryClient.invalidateQueries({ queryKey: ["devices", "one", id] });
    }
    if (message.type === "forecast_updated" && message.forecast.device === id) {
      void queryClient.invalidateQueries({ queryKey: ["devices", "one", id, "forecast"] });
    }
  }, [queryClient, id]);
  useLiveFeed(session, onMessage);

  if (device.isError) {
    return (
      <main className="mx-auto max-w-7xl p-4">
        <p role="alert">{t("fleet.notFound")}</p>
        <Link to="/fleet" className="underline">{t("fleet.back")}</Link>
      </main>
    );
  }
  const d = device.data;
  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-6 p-4">
      <div className="flex flex-col gap-1">
        <Link to="/fleet" className="text-sm underline underline-offset-4">{t("fleet.back")}</Link>
        <h1 className="flex flex-wrap items-center gap-3 text-2xl font-semibold">
          {d?.name ?? "…"} {d && <span className="text-base font-normal"><StatusBadge status={d.status} /></span>}
        </h1>
      </div>
      {d && (
        <dl className="grid grid-cols-2 gap-4 rounded-lg border bg-card p-4 sm:grid-cols-3 lg:grid-cols-6">
          <Fact term={t("fleet.kind")}>{t(`fleet.kinds.${d.kind}`)}</Fact>
          <Fact term={t("fleet.lastSeen")}>{d.last_seen ? formatDateTime(d.last_seen, timeZone, i18n.language) : t("fleet.never")}</Fact>
          <Fact term={t("fleet.site")}>{d.site || "—"}</Fact>
          <Fact term={t("fleet.location")}>{d.location || "—"}</Fact>
          <Fact term={t("fleet.position")}>
            {typeof d.latitude === "number" && typeof d.longitude === "number"
              ? `${d.latitude.toFixed(5)}, ${d.longitude.toFixed(5)}` : t("fleet.noPosition")}
          </Fact>
          <Fact term={t("fleet.interval")}>{d.reporting_interval ? `${d.reporting_interval} s` : "—"}</Fact>
        </dl>
      )}
      <Signal device={id} metric={metric} timeZone={timeZone} />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
        <StatusHistory device={id} timeZone={timeZone} />
        <Credentials device={id} timeZone={timeZone} />
      </div>
    </main>
  );
}

/** The fallback sentence in the console's language when it has the service's usual shape. */
function fallbackWhy(sentence: string, t: TFunction): string {
  const parts = fallbackParts(sentence);
  if (!parts) return sentence;
  const why = t("fleet.forecastFallbackWhy", { have: parts.have, model: parts.model, need: parts.need,
    standIn: parts.standIn });
  return parts.more ? `${why} (${parts.more})` : why;
}
