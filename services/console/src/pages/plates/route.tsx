/**
 * The plates area's routes, under the signed-in frame: passages and the tolerant search
 * (``/plates?q=&camera=&site=&since=&until=``), a plate's history (``/plates/ABC1D23``) and the
 * watch-lists (``/plates/watchlists?list=``).
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { validatePlatesSearch } from "./filters";

// The pages load when first visited: they are not part of the console's first download.

export const platesRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/plates",
  validateSearch: validatePlatesSearch,
  component: lazyRouteComponent(() => import("./PlatesPage"), "PlatesPage"),
});

export const plateHistoryRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/plates/$plate",
  validateSearch: (search: Record<string, unknown>): { lookAlikes?: boolean } =>
    search.lookAlikes === true || search.lookAlikes === "true" ? { lookAlikes: true } : {},
  component: lazyRouteComponent(() => import("./PlateHistoryPage"), "PlateHistoryPage"),
});

export const watchlistsRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/plates/watchlists",
  validateSearch: (search: Record<string, unknown>): { list?: string } =>
    typeof search.list === "string" && /^[0-9a-f-]{36}$/i.test(search.list) ? { list: search.list } : {},
  component: lazyRouteComponent(() => import("./WatchlistsPage"), "WatchlistsPage"),
});

export const platesRoutes = [platesRoute, watchlistsRoute, plateHistoryRoute] as const;
