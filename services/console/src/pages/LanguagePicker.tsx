import { useTranslation } from "react-i18next";

import { type Language, LANGUAGES, setLanguage } from "@/i18n";

export function LanguagePicker() {
  const { t, i18n } = useTranslation();
  return (
    <select
      aria-label={t("app.language")}
      className="h-8 rounded-md border bg-background px-2 text-xs"
      value={i18n.language}
      onChange={(event) => setLanguage(event.target.value as Language)}
    >
      {Object.entries(LANGUAGES).map(([code, name]) => (
        <option key={code} value={code}>{name}</option>
      ))}
    </select>
  );
}
