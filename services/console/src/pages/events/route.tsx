/** The events area's routes, under the signed-in frame: the list (filters in the URL) and one event. */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { EventDetailPage } from "./EventDetailPage";
import { EventsPage } from "./EventsPage";
import { validateEventSearch } from "./search";

export const eventsRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/events",
  validateSearch: validateEventSearch,
  component: EventsPage,
});

export const eventRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/events/$id",
  component: EventDetailPage,
});

export const eventsRoutes = [eventsRoute, eventRoute] as const;
