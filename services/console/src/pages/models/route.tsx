/** The false-alarm classifier's page (``/models``): its versions, their metrics, training runs. */
import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

export const modelsRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/models",
  component: lazyRouteComponent(() => import("./ModelsPage"), "ModelsPage"),
});

export const modelsRoutes = [modelsRoute] as const;
