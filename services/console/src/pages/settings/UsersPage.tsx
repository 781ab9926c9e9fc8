/**
 * Users and roles: invite a person (the invitation's code, and its link when this console has the
 * accept page, are shown once), change a role, deactivate or reactivate, clear sign-in lock-outs.
 * Control refuses a change that would leave the organization without an admin who can sign in
 * (409); its message is shown as it is.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, session } from "@/app";
import type { Role } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { formatDateTime } from "@/lib/format";

import { Field, type Outcome, OutcomeLine, Select, TD, TH, useTimeZone } from "./parts";
import { orRefusal, Refusal, type User, users } from "./queries";

const ROLES: Role[] = ["admin", "operator", "viewer"];

interface Invitation {
  email: string;
  token: string;
}

function InvitationBox({ invitation, onClose }: { invitation: Invitation; onClose: () => void }) {
  const { t } = useTranslation();
  const router = useRouter();
  const [copied, setCopied] = useState<string | null>(null);
  // The link works only where the console has the accept page; the code works everywhere.
  const link = "/accept-invite" in router.routesByPath
    ? `${window.location.origin}/accept-invite#token=${encodeURIComponent(invitation.token)}` : null;
  const copy = (what: string, text: string) => {
    void navigator.clipboard?.writeText(text).then(() => setCopied(what), () => setCopied(null));
  };
  return (
    <section aria-labelledby="invitation-title" className="flex flex-col gap-3 rounded-lg border border-amber-500/60 bg-amber-500/10 p-4" data-testid="invitation">
      <h3 id="invitation-title" className="font-medium">{t("settings.users.invitedTitle", { email: invitation.email })}</h3>
      <p className="text-sm">{t("settings.users.invitedOnce")}</p>
      {[["token", t("settings.users.invitationToken"), invitation.token] as const,
        ...(link ? [["link", t("settings.users.invitationLink"), link] as const] : [])].map(([what, label, text]) => (
        <Field key={what} id={`invitation-${what}`} label={label}>
          <div className="flex gap-2">
            <Input id={`invitation-${what}`} readOnly value={text} className="font-mono text-xs" data-testid={`invitation-${what}`}
              onFocus={(event) => event.currentTarget.select()} />
            <Button type="button" variant="outline" onClick={() => copy(what, text)}>
              {copied === what ? t("settings.users.copied") : t("settings.users.copy")}
            </Button>
          </div>
        </Field>
      ))}
      <div><Button type="button" variant="outline" size="sm" onClick={onClose}>{t("settings.users.dismiss")}</Button></div>
    </section>
  );
}

function InviteForm({ onInvited }: { onInvited: (invitation: Invitation) => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [outcome, setOutcome] = useState<Outcome>(null);
  const invite = useMutation({
    mutationFn: (body: { email: string; name: string; role: Role }) => orRefusal(api.POST("/api/v1/users/", { body })),
    onSuccess: (created, _body) => {
      setOutcome(null);
      if (created.invitation_token) onInvited({ email: created.email, token: created.invitation_token });
      void queryClient.invalidateQueries({ queryKey: users.queryKey });
    },
    onError: (error) => setOutcome({ ok: false, text: error.message }),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    invite.mutate({ email: String(form.get("email")), name: String(form.get("name")), role: form.get("role") as Role },
      { onSuccess: () => (event.target as HTMLFormElement).reset() });
  };
  return (
    <form className="grid grid-cols-1 items-end gap-3 sm:grid-cols-[2fr_2fr_1fr_auto]" onSubmit={submit} aria-label={t("settings.users.invite")}>
      <Field id="invite-email" label={t("settings.users.email")}>
        <Input id="invite-email" name="email" type="email" required autoComplete="off" />
      </Field>
      <Field id="invite-name" label={t("settings.users.name")}>
        <Input id="invite-name" name="name" autoComplete="off" />
      </Field>
      <Field id="invite-role" label={t("settings.users.role")}>
        <Select id="invite-role" name="role" defaultValue="viewer">
          {ROLES.map((role) => <option key={role} value={role}>{t(`settings.roles.${role}`)}</option>)}
        </Select>
      </Field>
      <Button type="submit" disabled={invite.isPending}>{t("settings.users.inviteSubmit")}</Button>
      <div className="sm:col-span-4"><OutcomeLine outcome={outcome} testId="invite-outcome" /></div>
    </form>
  );
}

function UserRow({ user, onOutcome }: { user: User; onOutcome: (outcome: Outcome) => void }) {
  const { t, i18n } = useTranslation();
  const timeZone = useTimeZone();
  const queryClient = useQueryClient();
  const me = session.current.status === "signed-in" && session.current.user.id === user.id;
  const done = (text: string) => {
    onOutcome({ ok: true, text });
    void queryClient.invalidateQueries({ queryKey: users.queryKey });
  };
  const failed = (error: Error) => {
    // The last-admin guard says why in control's words; the page says it in the operator's first.
    const lastAdmin = error instanceof Refusal && error.code === "last_admin";
    onOutcome({ ok: false, text: lastAdmin ? `${t("settings.users.lastAdmin")} (${error.message})` : error.message });
    void queryClient.invalidateQueries({ queryKey: users.queryKey });
  };
  const change = useMutation({
    mutationFn: (body: { role?: Role; is_active?: boolean }) =>
      orRefusal(api.PATCH("/api/v1/users/{id}/", { params: { path: { id: user.id } }, body })),
    onSuccess: (changed, body) => done(body.role
      ? t("settings.users.roleChanged", { email: user.email, role: t(`settings.roles.${changed.role ?? body.role}`) })
      : t(body.is_active ? "settings.users.reactivated" : "settings.users.deactivated", { email: user.email })),
    onError: failed,
  });
  const deactivate = useMutation({
    mutationFn: () => orRefusal(api.DELETE("/api/v1/users/{id}/", { params: { path: { id: user.id } } })),
    onSuccess: () => done(t("settings.users.deactivated", { email: user.email })),
    onError: failed,
  });
  const unlock = useMutation({
    mutationFn: () => orRefusal(api.POST("/api/v1/users/{id}/unlock/", { params: { path: { id: user.id } } })),
    onSuccess: () => done(t("settings.users.unlocked", { email: user.email })),
    onError: failed,
  });
  const busy = change.isPending || deactivate.isPending || unlock.isPending;
  return (
    <tr className="border-t" data-testid="user-row" data-email={user.email}>
      <td className={TD}>
        <span className="break-all">{user.email}</span> {me && <span className="text-muted-foreground">{t("settings.users.you")}</span>}
        {user.name && <div className="text-xs text-muted-foreground">{user.name}</div>}
      </td>
      <td className={TD}>
        <Select aria-label={t("settings.users.roleOf", { email: user.email })} value={user.role ?? "viewer"} disabled={busy}
          onChange={(event) => change.mutate({ role: event.target.value as Role })}>
          {ROLES.map((role) => <option key={role} value={role}>{t(`settings.roles.${role}`)}</option>)}
        </Select>
      </td>
      <td className={TD}>
        {!user.is_active ? t("settings.users.inactive") : user.invitation_pending ? t("settings.users.invited") : t("settings.users.active")}
      </td>
      <td className={`${TD} whitespace-nowrap tabular-nums`}>
        {user.last_login ? formatDateTime(user.last_login, timeZone, i18n.language) : t("settings.users.never")}
      </td>
      <td className={TD}>
        <div className="flex flex-wrap gap-2">
          {user.is_active ? (
            <Button variant="outline" size="sm" disabled={busy} aria-label={t("settings.users.deactivateOf", { email: user.email })}
              onClick={() => deactivate.mutate()}>{t("settings.users.deactivate")}</Button>
          ) : (
            <Button variant="outline" size="sm" disabled={busy} onClick={() => change.mutate({ is_active: true })}>
              {t("settings.users.reactivate")}
            </Button>
          )}
          <Button variant="outline" size="sm" disabled={busy} aria-label={t("settings.users.unlockOf", { email: user.email })}
            onClick={() => unlock.mutate()}>{t("settings.users.unlock")}</Button>
        </div>
      </td>
    </tr>
  );
}

export function UsersPage() {
  const { t } = useTranslation();
  const list = useQuery(users);
  const [invitation, setInvitation] = useState<Invitation | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  return (
    <div className="flex flex-col gap-4">
      <Card>
        <CardHeader><h2 className="text-lg font-semibold">{t("settings.users.invite")}</h2></CardHeader>
        <CardContent className="flex flex-col gap-4">
          <InviteForm onInvited={setInvitation} />
          {invitation && <InvitationBox invitation={invitation} onClose={() => setInvitation(null)} />}
        </CardContent>
      </Card>
      <Card>
        <CardHeader><h2 className="text-lg font-semibold">{t("settings.users.title")}</h2></CardHeader>
        <CardContent className="flex flex-col gap-3">
          <OutcomeLine outcome={outcome} testId="users-outcome" />
          {list.isError ? (
            <p role="alert" className="text-sm text-destructive">{t("settings.loadError", { message: list.error.message })}</p>
          ) : !list.data ? (
            <p className="text-sm text-muted-foreground">{t("settings.loading")}</p>
          ) : (
            <div className="overflow-x-auto">
              <table className="w-full min-w-[40rem] text-sm" data-testid="users">
                <thead>
                  <tr>
                    <th className={TH} scope="col">{t("settings.users.email")}</th>
                    <th className={TH} scope="col">{t("settings.users.role")}</th>
                    <th className={TH} scope="col">{t("settings.users.status")}</th>
                    <th className={TH} scope="col">{t("settings.users.lastLogin")}</th>
                    <th className={TH} scope="col">{t("settings.users.actions")}</th>
                  </tr>
                </thead>
                <tbody>
                  {list.data.map((user) => <UserRow key={user.id} user={user} onOutcome={setOutcome} />)}
                </tbody>
              </table>
            </div>
          )}
        </CardContent>
      </Card>
    </div>
  );
}
