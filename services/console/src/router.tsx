/**
 * Routes. What a view shows (the time range, later filters) lives in the URL's search params,
 * validated here, so every view is a link an operator can share.
 */
import { createRootRoute, createRoute, createRouter, Outlet, redirect } from "@tanstack/react-router";

import { session } from "@/app";
import { safeRedirect } from "@/lib/redirect";
import { AppLayout } from "@/pages/AppLayout";
import { DashboardPage } from "@/pages/Dashboard";
import { SignInPage } from "@/pages/SignIn";

const rootRoute = createRootRoute({ component: Outlet });

export const signInRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/sign-in",
  validateSearch: (search: Record<string, unknown>): { redirect?: string } =>
    typeof search.redirect === "string" ? { redirect: safeRedirect(search.redirect) } : {},
  // Already signed in (another tab, a reload): straight to where the link pointed.
  beforeLoad: ({ search }) => {
    if (session.current.status === "signed-in") throw redirect({ href: search.redirect ?? "/" });
  },
  component: SignInPage,
});

const signedInRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "signed-in",
  beforeLoad: ({ location }) => {
    if (session.current.status !== "signed-in") {
      throw redirect({ to: "/sign-in", search: { redirect: location.href } });
    }
  },
  component: AppLayout,
});

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
  routeTree: rootRoute.addChildren([signInRoute, signedInRoute.addChildren([dashboardRoute])]),
  defaultPreload: "intent",
});

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
