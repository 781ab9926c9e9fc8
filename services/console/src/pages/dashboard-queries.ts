/**
 * What the dashboard reads from control: the exact counts of /api/v1/dashboard/summary (cameras,
 * devices, open events, passages since the organization's midnight) and the range's analytics.
 */
import { queryOptions } from "@tanstack/react-query";

import { unwrap } from "@/api/client";
import { api } from "@/app";
import { DEFAULT_TIME_ZONE } from "@/lib/format";

/** The organization's settings as every member reads them (the frame reads the idle time-out). */
export const organizationSettingsQuery = queryOptions({
  queryKey: ["organization", "settings"],
  queryFn: () => unwrap(api.GET("/api/v1/organization/settings")),
  staleTime: 5 * 60_000,
});

/** The organization's time zone. */
export const organizationSettings = queryOptions({
  ...organizationSettingsQuery,
  select: (settings) => settings.time_zone || DEFAULT_TIME_ZONE,
});

export const summary = queryOptions({
  queryKey: ["dashboard", "summary"],
  queryFn: () => unwrap(api.GET("/api/v1/dashboard/summary")),
});

export function analytics(hours: number) {
  return queryOptions({
    queryKey: ["dashboard", "analytics", hours],
    queryFn: () => unwrap(api.GET("/api/v1/dashboard/analytics", { params: { query: { hours } } })),
  });
}

/** The queries a live message makes stale (the feed keeps the dashboard's numbers current). */
export const STALE_BY_FEED_TYPE: Record<string, readonly (readonly string[])[]> = {
  new_event: [["events"], ["dashboard"]],
  event_triaged: [["events"], ["dashboard", "summary"]],
  new_detection: [["dashboard", "analytics"]],
  device_status_update: [["devices"], ["dashboard", "summary"]],
  camera_health: [["cameras"], ["dashboard", "summary"]],
  plate_read: [["passages"], ["dashboard", "summary"]],
};

/** At most one refetch per key this often, however fast the feed runs (100 messages/s). */
export const STALE_THROTTLE_MS = 2_000;

/**
 * Collects the keys live messages make stale and hands them to ``invalidate`` at most once per
 * ``everyMs``: a burst of messages costs one refetch of each query, not one per message.
 */
export function staleKeyBatcher(invalidate: (queryKey: readonly string[]) => void, everyMs = STALE_THROTTLE_MS) {
  const pending = new Map<string, readonly string[]>();
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    const keys = [...pending.values()];
    pending.clear();
    for (const key of keys) invalidate(key);
  };
  return {
    add(type: string) {
      for (const key of STALE_BY_FEED_TYPE[type] ?? []) pending.set(key.join("\u0000"), key);
      if (pending.size > 0 && timer === null) timer = setTimeout(flush, everyMs);
    },
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      pending.clear();
    },
  };
}
