/**
 * The fleet area's routes, under the signed-in frame: the list and map
 * (``/fleet?q=&status=OFF&kind=phone``) and one device (``/fleet/<id>?metric=audio_peak``).
 */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { DeviceDetailPage } from "./DeviceDetailPage";
import { validateFleetSearch } from "./filters";
import { FleetPage } from "./FleetPage";
import { METRICS, type Metric } from "./series";

export const fleetRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/fleet",
  validateSearch: validateFleetSearch,
  component: FleetPage,
});

export const deviceRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/fleet/$id",
  validateSearch: (search: Record<string, unknown>): { metric?: Metric } =>
    (METRICS as readonly unknown[]).includes(search.metric) ? { metric: search.metric as Metric } : {},
  component: DeviceDetailPage,
});

export const fleetRoutes = [fleetRoute, deviceRoute] as const;
