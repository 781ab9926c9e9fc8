/** Sign-in: e-mail and password; the refresh token goes to an httpOnly cookie (see auth/session). */
import { useNavigate, useSearch } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import type { SignInError } from "@/auth/session";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { LanguagePicker } from "@/pages/LanguagePicker";

export function SignInPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const search = useSearch({ from: "/sign-in" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code: SignInError; minutes: number } | null>(null);
  const previous = session.current;
  const notice =
    previous.status === "signed-out" && previous.reason === "expired" ? t("signIn.expired")
      : previous.status === "signed-out" && previous.reason === "logged-out" ? t("signIn.loggedOut")
        : previous.status === "signed-out" && previous.reason === "idle" ? t("signIn.idle") : null;

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    const result = await session.signIn(String(form.get("email")), String(form.get("password")));
    setBusy(false);
    if (result.ok) {
      await navigate({ href: search.redirect ?? "/" });
    } else {
      setError({ code: result.error, minutes: Math.ceil((result.retryAfterS ?? 60) / 60) });
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <Card className="w-full max-w-sm">
        <CardHeader>
          <h1 className="text-xl font-semibold">{t("signIn.title")}</h1>
          <p className="text-sm text-muted-foreground">{t("signIn.subtitle")}</p>
        </CardHeader>
        <CardContent>
          <form className="flex flex-col gap-4" onSubmit={submit} noValidate>
            {notice && !error && <p className="text-sm text-muted-foreground" role="status">{notice}</p>}
            <div className="flex flex-col gap-2">
              <Label htmlFor="email">{t("signIn.email")}</Label>
              <Input id="email" name="email" type="email" autoComplete="username" required autoFocus />
            </div>
            <div className="flex flex-col gap-2">
              <Label htmlFor="password">{t("signIn.password")}</Label>
              <Input id="password" name="password" type="password" autoComplete="current-password" required />
            </div>
            {error && (
              <p className="text-sm text-destructive" role="alert">
                {t(`signIn.errors.${error.code}`, { minutes: error.minutes })}
              </p>
            )}
            <Button type="submit" disabled={busy}>{busy ? t("signIn.submitting") : t("signIn.submit")}</Button>
          </form>
          <div className="mt-4 flex justify-end"><LanguagePicker /></div>
        </CardContent>
      </Card>
    </main>
  );
}
