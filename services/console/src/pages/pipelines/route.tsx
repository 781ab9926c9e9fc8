/** The pipelines area's routes, under the signed-in frame. */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { PipelinesPage } from "./PipelinesPage";

export const pipelinesRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/pipelines",
  component: PipelinesPage,
});

export const pipelinesRoutes = [pipelinesRoute] as const;
