/**
 * The faces area's routes, under the signed-in frame: the face search (``/faces?person=&camera=
 * &since=&until=&known=``, operators and admins) and the enrolment (``/faces/people?person=``,
 * admins). A viewer is sent to the dashboard; control refuses them anyway.
 */
import { createRoute, lazyRouteComponent, redirect } from "@tanstack/react-router";

import { session } from "@/app";
import { allows, type Role } from "@/auth/roles";
import { signedInRoute } from "@/routes/base";

import { validateFaceSearch } from "./filters";

function atLeast(role: Role) {
  return () => {
    const state = session.current;
    if (state.status !== "signed-in" || !allows(state.user.role, role)) throw redirect({ to: "/", search: { hours: 24 } });
  };
}

export const facesRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/faces",
  validateSearch: validateFaceSearch,
  beforeLoad: atLeast("operator"),
  component: lazyRouteComponent(() => import("./SearchPage"), "SearchPage"),
});

export const peopleRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/faces/people",
  validateSearch: (search: Record<string, unknown>): { person?: string } =>
    typeof search.person === "string" && /^[0-9a-f-]{36}$/i.test(search.person) ? { person: search.person } : {},
  beforeLoad: atLeast("admin"),
  component: lazyRouteComponent(() => import("./PeoplePage"), "PeoplePage"),
});

export const facesRoutes = [facesRoute, peopleRoute] as const;
