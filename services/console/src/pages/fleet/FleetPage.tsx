/**
 * The fleet: summary cards, the device list (search, status and kind filters in the URL, status
 * and last seen) and the map of cameras and devices. Status changes on the live feed refresh the
 * list, the cards and the map.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { lazy, Suspense, useCallback, useMemo } from "react";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE } from "@/lib/format";
import type { FeedMessage } from "@/live/messages";
import { useLiveFeed } from "@/live/useLiveFeed";
import { organizationSettings } from "@/pages/dashboard-queries";

import { DeviceTable } from "./DeviceTable";
import { type FleetSearch, KINDS, kindsOf, STATUSES, statusesOf, toggle } from "./filters";
import { fleetFeatures, type MapItem } from "./mapData";
import * as q from "./queries";
import { fleetRoute } from "./route";
import { StatusBadge } from "./StatusBadge";

const FleetMap = lazy(() => import("./FleetMap"));

function SummaryCards() {
  const { t, i18n } = useTranslation();
  const summary = useQuery(q.summary);
  const cards = [
    ["total", t("fleet.total")], ["online", t("fleet.statuses.ON")], ["warning", t("fleet.statuses.WARNING")],
    ["offline", t("fleet.statuses.OFF")],
  ] as const;
  return (
    <section className="grid grid-cols-2 gap-4 lg:grid-cols-4" aria-label={t("fleet.summary")}>
      {cards.map(([key, title]) => (
        <Card key={key} data-testid={`fleet-summary-${key}`}>
          <CardHeader><CardTitle>{title}</CardTitle></CardHeader>
          <CardContent>
            {summary.isError ? <p className="text-sm text-destructive">{t("fleet.loadError")}</p>
              : <p className="text-3xl font-semibold tabular-nums" data-testid={`fleet-summary-${key}-value`}>
                {summary.data ? summary.data[key].toLocaleString(i18n.language) : "…"}
              </p>}
          </CardContent>
        </Card>
      ))}
    </section>
  );
}

function Filters({ search }: { search: FleetSearch }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const go = (next: FleetSearch) => void navigate({ to: "/fleet", search: next, replace: true });
  const statuses = statusesOf(search) ?? [];
  const kinds = kindsOf(search) ?? [];
  return (
    <div className="flex flex-col gap-3 rounded-lg border bg-card p-4">
      <form role="search" className="flex flex-wrap items-end gap-2" onSubmit={(event) => {
        event.preventDefault();
        const value = String(new FormData(event.currentTarget).get("q") ?? "").trim();
        go({ ...search, q: value || undefined });
      }}>
        <div className="flex min-w-48 flex-1 flex-col gap-1.5">
          <Label htmlFor="fleet-q">{t("fleet.search")}</Label>
          <Input id="fleet-q" name="q" key={search.q ?? ""} defaultValue={search.q} autoComplete="off"
            placeholder={t("fleet.searchHint")} />
        </div>
        <Button type="submit">{t("fleet.searchButton")}</Button>
        {(search.q || search.status || search.kind) && (
          <Button type="button" variant="outline" onClick={() => go({})}>{t("fleet.clear")}</Button>
        )}
      </form>
      <div className="flex flex-wrap items-center gap-2" role="group" aria-label={t("fleet.status")}>
        <span className="text-sm text-muted-foreground">{t("fleet.status")}:</span>
        {STATUSES.map((status) => (
          <Button key={status} size="sm" variant={statuses.includes(status) ? "default" : "outline"}
            aria-pressed={statuses.includes(status)}
            onClick={() => go({ ...search, status: toggle(search.status, status, STATUSES) })}>
            {t(`fleet.statuses.${status}`)}
          </Button>
        ))}
      </div>
      <div className="flex flex-wrap items-center gap-2" role="group" aria-label={t("fleet.kind")}>
        <span className="text-sm text-muted-foreground">{t("fleet.kind")}:</span>
        {KINDS.map((kind) => (
          <Button key={kind} size="sm" variant={kinds.includes(kind) ? "default" : "outline"}
            aria-pressed={kinds.includes(kind)}
            onClick={() => go({ ...search, kind: toggle(search.kind, kind, KINDS) })}>
            {t(`fleet.kinds.${kind}`)}
          </Button>
        ))}
      </div>
    </div>
  );
}

function MapSection({ devices, cameras }: { devices: q.Device[]; cameras: q.Camera[] }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const { points, unplaced } = useMemo(() => fleetFeatures(devices, cameras), [devices, cameras]);
  const onOpen = useCallback((item: MapItem) => {
    if (item.kind === "device") void navigate({ to: "/fleet/$id", params: { id: item.id } });
  }, [navigate]);
  return (
    <section className="flex flex-col gap-3" aria-labelledby="fleet-map-title">
      <h2 id="fleet-map-title" className="text-lg font-semibold">{t("fleet.map")}</h2>
      <Suspense fallback={<div className="h-[24rem] animate-pulse rounded-lg border bg-muted" aria-busy="true" />}>
        <FleetMap devices={devices} cameras={cameras} onOpen={onOpen} />
      </Suspense>
      <div className="flex flex-wrap gap-4 text-xs text-muted-foreground" aria-label={t("fleet.legend")}>
        {(["ON", "WARNING", "OFF", "online", "error"] as const).map((status) => <StatusBadge key={status} status={status} />)}
        <span>{t("fleet.onMap", { count: points.features.length })}</span>
      </div>
      {unplaced.length > 0 && (
        <details className="rounded-lg border p-3 text-sm" data-testid="fleet-unplaced">
          <summary className="cursor-pointer">{t("fleet.unplaced", { count: unplaced.length })}</summary>
          <ul className="mt-2 flex flex-col gap-1">
            {unplaced.map((item) => (
              <li key={`${item.kind}-${item.id}`} className="flex gap-2">
                <span>{t(`fleet.thing.${item.kind}`)}</span><span className="font-medium">{item.name}</span>
                <StatusBadge status={item.status} />
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

export function FleetPage() {
  const { t } = useTranslation();
  const search = fleetRoute.useSearch();
  const queryClient = useQueryClient();
  const zone = useQuery(organizationSettings);
  const devices = useQuery(q.devices(search));
  const cameras = useQuery(q.cameras);

  const onMessage = useCallback((message: FeedMessage) => {
    if (message.type === "device_status_update") void queryClient.invalidateQueries({ queryKey: ["devices"] });
    if (message.type === "camera_health") void queryClient.invalidateQueries({ queryKey: ["cameras"] });
  }, [queryClient]);
  useLiveFeed(session, onMessage);

  const rows = devices.data?.rows;
  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-6 p-4">
      <h1 className="text-2xl font-semibold">{t("fleet.title")}</h1>
      <SummaryCards />
      <Filters search={search} />
      <section className="flex flex-col gap-3" aria-labelledby="fleet-devices-title">
        <h2 id="fleet-devices-title" className="text-lg font-semibold">
          {t("fleet.devices")}{rows && <span className="ml-2 text-sm font-normal text-muted-foreground" data-testid="fleet-count">
            {t("fleet.count", { count: rows.length, more: devices.data?.more ? "+" : "" })}</span>}
        </h2>
        {devices.isError && <p role="alert" className="text-sm text-destructive">{t("fleet.loadError")}</p>}
        {rows?.length === 0 && <p className="text-sm text-muted-foreground">{t("fleet.noDevices")}</p>}
        {!!rows?.length && <DeviceTable devices={rows} timeZone={zone.data ?? DEFAULT_TIME_ZONE} />}
      </section>
      {rows && cameras.data && <MapSection devices={rows} cameras={cameras.data} />}
    </main>
  );
}
