/** What the models page reads from control (versions, training runs) and asks of it (activate, train). */
import { queryOptions } from "@tanstack/react-query";

import { unwrap } from "@/api/client";
import { api } from "@/app";
import { orRefusal } from "@/pages/settings/queries";

import { runsPollInterval } from "./metrics";

export const models = queryOptions({
  queryKey: ["models", "versions"],
  // Newest version first, whatever order the page came in.
  queryFn: async () => (await unwrap(api.GET("/api/v1/models/", { params: { query: { limit: 100 } } }))).results
    .sort((a, b) => b.version - a.version),
});

export const trainingRuns = queryOptions({
  queryKey: ["models", "training-runs"],
  queryFn: async () => (await unwrap(api.GET("/api/v1/models/training-runs/", {
    params: { query: { limit: 10 } },
  }))).results.sort((a, b) => b.created_at.localeCompare(a.created_at)),
  refetchInterval: (query) => runsPollInterval(query.state.data),
});

export function activate(id: string) {
  return orRefusal(api.POST("/api/v1/models/{id}/activate/", { params: { path: { id } } }));
}

export function train() {
  return orRefusal(api.POST("/api/v1/models/train/"));
}
