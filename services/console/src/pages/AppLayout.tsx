/** The frame of every signed-in page: who is signed in, the language, sign out. */
import { Outlet } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { Button } from "@/components/ui/button";
import { LanguagePicker } from "@/pages/LanguagePicker";

export function AppLayout() {
  const { t } = useTranslation();
  const state = session.current;
  const user = state.status === "signed-in" ? state.user : null;
  return (
    <div className="min-h-screen">
      <header className="flex items-center justify-between gap-4 border-b px-4 py-3">
        <div className="flex items-baseline gap-3">
          <span className="text-lg font-semibold">{t("app.name")}</span>
          {user?.org && <span className="text-sm text-muted-foreground">{user.org.name}</span>}
        </div>
        <div className="flex items-center gap-3">
          {user && <span className="hidden text-sm text-muted-foreground sm:inline" data-testid="user-email">{user.email}</span>}
          <LanguagePicker />
          <Button variant="outline" size="sm" onClick={() => void session.signOut()}>{t("app.signOut")}</Button>
        </div>
      </header>
      <Outlet />
    </div>
  );
}
