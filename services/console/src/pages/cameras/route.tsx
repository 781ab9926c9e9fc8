/** The cameras area's routes, under the signed-in frame. */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { CamerasPage } from "./CamerasPage";

export const camerasRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/cameras",
  component: CamerasPage,
});

export const camerasRoutes = [camerasRoute] as const;
