/**
 * A device's tokens: listed by prefix (the server keeps only a hash), a new one shown once — held
 * in this component's state only, so a reload or leaving the page loses it for good — and revoked.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Copy, KeyRound } from "lucide-react";
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { api } from "@/app";
import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { formatDateTime } from "@/lib/format";

import * as q from "./queries";

export function Credentials({ device, timeZone }: { device: string; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const canManage = useCan("operator");
  const list = useQuery(q.credentials(device));
  const [issued, setIssued] = useState<{ token: string; prefix: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ["devices", "one", device, "credentials"] });
  const create = useMutation({
    mutationFn: async () => {
      const { data, response } = await api.POST("/api/v1/devices/{id}/credentials/", { params: { path: { id: device } } });
      if (!data) throw new Error(String(response.status));
      return data;
    },
    onSuccess: (credential) => {
      setIssued({ token: credential.token, prefix: credential.prefix });
      setCopied(false);
      refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: async (id: string) => {
      const { response } = await api.DELETE("/api/v1/devices/{id}/credentials/{credential_id}/", {
        params: { path: { id: device, credential_id: id } } });
      if (!response.ok) throw new Error(String(response.status));
    },
    onSuccess: refresh,
  });
  const format = (value: string) => formatDateTime(value, timeZone, i18n.language);
  return (
    <Card>
      <CardHeader className="flex-row items-center justify-between">
        <CardTitle className="text-base text-foreground"><h2>{t("fleet.tokens")}</h2></CardTitle>
        {canManage && (
          <Button size="sm" onClick={() => create.mutate()} disabled={create.isPending}>
            <KeyRound className="size-4" aria-hidden="true" />{t("fleet.newToken")}
          </Button>
        )}
      </CardHeader>
      <CardContent className="flex flex-col gap-3">
        {create.isError && <p role="alert" className="text-sm text-destructive">{t("fleet.tokenFailed")}</p>}
        {issued && (
          <div role="status" className="flex flex-col gap-2 rounded-md border border-amber-500 bg-amber-500/10 p-3" data-testid="new-token">
            <p className="text-sm font-medium">{t("fleet.tokenOnce")}</p>
            <div className="flex flex-wrap items-center gap-2">
              <code className="break-all rounded bg-muted px-2 py-1 text-sm" data-testid="new-token-value">{issued.token}</code>
              <Button size="sm" variant="outline" onClick={() => void navigator.clipboard?.writeText(issued.token).then(() => setCopied(true))}>
                <Copy className="size-4" aria-hidden="true" />{copied ? t("fleet.copied") : t("fleet.copy")}
              </Button>
              <Button size="sm" variant="ghost" onClick={() => setIssued(null)}>{t("fleet.hideToken")}</Button>
            </div>
          </div>
        )}
        {list.data?.length === 0 && <p className="text-sm text-muted-foreground">{t("fleet.noTokens")}</p>}
        {!!list.data?.length && (
          <table className="w-full text-left text-sm" data-testid="credentials">
            <thead className="text-muted-foreground">
              <tr>
                <th scope="col" className="py-1 pr-3 font-medium">{t("fleet.prefix")}</th>
                <th scope="col" className="py-1 pr-3 font-medium">{t("fleet.created")}</th>
                <th scope="col" className="py-1 pr-3 font-medium">{t("fleet.lastUsed")}</th>
                <th scope="col" className="py-1 font-medium">{t("fleet.state")}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((credential) => (
                <tr key={credential.id} className="border-t" data-testid="credential" data-prefix={credential.prefix}>
                  <td className="py-1 pr-3 font-mono">{credential.prefix}…</td>
                  <td className="py-1 pr-3 tabular-nums">{format(credential.created_at)}</td>
                  <td className="py-1 pr-3 tabular-nums">{credential.last_used_at ? format(credential.last_used_at) : t("fleet.never")}</td>
                  <td className="py-1">
                    {credential.revoked_at ? t("fleet.revokedAt", { when: format(credential.revoked_at) })
                      : canManage ? (
                        <Button size="sm" variant="outline" disabled={revoke.isPending} onClick={() => revoke.mutate(credential.id)}
                          aria-label={t("fleet.revokeToken", { prefix: credential.prefix })}>
                          {t("fleet.revoke")}
                        </Button>
                      ) : t("fleet.active")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </CardContent>
    </Card>
  );
}
