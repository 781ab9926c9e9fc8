/** The plates area's routes, under the signed-in frame. */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { PlatesPage } from "./PlatesPage";

export const platesRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/plates",
  component: PlatesPage,
});

export const platesRoutes = [platesRoute] as const;
