/** The events area's routes, under the signed-in frame. */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { EventsPage } from "./EventsPage";

export const eventsRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/events",
  component: EventsPage,
});

export const eventsRoutes = [eventsRoute] as const;
