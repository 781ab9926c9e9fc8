/**
 * The settings area's routes, under the signed-in frame, for admins only (anyone else is sent to
 * the dashboard; control refuses them anyway): users, notification channels, the organization and
 * the audit log, whose filters live in the URL. ``/settings`` opens the users.
 */
import { createRoute, redirect } from "@tanstack/react-router";

import { session } from "@/app";
import { allows } from "@/auth/roles";
import { signedInRoute } from "@/routes/base";

import { parseAuditSearch } from "./audit-search";
import { AuditPage } from "./AuditPage";
import { ChannelsPage } from "./ChannelsPage";
import { OrganizationPage } from "./OrganizationPage";
import { SettingsPage } from "./SettingsPage";
import { UsersPage } from "./UsersPage";

export const settingsRoute = createRoute({
  getParentRoute: () => signedInRoute,
  path: "/settings",
  beforeLoad: () => {
    const state = session.current;
    if (state.status !== "signed-in" || !allows(state.user.role, "admin")) throw redirect({ to: "/", search: { hours: 24 } });
  },
  component: SettingsPage,
});

const settingsIndexRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: "/",
  beforeLoad: () => {
    throw redirect({ to: "/settings/users" });
  },
});

export const usersRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: "/users",
  component: UsersPage,
});

export const channelsRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: "/channels",
  validateSearch: (search: Record<string, unknown>): { channel?: string } =>
    typeof search.channel === "string" && /^[0-9a-f-]{36}$/i.test(search.channel) ? { channel: search.channel } : {},
  component: ChannelsPage,
});

export const organizationRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: "/organization",
  component: OrganizationPage,
});

export const auditRoute = createRoute({
  getParentRoute: () => settingsRoute,
  path: "/audit",
  validateSearch: parseAuditSearch,
  component: AuditPage,
});

export const settingsRoutes = [
  settingsRoute.addChildren([settingsIndexRoute, usersRoute, channelsRoute, organizationRoute, auditRoute]),
] as const;
