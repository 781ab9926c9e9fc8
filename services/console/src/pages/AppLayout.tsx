/** The frame of every signed-in page: the areas' navigation, who is signed in, the language, sign out. */
import { Link, Outlet } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { Button } from "@/components/ui/button";
import { LanguagePicker } from "@/pages/LanguagePicker";

/** The console's areas, in the order the navigation shows them. */
export const AREAS = [
  { to: "/", key: "dashboard" },
  { to: "/cameras", key: "cameras" },
  { to: "/plates", key: "plates" },
  { to: "/events", key: "events" },
  { to: "/fleet", key: "fleet" },
  { to: "/pipelines", key: "pipelines" },
  { to: "/settings", key: "settings" },
] as const;

export function AppLayout() {
  const { t } = useTranslation();
  const state = session.current;
  const user = state.status === "signed-in" ? state.user : null;
  return (
    <div className="min-h-screen">
      <header className="flex flex-wrap items-center justify-between gap-x-4 gap-y-2 border-b px-4 py-3">
        <div className="flex items-baseline gap-3">
          <span className="text-lg font-semibold">{t("app.name")}</span>
          {user?.org && <span className="text-sm text-muted-foreground">{user.org.name}</span>}
        </div>
        <div className="flex items-center gap-3">
          {user && <span className="hidden text-sm text-muted-foreground sm:inline" data-testid="user-email">{user.email}</span>}
          <LanguagePicker />
          <Button variant="outline" size="sm" onClick={() => void session.signOut()}>{t("app.signOut")}</Button>
        </div>
        <nav aria-label={t("nav.menu")} className="-mx-1 flex w-full gap-1 overflow-x-auto text-sm">
          {AREAS.map((area) => (
            <Link
              key={area.key}
              to={area.to}
              activeOptions={{ exact: area.to === "/", includeSearch: false }}
              className="shrink-0 rounded-md px-3 py-1.5 text-muted-foreground hover:bg-accent hover:text-accent-foreground focus-visible:outline-2 focus-visible:outline-ring data-[status=active]:bg-accent data-[status=active]:font-medium data-[status=active]:text-foreground"
            >
              {t(`nav.${area.key}`)}
            </Link>
          ))}
        </nav>
      </header>
      <Outlet />
    </div>
  );
}
