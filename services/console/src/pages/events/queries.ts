/**
 * What the events area reads from control and does there. Lists page with control's time cursor
 * (newest first), 100 rows a page, loaded as the operator scrolls; the live feed edits the loaded
 * pages in the cache (live.ts), and an action refetches them.
 */
import { infiniteQueryOptions, queryOptions, type QueryClient } from "@tanstack/react-query";

import { unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { api } from "@/app";

import { apiQuery, type EventSearch } from "./search";

export const PAGE_SIZE = 100;
const NAMES_PAGE = 500;

export type Evidence = components["schemas"]["Evidence"];
export type EvidenceFile = components["schemas"]["EvidenceFile"];
export type BulkResult = components["schemas"]["BulkResult"];

/** The key prefix of every events list, whatever its filters (``[..., search]`` follows). */
export const LIST_KEY = ["events", "list"] as const;

function cursorOf(next: string | null | undefined): string | undefined {
  if (!next) return undefined;
  return new URL(next, window.location.origin).searchParams.get("cursor") ?? undefined;
}

export function eventList(search: EventSearch) {
  return infiniteQueryOptions({
    queryKey: [...LIST_KEY, search],
    queryFn: ({ pageParam }) => unwrap(api.GET("/api/v1/events/", {
      params: { query: { ...apiQuery(search, new Date()), limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } },
    })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => cursorOf(page.next),
  });
}

export function eventDetail(id: string) {
  return queryOptions({
    queryKey: ["events", "detail", id],
    queryFn: () => unwrap(api.GET("/api/v1/events/{id}/", { params: { path: { id } } })),
  });
}

export function evidence(id: string) {
  return queryOptions({
    queryKey: ["events", "evidence", id],
    queryFn: () => unwrap(api.GET("/api/v1/events/{id}/evidence/", {
      params: { path: { id }, query: { expires_in: 3600 } },
    })),
    // The correlator writes the bundle after the incident closed: look again until it is whole.
    refetchInterval: (query) => (query.state.data?.ready ? false : 3000),
    staleTime: 10 * 60_000, // the URLs are valid for an hour
  });
}

/** The organization's cameras and devices by id, for the source filter and the sources' names. */
export const sourceNames = queryOptions({
  queryKey: ["events", "source-names"],
  queryFn: async () => {
    const [cameras, devices] = await Promise.all([
      unwrap(api.GET("/api/v1/cameras/", { params: { query: { limit: NAMES_PAGE } } })),
      unwrap(api.GET("/api/v1/devices/", { params: { query: { limit: NAMES_PAGE } } })),
    ]);
    return {
      cameras: cameras.results.map((c) => ({ id: c.id, name: c.name })),
      devices: devices.results.map((d) => ({ id: d.id, name: d.name })),
    };
  },
  staleTime: 5 * 60_000,
});

/** An error body's message (control's ``{"error": {"message"}}``), or the HTTP status. */
async function failure(response: Response, error: unknown): Promise<Error> {
  const message = (error as { error?: { message?: string } } | undefined)?.error?.message;
  return new Error(message ?? `${response.status}`);
}

export async function bulkAction(ids: string[], action: "acknowledge" | "resolve", note: string): Promise<BulkResult> {
  const { data, error, response } = await api.POST("/api/v1/events/bulk/", { body: { ids, action, note } });
  if (error !== undefined || !data) throw await failure(response, error);
  return data;
}

export async function decide(id: string, action: "acknowledge" | "resolve", note: string) {
  const path = action === "acknowledge" ? "/api/v1/events/{id}/acknowledge/" : "/api/v1/events/{id}/resolve/";
  const { data, error, response } = await api.POST(path, { params: { path: { id } }, body: { note } });
  if (error !== undefined || !data) throw await failure(response, error);
  return data;
}

export async function classify(id: string, classification: "true_positive" | "false_positive", notes: string) {
  const { data, error, response } = await api.POST("/api/v1/events/{id}/classify/", {
    params: { path: { id } }, body: { classification, notes },
  });
  if (error !== undefined || !data) throw await failure(response, error);
  return data;
}

/** After an operator's action: the detail they changed, every list and the dashboard's counts. */
export function refreshAfterAction(queryClient: QueryClient, changed: components["schemas"]["Event"][] = []): void {
  for (const event of changed) queryClient.setQueryData(eventDetail(event.id).queryKey, event);
  // The evidence (bundle, decoded audio, chart) does not change with a decision: kept as it is.
  void queryClient.invalidateQueries({ queryKey: ["events"],
    predicate: (q) => !String(q.queryKey[1]).startsWith("evidence") });
  void queryClient.invalidateQueries({ queryKey: ["dashboard"] });
}

/** The classifier version that scored an event (its number for the page; it never changes). */
export function modelVersionQuery(id: string) {
  return queryOptions({
    queryKey: ["models", "version", id],
    queryFn: () => unwrap(api.GET("/api/v1/models/{id}/", { params: { path: { id } } })),
    staleTime: Infinity,
    retry: false,
  });
}
