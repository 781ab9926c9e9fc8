/**
 * The pipelines area's routes, under the signed-in frame: the list (``?q=`` name filter) and one
 * pipeline's builder (``?node=`` the selected node), so both are links an operator can share.
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

export interface PipelinesSearch {
  q?: string;
}

export interface PipelineSearch {
  node?: string;
}

const text = (value: unknown, max: number): string | undefined =>
  typeof value === "string" && value.trim() ? value.trim().slice(0, max) : undefined;

export const pipelinesRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/pipelines",
  validateSearch: (search: Record<string, unknown>): PipelinesSearch => {
    const q = text(search.q, 200);
    return q ? { q } : {};
  },
  // Loaded when first opened: the builder's libraries (xyflow, RJSF, elk) stay out of the first page's JavaScript.
  component: lazyRouteComponent(() => import("./PipelinesPage"), "PipelinesPage"),
});

export const pipelineRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/pipelines/$id",
  validateSearch: (search: Record<string, unknown>): PipelineSearch => {
    const node = text(search.node, 64);
    return node ? { node } : {};
  },
  component: lazyRouteComponent(() => import("./PipelineBuilderPage"), "PipelineBuilderPage"),
});

export const pipelinesRoutes = [pipelinesRoute, pipelineRoute] as const;
