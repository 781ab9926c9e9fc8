/** The faces area's views: the face search, and the enrolment for admins. */
import { Link } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";

import { useCan } from "@/auth/roles";

const TAB = "rounded-md border px-3 py-1 text-sm";
const ACTIVE = "bg-primary text-primary-foreground";

export function FacesNav() {
  const { t } = useTranslation();
  const admin = useCan("admin");
  return (
    <nav className="flex gap-2" aria-label={t("faces.sections")}>
      <Link to="/faces" search={{}} className={TAB} activeOptions={{ exact: true, includeSearch: false }}
        activeProps={{ className: ACTIVE, "aria-current": "page" }}>
        {t("faces.search")}
      </Link>
      {admin && (
        <Link to="/faces/people" search={{}} className={TAB} activeOptions={{ includeSearch: false }}
          activeProps={{ className: ACTIVE, "aria-current": "page" }}>
          {t("faces.people")}
        </Link>
      )}
    </nav>
  );
}
