/**
 * What the plates pages read from control and change there: passages (a page at a time), the
 * tolerant search, a plate's history, each passage's images, the cameras' names, watch-lists and
 * their entries, and the CSV export.
 */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";

import { unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { api } from "@/app";

export type Passage = components["schemas"]["Passage"];
export type PassageMatch = components["schemas"]["PassageMatch"];
export type Watchlist = components["schemas"]["PlateWatchlist"];
export type WatchlistEntry = components["schemas"]["PlateWatchlistEntry"];

const PAGE = 50;

/** The cursor of a DRF cursor page's ``next`` link, for the following request. */
export function cursorOf(next: string | null | undefined): string | undefined {
  if (!next) return undefined;
  return new URL(next, "http://x").searchParams.get("cursor") ?? undefined;
}

type Filters = { camera?: string; site?: string; since?: string; until?: string };

export function passages(filters: Filters) {
  return infiniteQueryOptions({
    queryKey: ["passages", "list", filters],
    queryFn: ({ pageParam }) => unwrap(api.GET("/api/v1/passages/", {
      params: { query: { ...filters, limit: PAGE, cursor: pageParam } },
    })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => cursorOf(page.next),
  });
}

export function search(plate: string, filters: Filters) {
  return queryOptions({
    queryKey: ["passages", "search", plate, filters],
    queryFn: () => unwrap(api.GET("/api/v1/passages/search/", { params: { query: { ...filters, plate } } })),
  });
}

export function history(plate: string, lookAlikes: boolean) {
  return infiniteQueryOptions({
    queryKey: ["passages", "history", plate, lookAlikes],
    queryFn: ({ pageParam }) => unwrap(api.GET("/api/v1/plates/{plate}/history/", {
      params: { path: { plate }, query: { look_alikes: lookAlikes, limit: PAGE, cursor: pageParam } },
    })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => cursorOf(page.next),
    retry: false, // a plate never seen is a 404: say so at once
  });
}

export function images(passage: string) {
  return queryOptions({
    queryKey: ["passages", "images", passage],
    queryFn: () => unwrap(api.GET("/api/v1/passages/{id}/images/", { params: { path: { id: passage } } })),
    staleTime: 5 * 60_000, // the URLs live 10 minutes
  });
}

/** Camera names by id (the passages carry only the id). */
export const cameraNames = queryOptions({
  queryKey: ["cameras", "names"],
  queryFn: async () => {
    const page = await unwrap(api.GET("/api/v1/cameras/", { params: { query: { limit: 500 } } }));
    return new Map(page.results.map((camera) => [camera.id, camera.name]));
  },
  staleTime: 5 * 60_000,
});

export const watchlists = queryOptions({
  queryKey: ["watchlists"],
  queryFn: async () => (await unwrap(api.GET("/api/v1/watchlists/", { params: { query: { limit: 200 } } }))).results,
});

export function entries(watchlist: string) {
  return queryOptions({
    queryKey: ["watchlists", watchlist, "entries"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/watchlists/{watchlist_id}/entries/", {
      params: { path: { watchlist_id: watchlist }, query: { limit: 500 } },
    }))).results,
  });
}

/** The message of an API error body (``{"error": {"message", "fields"}}``), or the status. */
export function errorText(error: unknown, status: number): string {
  const detail = (error as { error?: { message?: string; fields?: Record<string, string[]> } } | undefined)?.error;
  if (detail?.fields) {
    return Object.entries(detail.fields).map(([field, messages]) => `${field}: ${messages.join(" ")}`).join("; ");
  }
  return detail?.message ?? String(status);
}

/** The passages the filters select, as CSV, saved by the browser under ``fileName``. */
export async function downloadExport(query: Filters & { plate?: string }, fileName: string): Promise<void> {
  const { data, error, response } = await api.GET("/api/v1/passages/export/", { params: { query }, parseAs: "blob" });
  if (error !== undefined || !(data instanceof Blob)) throw new Error(errorText(error, response.status));
  const url = URL.createObjectURL(data);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
