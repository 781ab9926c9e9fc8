/**
 * Light or dark: the operator's choice (kept in localStorage), or the system's preference until
 * they choose. The resolved theme is a class on <html> (``dark`` or ``light``): src/index.css maps
 * it to the tokens, and Tailwind's ``dark:`` variant follows it.
 */
import { create } from "zustand";
import { persist } from "zustand/middleware";

export const THEME_CHOICES = ["system", "light", "dark"] as const;
export type ThemeChoice = (typeof THEME_CHOICES)[number];
export type Theme = "light" | "dark";

export const THEME_STORAGE_KEY = "vigia.theme";

interface ThemeState {
  choice: ThemeChoice;
  choose: (choice: ThemeChoice) => void;
}

export const useTheme = create<ThemeState>()(
  persist((set) => ({ choice: "system", choose: (choice) => set({ choice }) }), {
    name: THEME_STORAGE_KEY,
    partialize: (state) => ({ choice: state.choice }),
    merge: (saved, current) => {
      const choice = (saved as { choice?: unknown } | undefined)?.choice;
      return THEME_CHOICES.includes(choice as ThemeChoice) ? { ...current, choice: choice as ThemeChoice } : current;
    },
  }),
);

/** The theme to draw for ``choice`` when the system prefers dark (or not). */
export function resolveTheme(choice: ThemeChoice, systemDark: boolean): Theme {
  return choice === "system" ? (systemDark ? "dark" : "light") : choice;
}

/** The other theme: what the toggle switches to from the one drawn now. */
export function toggled(theme: Theme): Theme {
  return theme === "dark" ? "light" : "dark";
}

const systemDark = () => typeof window !== "undefined" && window.matchMedia?.("(prefers-color-scheme: dark)").matches;

function apply(): void {
  const theme = resolveTheme(useTheme.getState().choice, systemDark());
  const root = document.documentElement;
  root.classList.toggle("dark", theme === "dark");
  root.classList.toggle("light", theme === "light");
  root.style.colorScheme = theme;
}

/** The theme drawn now; re-renders when the choice or the system's preference changes. */
export function useResolvedTheme(): Theme {
  const choice = useTheme((state) => state.choice);
  return resolveTheme(choice, systemDark());
}

if (typeof document !== "undefined") {
  apply();
  useTheme.subscribe(apply);
  window.matchMedia?.("(prefers-color-scheme: dark)").addEventListener("change", apply);
}
