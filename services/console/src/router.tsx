/** The route tree: sign-in, accepting an invitation, and every area of the console under the signed-in frame. */
import { createRoute, createRouter } from "@tanstack/react-router";

import { camerasRoutes } from "@/pages/cameras/route";
import { DashboardPage } from "@/pages/Dashboard";
import { eventsRoutes } from "@/pages/events/route";
import { facesRoutes } from "@/pages/faces/route";
import { fleetRoutes } from "@/pages/fleet/route";
import { modelsRoutes } from "@/pages/models/route";
import { pipelinesRoutes } from "@/pages/pipelines/route";
import { platesRoutes } from "@/pages/plates/route";
import { acceptInviteRoute } from "@/pages/settings/AcceptInvitePage";
import { settingsRoutes } from "@/pages/settings/route";
import { rootRoute, signedInRoute, signInRoute } from "@/routes/base";

export const RANGES = [24, 168] as const;
export type RangeHours = (typeof RANGES)[number];

export const dashboardRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/",
  validateSearch: (search: Record<string, unknown>): { hours: RangeHours } => ({
    hours: Number(search.hours) === 168 ? 168 : 24,
  }),
  component: DashboardPage,
});

export const router = createRouter({
  routeTree: rootRoute.addChildren([
    signInRoute,
    acceptInviteRoute,
    signedInRoute.addChildren([
      dashboardRoute,
      ...camerasRoutes,
      ...platesRoutes,
      ...eventsRoutes,
      ...fleetRoutes,
      ...pipelinesRoutes,
      ...facesRoutes,
      ...modelsRoutes,
      ...settingsRoutes,
    ]),
  ]),
  defaultPreload: "intent",
});

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
