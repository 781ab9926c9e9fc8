/** The fleet area's routes, under the signed-in frame. */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { FleetPage } from "./FleetPage";

export const fleetRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/fleet",
  component: FleetPage,
});

export const fleetRoutes = [fleetRoute] as const;
