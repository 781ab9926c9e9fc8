/**
 * What the fleet pages read from control: the devices under the list's filters (every page, up to
 * a few thousand), the summary, the cameras (for the map), one device, its status history,
 * telemetry, anomalies and credentials.
 */
import { queryOptions } from "@tanstack/react-query";

import { unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { api } from "@/app";

import { type FleetSearch, kindsOf, statusesOf } from "./filters";

export type Device = components["schemas"]["Device"];
export type Camera = components["schemas"]["Camera"];

const PAGE = 500;
const MAX_PAGES = 10;

function cursorOf(next: string | null | undefined): string | undefined {
  if (!next) return undefined;
  return new URL(next, "http://x").searchParams.get("cursor") ?? undefined;
}

export function devices(search: FleetSearch) {
  return queryOptions({
    queryKey: ["devices", "list", search],
    queryFn: async () => {
      const rows: Device[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await unwrap(api.GET("/api/v1/devices/", { params: { query: {
          search: search.q, status: statusesOf(search), kind: kindsOf(search), limit: PAGE, cursor } } }));
        rows.push(...answer.results);
        cursor = cursorOf(answer.next);
        if (!cursor) return { rows, more: false };
      }
      return { rows, more: true };
    },
  });
}

export const summary = queryOptions({
  queryKey: ["devices", "summary"],
  queryFn: () => unwrap(api.GET("/api/v1/devices/summary/")),
});

export const cameras = queryOptions({
  queryKey: ["cameras", "map"],
  queryFn: async () => (await unwrap(api.GET("/api/v1/cameras/", { params: { query: { limit: PAGE } } }))).results,
});

export function device(id: string) {
  return queryOptions({
    queryKey: ["devices", "one", id],
    queryFn: () => unwrap(api.GET("/api/v1/devices/{id}/", { params: { path: { id } } })),
    retry: false,
  });
}

export function statusHistory(id: string) {
  return queryOptions({
    queryKey: ["devices", "one", id, "status-history"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/devices/{device_id}/status-history", {
      params: { path: { device_id: id }, query: { limit: 50 } } }))).results,
  });
}

/** The last ``limit`` telemetry rows (newest first, as the API pages them). */
export function telemetry(id: string, limit = 500) {
  return queryOptions({
    queryKey: ["devices", "one", id, "telemetry"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/telemetry/", { params: { query: { device: id, limit } } }))).results,
    refetchInterval: 5_000, // the feed carries no telemetry: a few seconds behind is live enough
  });
}

export function anomalies(id: string) {
  return queryOptions({
    queryKey: ["devices", "one", id, "anomalies"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/anomalies/", { params: { query: { device: id, limit: 200 } } }))).results,
    refetchInterval: 15_000,
  });
}

/** The device's forecasts (one per metric the forecast service follows; none before its first round). */
export function forecast(id: string) {
  return queryOptions({
    queryKey: ["devices", "one", id, "forecast"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/devices/{id}/forecast/", { params: { path: { id } } }))).forecasts,
    refetchInterval: 60_000, // forecast_updated on the feed refreshes it at once
  });
}

export function credentials(id: string) {
  return queryOptions({
    queryKey: ["devices", "one", id, "credentials"],
    queryFn: () => unwrap(api.GET("/api/v1/devices/{id}/credentials/", { params: { path: { id } } })),
  });
}
