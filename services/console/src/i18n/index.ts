/** i18next with pt-BR first: the language an operator picked (kept in localStorage), else pt-BR. */
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

import { en } from "./en";
import { ptBR } from "./pt-BR";

export const LANGUAGES = { "pt-BR": "Português (Brasil)", en: "English" } as const;
export type Language = keyof typeof LANGUAGES;
const STORAGE_KEY = "vigia.language";

function savedLanguage(): Language {
  const saved = typeof localStorage === "undefined" ? null : localStorage.getItem(STORAGE_KEY);
  return saved !== null && saved in LANGUAGES ? (saved as Language) : "pt-BR";
}

export function setLanguage(language: Language): void {
  localStorage.setItem(STORAGE_KEY, language);
  void i18n.changeLanguage(language);
  document.documentElement.lang = language;
}

void i18n.use(initReactI18next).init({
  resources: { "pt-BR": { translation: ptBR }, en: { translation: en } },
  lng: savedLanguage(),
  fallbackLng: "pt-BR",
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
});

export default i18n;
