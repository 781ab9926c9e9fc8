/**
 * The audit log: who changed what, when and from where, and the sign-ins and lock-outs, newest
 * first. The filters live in the URL (``?action=&method=&object_type=&since=&until=&user=``), so a
 * filtered view is a link; days are the organization's days.
 */
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { formatDateTime, zoneOffsetMs } from "@/lib/format";

import {
  AUDIT_ACTIONS, AUDIT_METHODS, type AuditSearch, dayOf, dayStart, nextDay, previousDay, withFilter,
} from "./audit-search";
import { Field, PHONE, Select, TD, TH, useTimeZone } from "./parts";
import { audit, type AuditEntry, cursorOf } from "./queries";
import { auditRoute } from "./route";

function What({ entry }: { entry: AuditEntry }) {
  const { t } = useTranslation();
  const action = entry.action ? t(`settings.audit.actions.${entry.action}`) : null;
  return (
    <div className="flex flex-col gap-0.5">
      {action && <span className="font-medium">{action}</span>}
      <span className="break-all font-mono text-xs">{entry.method} {entry.path}</span>
      {entry.object_type && <span className="text-xs text-muted-foreground">{entry.object_type} {entry.object_id.slice(0, 8)}</span>}
    </div>
  );
}

export function AuditPage() {
  const { t, i18n } = useTranslation();
  const search = auditRoute.useSearch();
  const navigate = useNavigate({ from: auditRoute.fullPath });
  const timeZone = useTimeZone();
  const [cursors, setCursors] = useState<{ key: string; stack: string[] }>({ key: "", stack: [] });
  const key = JSON.stringify(search);
  const stack = cursors.key === key ? cursors.stack : []; // a new filter starts from the newest
  const page = useQuery(audit(search, stack.at(-1)));
  const set = (name: keyof AuditSearch, value: string) => void navigate({ search: withFilter(search, name, value) });
  const until = dayOf(search.until, timeZone);

  return (
    <Card>
      <CardHeader><h2 className="text-lg font-semibold">{t("settings.audit.title")}</h2></CardHeader>
      <CardContent className="flex flex-col gap-4">
        <form className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-5" aria-label={t("settings.audit.filters")}
          onSubmit={(event) => event.preventDefault()}>
          <Field id="audit-action" label={t("settings.audit.action")}>
            <Select id="audit-action" value={search.action ?? ""} onChange={(event) => set("action", event.target.value)}>
              <option value="">{t("settings.audit.any")}</option>
              {AUDIT_ACTIONS.map((action) => <option key={action} value={action}>{t(`settings.audit.actions.${action}`)}</option>)}
            </Select>
          </Field>
          <Field id="audit-method" label={t("settings.audit.method")}>
            <Select id="audit-method" value={search.method ?? ""} onChange={(event) => set("method", event.target.value)}>
              <option value="">{t("settings.audit.any")}</option>
              {AUDIT_METHODS.map((method) => <option key={method} value={method}>{method}</option>)}
            </Select>
          </Field>
          <Field id="audit-object-type" label={t("settings.audit.objectType")}>
            <Input id="audit-object-type" key={search.object_type ?? ""} defaultValue={search.object_type ?? ""}
              onBlur={(event) => set("object_type", event.target.value.trim())}
              onKeyDown={(event) => { if (event.key === "Enter") set("object_type", event.currentTarget.value.trim()); }} />
          </Field>
          <Field id="audit-since" label={t("settings.audit.since")}>
            <Input id="audit-since" type="date" value={dayOf(search.since, timeZone)}
              onChange={(event) => set("since", dayStart(event.target.value, timeZone, zoneOffsetMs))} />
          </Field>
          <Field id="audit-until" label={t("settings.audit.until")}>
            <Input id="audit-until" type="date" value={until ? previousDay(until) : ""}
              onChange={(event) => set("until", dayStart(nextDay(event.target.value), timeZone, zoneOffsetMs))} />
          </Field>
        </form>
        {Object.keys(search).length > 0 && (
          <div><Link to="/settings/audit" search={{}} className="text-sm underline underline-offset-4">{t("settings.audit.clear")}</Link></div>
        )}
        {page.isError ? (
          <p role="alert" className="text-sm text-destructive">{t("settings.loadError", { message: page.error.message })}</p>
        ) : !page.data ? (
          <p className="text-sm text-muted-foreground">{t("settings.loading")}</p>
        ) : page.data.results.length === 0 ? (
          <p className="text-sm text-muted-foreground" data-testid="audit-empty">{t("settings.audit.none")}</p>
        ) : (
          <div className="overflow-x-auto" tabIndex={0} role="region" aria-label={t("settings.audit.title")}>
            {/* On a phone each entry is a card (when and status, who, what, from where); the column
                names stay for screen readers. */}
            <table className="w-full text-sm max-sm:block sm:min-w-[44rem]" data-testid="audit">
              <thead className="max-sm:sr-only"><tr>
                <th className={TH} scope="col">{t("settings.audit.time")}</th>
                <th className={TH} scope="col">{t("settings.audit.who")}</th>
                <th className={TH} scope="col">{t("settings.audit.what")}</th>
                <th className={TH} scope="col">{t("settings.audit.status")}</th>
                <th className={TH} scope="col">{t("settings.audit.from")}</th>
              </tr></thead>
              <tbody className="max-sm:block">
                {page.data.results.map((entry) => (
                  <tr key={entry.id} data-testid="audit-row" data-action={entry.action} data-method={entry.method}
                    className="border-t max-sm:grid max-sm:grid-cols-[1fr_auto] max-sm:gap-x-3 max-sm:gap-y-1 max-sm:py-2.5">
                    <td className={`${TD} ${PHONE} whitespace-nowrap tabular-nums max-sm:row-start-1 max-sm:text-muted-foreground`}>
                      {formatDateTime(entry.time, timeZone, i18n.language)}
                    </td>
                    <td className={`${TD} ${PHONE} break-all max-sm:col-span-2 max-sm:row-start-2`}>
                      {entry.user ? (
                        <Link to="/settings/audit" search={{ ...search, user: entry.user }} className="underline-offset-4 hover:underline">
                          {entry.user_email ?? entry.user.slice(0, 8)}
                        </Link>
                      ) : "—"}
                    </td>
                    <td className={`${TD} ${PHONE} max-sm:col-span-2 max-sm:row-start-3`}><What entry={entry} /></td>
                    <td className={`${TD} ${PHONE} tabular-nums max-sm:col-start-2 max-sm:row-start-1`}>{entry.status_code}</td>
                    <td className={`${TD} ${PHONE} whitespace-nowrap text-muted-foreground max-sm:col-span-2 max-sm:row-start-4`}>{entry.ip ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div className="flex gap-2">
          {stack.length > 0 && (
            <Button variant="outline" size="sm" onClick={() => setCursors({ key, stack: [] })}>{t("settings.audit.first")}</Button>
          )}
          {page.data?.next && (
            <Button variant="outline" size="sm" onClick={() => setCursors({ key, stack: [...stack, cursorOf(page.data.next)!] })}>
              {t("settings.audit.more")}
            </Button>
          )}
        </div>
      </CardContent>
    </Card>
  );
}
