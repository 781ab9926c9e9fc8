/**
 * The routes every page hangs from: the root, sign-in, and the signed-in frame. Each area of the
 * console (src/pages/<area>/route.tsx) adds its routes under {@link signedInRoute}; src/router.tsx
 * assembles the tree. What a view shows (time ranges, filters) lives in the URL's search params,
 * validated by its route, so every view is a link an operator can share.
 */
import { createRootRoute, createRoute, Outlet, redirect } from "@tanstack/react-router";

import { session } from "@/app";
import { safeRedirect } from "@/lib/redirect";
import { AppLayout } from "@/pages/AppLayout";
import { SignInPage } from "@/pages/SignIn";

export const rootRoute = createRootRoute({ component: Outlet });

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

export const signedInRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "signed-in",
  beforeLoad: ({ location }) => {
    if (session.current.status !== "signed-in") {
      throw redirect({ to: "/sign-in", search: { redirect: location.href } });
    }
  },
  component: AppLayout,
});
