/** The cameras area: not built yet (issue #13). */
import { useTranslation } from "react-i18next";

export function CamerasPage() {
  const { t } = useTranslation();
  return (
    <main className="p-4">
      <h1 className="text-xl font-semibold">{t("cameras.title")}</h1>
    </main>
  );
}
