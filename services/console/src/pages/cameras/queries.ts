/** What the cameras area reads from and writes to control. Keys start with "cameras", so any
 * change to a camera refreshes every view of cameras (the dashboard's count included). */
import { queryOptions } from "@tanstack/react-query";

import { unwrap } from "@/api/client";
import type { components } from "@/api/schema";
import { api } from "@/app";

export type Camera = components["schemas"]["Camera"];
export type CameraRequest = components["schemas"]["CameraRequest"];
export type ProbeResult = components["schemas"]["ProbeResult"];
export type ApiError = components["schemas"]["Error"];

const PAGE = 500;

export const camerasList = queryOptions({
  queryKey: ["cameras", "list"],
  queryFn: async () => unwrap(api.GET("/api/v1/cameras/", { params: { query: { limit: PAGE } } })),
});

export function cameraQuery(id: string) {
  return queryOptions({
    queryKey: ["cameras", "one", id],
    queryFn: () => unwrap(api.GET("/api/v1/cameras/{id}/", { params: { path: { id } } })),
  });
}

/** The field errors of an API answer (``{"error": {"fields": {...}}}``), and its message. */
export function fieldErrors(error: unknown): { message: string; fields: Record<string, string[]> } {
  const detail = (error as ApiError | undefined)?.error;
  return { message: detail?.message ?? "", fields: detail?.fields ?? {} };
}
