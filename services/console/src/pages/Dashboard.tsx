/**
 * Dashboard: the KPIs (cameras online, devices online/warning/off, open events, passages today:
 * exact counts from /api/v1/dashboard/summary; detections and events in the chosen range), the
 * charts of detections per hour and events by severity, and the live feed, which keeps them current. The range is in the URL (``?hours=24|168``); times are in
 * the organization's time zone.
 */
import { useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { DEFAULT_TIME_ZONE } from "@/lib/format";
import { cn } from "@/lib/utils";
import { chooseSound, isCritical, playAlert, soundChosen, unlockSound } from "@/live/cue";
import type { FeedMessage } from "@/live/messages";
import { useLiveFeed } from "@/live/useLiveFeed";
import { LiveFeed } from "@/pages/LiveFeed";
import { dashboardRoute, RANGES } from "@/router";

import * as q from "./dashboard-queries";

// ECharts is loaded after the KPIs, in a chunk of its own.
const DashboardCharts = lazy(() => import("./DashboardCharts"));

function Kpi({ id, title, query, value, detail }: {
  id: string;
  title: string;
  query: UseQueryResult<unknown>;
  value: () => string;
  detail?: () => string;
}) {
  const { t } = useTranslation();
  return (
    <Card data-testid={`kpi-${id}`}>
      <CardHeader><CardTitle>{title}</CardTitle></CardHeader>
      <CardContent>
        {query.isError ? (
          <p className="text-sm text-destructive">{t("dashboard.loadError")}</p>
        ) : query.isSuccess ? (
          <>
            <p className="text-3xl font-semibold tabular-nums" data-testid={`kpi-${id}-value`}>{value()}</p>
            {detail && <p className="text-xs text-muted-foreground">{detail()}</p>}
          </>
        ) : (
          <p className="h-9 animate-pulse rounded bg-muted" aria-busy="true" />
        )}
      </CardContent>
    </Card>
  );
}

const FLASH_MS = 6_000;

/** The feed in a component of its own: a message redraws the feed, not the whole dashboard. A new
 * critical event flashes it and, where the operator turned the sound on, sounds the alert. */
function Feed({ onMessage, timeZone }: { onMessage: (message: FeedMessage) => void; timeZone: string }) {
  const [sound, setSound] = useState(soundChosen);
  const [critical, setCritical] = useState({ count: 0, at: 0 });
  const [now, setNow] = useState(0);
  const soundRef = useRef(sound);
  soundRef.current = sound;
  const handle = useCallback((message: FeedMessage) => {
    onMessage(message);
    if (!isCritical(message)) return;
    setCritical((c) => ({ count: c.count + 1, at: Date.now() }));
    if (soundRef.current) playAlert();
  }, [onMessage]);
  const feed = useLiveFeed(session, handle);
  // The flash ends FLASH_MS after the last critical event.
  useEffect(() => {
    if (!critical.at) return;
    setNow(Date.now());
    const timer = window.setTimeout(() => setNow(Date.now()), FLASH_MS);
    return () => window.clearTimeout(timer);
  }, [critical.at]);
  // A sound chosen before a reload: the browser lets audio start at the operator's next click or key.
  useEffect(() => {
    if (!sound) return;
    const unlock = () => unlockSound();
    window.addEventListener("pointerdown", unlock, { once: true });
    window.addEventListener("keydown", unlock, { once: true });
    return () => {
      window.removeEventListener("pointerdown", unlock);
      window.removeEventListener("keydown", unlock);
    };
  }, [sound]);
  const onSound = useCallback((on: boolean) => {
    if (on) unlockSound();
    chooseSound(on);
    setSound(on);
  }, []);
  const cue = { count: critical.count, flashing: critical.at > 0 && now - critical.at < FLASH_MS, sound, onSound };
  return <LiveFeed messages={feed.messages} connection={feed.connection} timeZone={timeZone} cue={cue} />;
}

export function DashboardPage() {
  const { t, i18n } = useTranslation();
  const { hours } = dashboardRoute.useSearch();
  const queryClient = useQueryClient();
  const locale = i18n.language;

  const zone = useQuery(q.organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;
  const summary = useQuery(q.summary);
  const analytics = useQuery(q.analytics(hours));

  // A burst of live messages refetches each query they make stale once per interval.
  const stale = useMemo(() => q.staleKeyBatcher((queryKey) => {
    void queryClient.invalidateQueries({ queryKey: [...queryKey] });
  }), [queryClient]);
  useEffect(() => () => stale.cancel(), [stale]);
  const onMessage = useCallback((message: FeedMessage) => stale.add(message.type), [stale]);
  const counts = summary.data;
  const number = (value: number) => value.toLocaleString(locale);

  const severities = analytics.data?.events_by_severity ?? {};
  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-6 p-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">{t("dashboard.title")}</h1>
        <nav className="flex items-center gap-2 text-sm" aria-label={t("dashboard.range")}>
          {RANGES.map((range) => (
            <Link
              key={range}
              to="/"
              search={{ hours: range }}
              className={cn("rounded-md border px-3 py-1", range === hours && "bg-primary text-primary-foreground")}
              aria-current={range === hours ? "page" : undefined}
            >
              {t(`dashboard.hours_${range}`)}
            </Link>
          ))}
        </nav>
      </div>

      <section className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label="KPIs">
        <Kpi id="cameras" title={t("dashboard.kpi.cameras")} query={summary}
          value={() => number(counts!.cameras.online)}
          detail={() => t("dashboard.kpi.camerasOf", { total: number(counts!.cameras.total) })} />
        <Kpi id="devices" title={t("dashboard.kpi.devices")} query={summary}
          value={() => `${number(counts!.devices.online)} / ${number(counts!.devices.total)}`}
          detail={() => t("dashboard.kpi.devicesDetail", { warning: number(counts!.devices.warning), offline: number(counts!.devices.offline) })} />
        <Kpi id="open-events" title={t("dashboard.kpi.openEvents")} query={summary}
          value={() => number(counts!.open_events)} />
        <Kpi id="passages-today" title={t("dashboard.kpi.passagesToday")} query={summary}
          value={() => number(counts!.passages_today)} />
        <Kpi id="detections" title={t("dashboard.kpi.detections")} query={analytics}
          value={() => analytics.data!.detections_total.toLocaleString(locale)} />
        <Kpi id="events" title={t("dashboard.kpi.events")} query={analytics}
          value={() => analytics.data!.events_total.toLocaleString(locale)}
          detail={() => (["critical", "high", "medium", "low"] as const)
            .map((s) => `${severities[s] ?? 0} ${t(`dashboard.severity.${s}`)}`).join(" · ")} />
      </section>

      {analytics.data && (
        <Suspense fallback={<div className="h-72 animate-pulse rounded-lg bg-muted" aria-busy="true" />}>
          <DashboardCharts analytics={analytics.data} timeZone={timeZone} />
        </Suspense>
      )}

      <Feed onMessage={onMessage} timeZone={timeZone} />
      <p className="text-xs text-muted-foreground" data-testid="time-zone">{t("dashboard.timeZone", { zone: timeZone })}</p>
    </main>
  );
}
