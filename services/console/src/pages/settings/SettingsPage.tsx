/** The settings area's frame: its title, the sections as tabs (links), and the section's page. */
import { Link, Outlet } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";

const SECTIONS = [
  { to: "/settings/users", key: "users" },
  { to: "/settings/channels", key: "channels" },
  { to: "/settings/organization", key: "organization" },
  { to: "/settings/audit", key: "audit" },
] as const;

export function SettingsPage() {
  const { t } = useTranslation();
  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-semibold">{t("settings.title")}</h1>
      <nav aria-label={t("settings.sections")} className="-mx-1 flex gap-1 overflow-x-auto border-b pb-2 text-sm">
        {SECTIONS.map((section) => (
          <Link
            key={section.key}
            to={section.to}
            activeOptions={{ includeSearch: false }}
            className="shrink-0 rounded-md px-3 py-1.5 text-muted-foreground hover:bg-accent hover:text-accent-foreground focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-ring data-[status=active]:bg-accent data-[status=active]:font-medium data-[status=active]:text-foreground"
          >
            {t(`settings.tabs.${section.key}`)}
          </Link>
        ))}
      </nav>
      <Outlet />
    </main>
  );
}
