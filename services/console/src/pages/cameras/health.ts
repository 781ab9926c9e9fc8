/** Camera health from the live feed (``camera_health``), written into the cached camera list and
 * the camera's own entry, so status badges change without refetching. */
import type { QueryClient } from "@tanstack/react-query";

import type { Camera } from "./queries";

const STATUSES: ReadonlySet<string> = new Set<Camera["status"]>(["provisioning", "online", "offline", "error"]);

export function withHealth(queryClient: QueryClient, camera: string, status: string): void {
  if (!STATUSES.has(status)) return;
  const next = status as Camera["status"];
  queryClient.setQueryData<{ results: Camera[] }>(["cameras", "list"], (page) => page && {
    ...page, results: page.results.map((c) => (c.id === camera ? { ...c, status: next } : c)),
  });
  queryClient.setQueryData<Camera>(["cameras", "one", camera], (found) => found && { ...found, status: next });
}
