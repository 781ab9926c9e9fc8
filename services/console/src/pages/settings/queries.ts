/** What the settings area reads from control, and the one way it turns a refusal into words. */
import { keepPreviousData, queryOptions } from "@tanstack/react-query";

import type { components } from "@/api/schema";
import { unwrap } from "@/api/client";
import { api } from "@/app";

import type { AuditSearch } from "./audit-search";

export type User = components["schemas"]["User"];
export type Channel = components["schemas"]["Channel"];
export type ChannelKind = components["schemas"]["ChannelKind"];
export type Delivery = components["schemas"]["Delivery"];
export type AuditEntry = components["schemas"]["AuditEntry"];
export type OrganizationSettings = components["schemas"]["OrganizationSettings"];

/** A refusal of control's as one line: its message, then each field at fault with its problems. */
export function refusal(error: unknown, status?: number): string {
  const detail = (error as { error?: { message?: string; fields?: Record<string, string[]> } } | undefined)?.error;
  if (!detail?.message) return status ? `HTTP ${status}` : String(error);
  const fields = Object.entries(detail.fields ?? {}).map(([field, problems]) => `${field}: ${problems.join(" ")}`);
  const extra = fields.filter((line) => !detail.message!.includes(line.split(": ").slice(1).join(": ")));
  return [detail.message, ...extra].join(" · ");
}

/** Control refused: its words (``message``), its machine ``code`` and the HTTP status. */
export class Refusal extends Error {
  constructor(message: string, readonly code: string | undefined, readonly status: number) {
    super(message);
  }
}

/** The answer's data, or a {@link Refusal} whose message is control's (shown as it is). */
export async function orRefusal<T>(answer: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await answer;
  if (error !== undefined || !response.ok) {
    const code = (error as { error?: { code?: string } } | undefined)?.error?.code;
    throw new Refusal(refusal(error, response.status), code, response.status);
  }
  return data as T;
}

const PAGE = 200;

export const users = queryOptions({
  queryKey: ["settings", "users"],
  queryFn: async () => (await unwrap(api.GET("/api/v1/users/", { params: { query: { limit: PAGE } } }))).results,
});

export const channels = queryOptions({
  queryKey: ["settings", "channels"],
  queryFn: async () => (await unwrap(api.GET("/api/v1/channels/", { params: { query: { limit: PAGE } } }))).results,
});

export const channelKinds = queryOptions({
  queryKey: ["settings", "channel-kinds"],
  queryFn: () => unwrap(api.GET("/api/v1/channels/kinds/")),
  staleTime: Infinity,
});

export function deliveries(channel: string) {
  return queryOptions({
    queryKey: ["settings", "channels", channel, "deliveries"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/channels/{id}/deliveries/", {
      params: { path: { id: channel }, query: { limit: 20 } },
    }))).results,
    refetchInterval: 3_000,
  });
}

export function audit(search: AuditSearch, cursor: string | undefined) {
  return queryOptions({
    queryKey: ["settings", "audit", search, cursor ?? null],
    queryFn: () => unwrap(api.GET("/api/v1/audit/", { params: { query: { ...search, cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

/** The cursor of a page link control answered (``next``), for the next request. */
export function cursorOf(link: string | null | undefined): string | undefined {
  if (!link) return undefined;
  return new URL(link, "http://x").searchParams.get("cursor") ?? undefined;
}
