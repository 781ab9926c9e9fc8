/** The events area: not built yet (issue #13). */
import { useTranslation } from "react-i18next";

export function EventsPage() {
  const { t } = useTranslation();
  return (
    <main className="p-4">
      <h1 className="text-xl font-semibold">{t("events.title")}</h1>
    </main>
  );
}
