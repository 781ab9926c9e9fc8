/**
 * What the dashboard reads from control. Counts come from one page of at most 500 rows where the
 * API has no count (cameras, open events, passages): beyond a page the number shows "500+".
 */
import { queryOptions } from "@tanstack/react-query";

import { unwrap } from "@/api/client";
import { api } from "@/app";
import { DEFAULT_TIME_ZONE } from "@/lib/format";

const PAGE = 500;

/** A count read from a list page: how many rows, and whether more exist. */
export interface PageCount {
  count: number;
  more: boolean;
}

function pageCount(page: { results: unknown[]; next?: string | null }): PageCount {
  return { count: page.results.length, more: Boolean(page.next) };
}

export const organizationSettings = queryOptions({
  queryKey: ["organization", "settings"],
  queryFn: () => unwrap(api.GET("/api/v1/organization/settings")),
  select: (settings) => settings.time_zone || DEFAULT_TIME_ZONE,
  staleTime: 5 * 60_000,
});

export const cameras = queryOptions({
  queryKey: ["cameras", "status"],
  queryFn: async () => {
    const page = await unwrap(api.GET("/api/v1/cameras/", { params: { query: { limit: PAGE } } }));
    return { online: page.results.filter((c) => c.status === "online").length, ...pageCount(page) };
  },
});

export const devices = queryOptions({
  queryKey: ["devices", "summary"],
  queryFn: () => unwrap(api.GET("/api/v1/devices/summary/")),
});

export const openEvents = queryOptions({
  queryKey: ["events", "open"],
  queryFn: async () =>
    pageCount(await unwrap(api.GET("/api/v1/events/", { params: { query: { status: ["open"], limit: PAGE } } }))),
});

export function passagesSince(since: Date) {
  return queryOptions({
    queryKey: ["passages", "since", since.toISOString()],
    queryFn: async () =>
      pageCount(await unwrap(api.GET("/api/v1/passages/", {
        params: { query: { since: since.toISOString(), limit: PAGE } },
      }))),
  });
}

export interface Analytics {
  detections_total: number;
  events_total: number;
  events_by_severity: Record<string, number>;
}

export function analytics(hours: number) {
  return queryOptions({
    queryKey: ["dashboard", "analytics", hours],
    // The endpoint is documented as a free-form object; these are the fields the page reads.
    queryFn: async () => (await unwrap(api.GET("/api/v1/dashboard/analytics", { params: { query: { hours } } }))) as unknown as Analytics,
  });
}

/** The queries a live message makes stale (the feed keeps the dashboard's numbers current). */
export const STALE_BY_FEED_TYPE: Record<string, readonly (readonly string[])[]> = {
  new_event: [["events"], ["dashboard"]],
  new_detection: [["dashboard"]],
  device_status_update: [["devices"]],
  camera_health: [["cameras"]],
  plate_read: [["passages"]],
};
