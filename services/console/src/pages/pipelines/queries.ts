/** The pipelines area's reads and writes of control's API, as TanStack Query options and calls. */
import { queryOptions } from "@tanstack/react-query";

import { api } from "@/app";
import type { components } from "@/api/schema";
import { unwrap } from "@/api/client";

import type { Graph, NodeTypeSpec, Problems } from "./graph";

export type Pipeline = components["schemas"]["Pipeline"];
export type NodeCounters = components["schemas"]["NodeCounters"];
export type PipelineRun = components["schemas"]["PipelineRun"];
export type DryRunResult = components["schemas"]["DryRunResult"];
export type VersionSummary = components["schemas"]["PipelineVersionSummary"];

/** A refused write: the API's message and the fields it names. */
export class ApiProblem extends Error {
  constructor(readonly status: number, message: string, readonly fields: Problems) {
    super(message);
  }
}

async function answer<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || data === undefined) {
    const detail = (error as { error?: { message?: string; fields?: Problems } } | undefined)?.error;
    throw new ApiProblem(response.status, detail?.message ?? `${response.status}`, detail?.fields ?? {});
  }
  return data;
}

export const COUNTERS_POLL_MS = 5_000;

export const pipelineQueries = {
  list: (search: string) => queryOptions({
    queryKey: ["pipelines", "list", search],
    queryFn: () => unwrap(api.GET("/api/v1/pipelines/", { params: { query: { limit: 200, ...(search ? { search } : {}) } } })),
  }),
  nodeTypes: queryOptions({
    queryKey: ["pipelines", "node-types"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/pipelines/node-types/"))) as unknown as NodeTypeSpec[],
    staleTime: Infinity,
  }),
  one: (id: string) => queryOptions({
    queryKey: ["pipelines", id],
    queryFn: () => unwrap(api.GET("/api/v1/pipelines/{id}/", { params: { path: { id } } })),
  }),
  counters: (id: string) => queryOptions({
    queryKey: ["pipelines", id, "counters"],
    queryFn: () => unwrap(api.GET("/api/v1/pipelines/{id}/counters/", { params: { path: { id } } })),
    refetchInterval: COUNTERS_POLL_MS,
    staleTime: 0,
  }),
  runs: (id: string) => queryOptions({
    queryKey: ["pipelines", id, "runs"],
    queryFn: () => unwrap(api.GET("/api/v1/pipelines/{id}/runs/", { params: { path: { id }, query: { limit: 20 } } })),
    refetchInterval: COUNTERS_POLL_MS,
    staleTime: 0,
  }),
  versions: (id: string) => queryOptions({
    queryKey: ["pipelines", id, "versions"],
    queryFn: () => unwrap(api.GET("/api/v1/pipelines/{id}/versions/", { params: { path: { id } } })),
  }),
  version: (id: string, number: number | null) => queryOptions({
    queryKey: ["pipelines", id, "versions", number],
    queryFn: async () => (number === null ? null
      : unwrap(api.GET("/api/v1/pipelines/{id}/versions/{number}/", { params: { path: { id, number } } }))),
    staleTime: Infinity,
  }),
};

export function createPipeline(name: string, graph: Graph): Promise<Pipeline> {
  return answer(api.POST("/api/v1/pipelines/", { body: { name, graph } }));
}

export function savePipeline(id: string, graph: Graph, name?: string): Promise<Pipeline> {
  return answer(api.PATCH("/api/v1/pipelines/{id}/", { params: { path: { id } }, body: { graph, ...(name ? { name } : {}) } }));
}

export function executePipeline(id: string): Promise<Pipeline> {
  return answer(api.POST("/api/v1/pipelines/{id}/execute/", { params: { path: { id } } }));
}

export function stopPipeline(id: string): Promise<Pipeline> {
  return answer(api.POST("/api/v1/pipelines/{id}/stop/", { params: { path: { id } } }));
}

export function deletePipeline(id: string): Promise<unknown> {
  return answer(api.DELETE("/api/v1/pipelines/{id}/", { params: { path: { id } } }).then((r) => ({ ...r, data: r.error ? undefined : {} })));
}

export interface DryRunItem {
  kind: components["schemas"]["DryRunItemRequest"]["kind"];
  source: string;
  data: Record<string, unknown>;
}

/** The draft ``graph`` (saved or not) run on ``item`` — ``node`` alone when given; nothing is sent. */
export function dryRun(graph: Graph, item: DryRunItem, node?: string): Promise<DryRunResult> {
  return answer(api.POST("/api/v1/pipelines/dry-run/", { body: { graph, item, saved_state: false, ...(node ? { node } : {}) } }));
}
