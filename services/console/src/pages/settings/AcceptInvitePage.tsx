/**
 * Accepting an invitation: the invitee opens the link an admin gave them
 * (``/accept-invite#token=…``; the fragment never reaches a server's logs), chooses a password and
 * is signed in. ``acceptInviteRoute`` hangs from the root, outside the signed-in frame.
 */
import { createRoute, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, session } from "@/app";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { rootRoute } from "@/routes/base";

import { refusal } from "./queries";

function tokenInLink(): string {
  return new URLSearchParams(window.location.hash.replace(/^#/, "")).get("token") ?? "";
}

export function AcceptInvitePage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = String(form.get("password"));
    setBusy(true);
    setError(null);
    const { data, error: refused, response } = await api.POST("/api/v1/auth/accept-invite", {
      body: { token: String(form.get("token")).trim(), password },
    });
    if (!data) {
      setBusy(false);
      setError(refusal(refused, response.status));
      return;
    }
    // Signed in the console's way (refresh token in the httpOnly cookie) with the password just chosen.
    const signedIn = await session.signIn(data.user.email, password);
    setBusy(false);
    if (signedIn.ok) await navigate({ to: "/", search: { hours: 24 } });
    else await navigate({ to: "/sign-in", search: {} });
  }

  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <Card className="w-full max-w-sm">
        <CardHeader>
          <h1 className="text-xl font-semibold">{t("settings.acceptInvite.title")}</h1>
          <p className="text-sm text-muted-foreground">{t("settings.acceptInvite.subtitle")}</p>
        </CardHeader>
        <CardContent>
          <form className="flex flex-col gap-4" onSubmit={submit} noValidate>
            <div className="flex flex-col gap-2">
              <Label htmlFor="invite-token">{t("settings.acceptInvite.token")}</Label>
              <Input id="invite-token" name="token" required defaultValue={tokenInLink()} autoComplete="off" />
            </div>
            <div className="flex flex-col gap-2">
              <Label htmlFor="invite-password">{t("settings.acceptInvite.password")}</Label>
              <Input id="invite-password" name="password" type="password" required autoComplete="new-password" />
            </div>
            {error && <p className="text-sm text-destructive" role="alert">{error}</p>}
            <Button type="submit" disabled={busy}>{t("settings.acceptInvite.submit")}</Button>
          </form>
        </CardContent>
      </Card>
    </main>
  );
}

/** Mounted by src/router.tsx beside sign-in, outside the signed-in frame. */
export const acceptInviteRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/accept-invite",
  component: AcceptInvitePage,
});
