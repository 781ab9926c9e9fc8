/** The settings area's routes, under the signed-in frame. */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { SettingsPage } from "./SettingsPage";

export const settingsRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/settings",
  component: SettingsPage,
});

export const settingsRoutes = [settingsRoute] as const;
