/**
 * The frame of every signed-in page: a skip link, the areas' navigation (Faces for operators and
 * admins; Models and Settings only for admins; icons alone on a phone, each still named), who is
 * signed in, the language, light/dark, sign out, and the idle session time-out (the organization's ``session_idle_minutes``).
 */
import { useQuery } from "@tanstack/react-query";
import { Link, Outlet } from "@tanstack/react-router";
import {
  Bell, BrainCircuit, Camera, Car, LayoutDashboard, type LucideIcon, Moon, ScanFace, Settings, Smartphone, Sun, Workflow,
} from "lucide-react";
import { useCallback } from "react";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { allows, type Role, useRole } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { organizationSettingsQuery } from "@/pages/dashboard-queries";
import { LanguagePicker } from "@/pages/LanguagePicker";
import { DEFAULT_IDLE_MINUTES, useIdleTimeout } from "@/pages/shell/idle";
import { toggled, useResolvedTheme, useTheme } from "@/pages/shell/theme";

/** The console's areas, in the order the navigation shows them, and the role each needs. */
export const AREAS: readonly { to: string; key: string; icon: LucideIcon; role: Role }[] = [
  { to: "/", key: "dashboard", icon: LayoutDashboard, role: "viewer" },
  { to: "/cameras", key: "cameras", icon: Camera, role: "viewer" },
  { to: "/plates", key: "plates", icon: Car, role: "viewer" },
  { to: "/events", key: "events", icon: Bell, role: "viewer" },
  { to: "/fleet", key: "fleet", icon: Smartphone, role: "viewer" },
  { to: "/pipelines", key: "pipelines", icon: Workflow, role: "viewer" },
  { to: "/faces", key: "faces", icon: ScanFace, role: "operator" },
  { to: "/models", key: "models", icon: BrainCircuit, role: "admin" },
  { to: "/settings", key: "settings", icon: Settings, role: "admin" },
];

function ThemeToggle() {
  const { t } = useTranslation();
  const theme = useResolvedTheme();
  const choose = useTheme((state) => state.choose);
  const Icon = theme === "dark" ? Moon : Sun;
  return (
    <Button variant="outline" size="sm" aria-pressed={theme === "dark"} aria-label={t("nav.darkTheme")}
      title={t("nav.darkTheme")} data-testid="theme-toggle" onClick={() => choose(toggled(theme))}>
      <Icon aria-hidden className="size-4" />
    </Button>
  );
}

export function AppLayout() {
  const { t } = useTranslation();
  const role = useRole();
  const state = session.current;
  const user = state.status === "signed-in" ? state.user : null;
  const settings = useQuery({ ...organizationSettingsQuery, enabled: role !== undefined });
  const idleMinutes = settings.data?.session_idle_minutes ?? DEFAULT_IDLE_MINUTES;
  const signOutIdle = useCallback(() => void session.signOut("idle"), []);
  useIdleTimeout(role !== undefined ? idleMinutes : null, signOutIdle);

  // Signed out (the way to sign-in is under way): draw nothing, so no page asks control for its
  // data again without a token (their queries were just cleared).
  if (role === undefined) return null;

  return (
    <div className="min-h-screen">
      <a href="#content"
        onClick={(event) => {
          event.preventDefault(); // focus the content without a router navigation to the fragment
          document.getElementById("content")?.focus();
        }}
        className="sr-only rounded-md bg-primary px-3 py-2 text-sm text-primary-foreground focus:not-sr-only focus:fixed focus:left-2 focus:top-2 focus:z-50">
        {t("app.skipToContent")}
      </a>
      <header className="flex flex-wrap items-center justify-between gap-x-4 gap-y-2 border-b px-3 py-2 sm:px-4 sm:py-3">
        <div className="flex min-w-0 items-baseline gap-3">
          <span className="text-lg font-semibold">{t("app.name")}</span>
          {user?.org && <span className="hidden truncate text-sm text-muted-foreground sm:inline">{user.org.name}</span>}
        </div>
        <div className="flex items-center gap-2 sm:gap-3">
          {user && <span className="hidden text-sm text-muted-foreground md:inline" data-testid="user-email">{user.email}</span>}
          <LanguagePicker />
          <ThemeToggle />
          <Button variant="outline" size="sm" onClick={() => void session.signOut()}>{t("app.signOut")}</Button>
        </div>
        <nav aria-label={t("nav.menu")} className="-mx-1 flex w-full justify-between gap-1 overflow-x-auto text-sm sm:justify-start">
          {AREAS.filter((area) => allows(role, area.role)).map((area) => (
            <Link
              key={area.key}
              to={area.to}
              title={t(`nav.${area.key}`)}
              activeOptions={{ exact: area.to === "/", includeSearch: false }}
              className="flex shrink-0 items-center gap-2 rounded-md px-2 py-2 sm:px-3 text-muted-foreground hover:bg-accent hover:text-accent-foreground focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-ring data-[status=active]:bg-accent data-[status=active]:font-medium data-[status=active]:text-foreground sm:py-1.5"
            >
              <area.icon aria-hidden className="size-5 sm:size-4" />
              <span className="sr-only sm:not-sr-only">{t(`nav.${area.key}`)}</span>
            </Link>
          ))}
        </nav>
      </header>
      <div id="content" tabIndex={-1} className="outline-none">
        <Outlet />
      </div>
    </div>
  );
}
