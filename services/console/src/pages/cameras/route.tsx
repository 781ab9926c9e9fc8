/** The cameras area's routes, under the signed-in frame: the grid (its filter in the URL), a
 * camera's details with its zones, and the add/edit form. */
import { createRoute } from "@tanstack/react-router";

import { signedInRoute } from "@/routes/base";

import { CameraDetailPage } from "./CameraDetailPage";
import { CameraFormPage } from "./CameraFormPage";
import { CamerasPage } from "./CamerasPage";
import { parseCamerasSearch } from "./filter";

export const camerasRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/cameras",
  validateSearch: parseCamerasSearch,
  component: CamerasPage,
});

export const newCameraRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/cameras/new",
  component: CameraFormPage,
});

export const cameraRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/cameras/$id",
  component: CameraDetailPage,
});

export const editCameraRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/cameras/$id/edit",
  component: CameraFormPage,
});

export const camerasRoutes = [camerasRoute, newCameraRoute, cameraRoute, editCameraRoute] as const;
