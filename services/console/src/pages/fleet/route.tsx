/**
 * The fleet area's routes, under the signed-in frame: the list and map
 * (``/fleet?q=&status=OFF&kind=phone``) and one device (``/fleet/<id>?metric=audio_peak``).
 */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { validateFleetSearch } from "./filters";
import { METRICS, type Metric } from "./series";

// The pages load when first visited: they are not part of the console's first download.

export const fleetRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/fleet",
  validateSearch: validateFleetSearch,
  component: lazyRouteComponent(() => import("./FleetPage"), "FleetPage"),
});

export const deviceRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/fleet/$id",
  validateSearch: (search: Record<string, unknown>): { metric?: Metric } =>
    (METRICS as readonly unknown[]).includes(search.metric) ? { metric: search.metric as Metric } : {},
  component: lazyRouteComponent(() => import("./DeviceDetailPage"), "DeviceDetailPage"),
});

export const fleetRoutes = [fleetRoute, deviceRoute] as const;
