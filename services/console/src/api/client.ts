/**
 * The typed client of control's REST API: paths and bodies come from schema.d.ts, generated from
 * control's OpenAPI document (scripts/generate-api.sh), so a changed endpoint fails ``tsc``.
 * Every request carries the session's access token; a read refused with 401 is retried once after
 * a refresh (writes are not replayed: their body is spent).
 */
import createClient, { type Middleware } from "openapi-fetch";

import type { Session } from "@/auth/session";

import type { paths } from "./schema";

export type Api = ReturnType<typeof createApi>;

export function createApi(session: Session, baseUrl: string) {
  const api = createClient<paths>({ baseUrl });
  const bearer: Middleware = {
    onRequest({ request }) {
      const token = session.accessToken;
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
    async onResponse({ request, response }) {
      if (response.status !== 401 || request.method !== "GET" || !(await session.refresh())) return response;
      const retry = new Request(request);
      retry.headers.set("Authorization", `Bearer ${session.accessToken}`);
      return fetch(retry);
    },
  };
  api.use(bearer);
  return api;
}

/** The ``data`` of an openapi-fetch answer, or a thrown error TanStack Query shows as failed. */
export async function unwrap<T>(answer: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await answer;
  if (error !== undefined || data === undefined) {
    throw new Error(`${response.status} ${response.url}`);
  }
  return data;
}
