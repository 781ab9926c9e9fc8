/** The plates area's two views: passages (and search) and watch-lists. */
import { Link } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";

const TAB = "rounded-md border px-3 py-1 text-sm";
const ACTIVE = "bg-primary text-primary-foreground";

export function PlatesNav() {
  const { t } = useTranslation();
  return (
    <nav className="flex gap-2" aria-label={t("plates.sections")}>
      <Link to="/plates" search={{}} className={TAB} activeOptions={{ exact: true, includeSearch: false }}
        activeProps={{ className: ACTIVE, "aria-current": "page" }}>
        {t("plates.passages")}
      </Link>
      <Link to="/plates/watchlists" search={{}} className={TAB} activeOptions={{ includeSearch: false }}
        activeProps={{ className: ACTIVE, "aria-current": "page" }}>
        {t("plates.watchlists")}
      </Link>
    </nav>
  );
}
