/**
 * Plate watch-lists (``/plates/watchlists?list=<id>``): allow and deny lists with their entries.
 * Operators and admins create lists and add or remove plates; viewers only look. Pipelines match
 * passages against these lists (the automation's watch-list rule).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { Trash2 } from "lucide-react";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";

import { api } from "@/app";
import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE, formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import { organizationSettings } from "@/pages/dashboard-queries";

import { normalisePlate, wallTimeToIso } from "./filters";
import { PlatesNav } from "./PlatesNav";
import * as q from "./queries";
import { watchlistsRoute } from "./route";

const SELECT = "h-9 rounded-md border border-input bg-background px-2 text-sm";

/** A write to the API: the answer's data, or an Error carrying its message. */
async function write<T>(answer: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T | undefined> {
  const { data, error, response } = await answer;
  if (error !== undefined || !response.ok) throw new Error(q.errorText(error, response.status));
  return data;
}

function NewList() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: (body: { name: string; kind: "allow" | "deny"; description: string }) =>
      write(api.POST("/api/v1/watchlists/", { body })),
    onSuccess: (list) => {
      void queryClient.invalidateQueries({ queryKey: ["watchlists"] });
      if (list) void navigate({ to: "/plates/watchlists", search: { list: list.id } });
    },
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    create.mutate({ name: String(form.get("name")).trim(), kind: form.get("kind") === "allow" ? "allow" : "deny",
      description: String(form.get("description") ?? "").trim() });
  };
  return (
    <form onSubmit={submit} className="flex flex-col gap-3" aria-label={t("plates.newList")}>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="list-name">{t("plates.listName")}</Label>
        <Input id="list-name" name="name" required maxLength={128} />
      </div>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="list-kind">{t("plates.listKind")}</Label>
        <select id="list-kind" name="kind" defaultValue="deny" className={SELECT}>
          <option value="deny">{t("plates.kind.deny")}</option>
          <option value="allow">{t("plates.kind.allow")}</option>
        </select>
      </div>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="list-description">{t("plates.description")}</Label>
        <Input id="list-description" name="description" />
      </div>
      <Button type="submit" disabled={create.isPending}>{t("plates.createList")}</Button>
      {create.isError && <p role="alert" className="text-sm text-destructive">{create.error.message}</p>}
    </form>
  );
}

function Entries({ list, canManage, timeZone }: { list: q.Watchlist; canManage: boolean; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const entries = useQuery(q.entries(list.id));
  const changed = () => void queryClient.invalidateQueries({ queryKey: ["watchlists"] });
  const add = useMutation({
    mutationFn: (body: { plate: string; label: string; expires_at: string | null }) => write(api.POST("/api/v1/watchlists/{watchlist_id}/entries/", {
      params: { path: { watchlist_id: list.id } }, body })),
    onSuccess: changed,
  });
  const remove = useMutation({
    mutationFn: (id: string) => write(api.DELETE("/api/v1/watchlists/{watchlist_id}/entries/{id}/", {
      params: { path: { watchlist_id: list.id, id } } })),
    onSuccess: changed,
  });
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState(false);
  const drop = useMutation({
    mutationFn: () => write(api.DELETE("/api/v1/watchlists/{id}/", { params: { path: { id: list.id } } })),
    onSuccess: async () => {
      // Off the list's page first: its queries, still observed, would be asked again (a 404).
      queryClient.setQueryData(q.watchlists.queryKey, (lists) => lists?.filter((each) => each.id !== list.id));
      await navigate({ to: "/plates/watchlists", search: {} });
      queryClient.removeQueries({ queryKey: ["watchlists", list.id] });
      void queryClient.invalidateQueries({ queryKey: q.watchlists.queryKey, exact: true });
    },
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const expires = String(data.get("expires") ?? "");
    add.mutate({ plate: normalisePlate(String(data.get("plate"))), label: String(data.get("label") ?? "").trim(),
      expires_at: expires ? wallTimeToIso(expires, timeZone) : null }, { onSuccess: () => form.reset() });
  };
  return (
    <Card>
      <CardHeader>
        <h2 className="text-lg font-semibold">{list.name}</h2>
        <p className="text-sm text-muted-foreground">{t(`plates.kind.${list.kind}`)}{list.description && ` · ${list.description}`}</p>
        {canManage && (deleting ? (
          <div className="flex flex-wrap items-center gap-2" role="group" aria-describedby="delete-list-hint">
            <Button variant="destructive" size="sm" onClick={() => drop.mutate()} disabled={drop.isPending} autoFocus>
              {t("plates.confirmDeleteList", { name: list.name })}
            </Button>
            <Button variant="outline" size="sm" onClick={() => setDeleting(false)} disabled={drop.isPending}>
              {t("plates.cancelDelete")}
            </Button>
            <span id="delete-list-hint" className="text-xs text-muted-foreground">{t("plates.deleteListHint")}</span>
          </div>
        ) : (
          <Button variant="outline" size="sm" className="self-start" onClick={() => setDeleting(true)}>
            {t("plates.deleteList")}
          </Button>
        ))}
        {drop.isError && <p role="alert" className="text-sm text-destructive">{drop.error.message}</p>}
      </CardHeader>
      <CardContent className="flex flex-col gap-4">
        {canManage && (
          <form onSubmit={submit} className="flex flex-wrap items-end gap-3" aria-label={t("plates.addEntry")}>
            <div className="flex flex-col gap-1.5">
              <Label htmlFor="entry-plate">{t("plates.plate")}</Label>
              <Input id="entry-plate" name="plate" required maxLength={16} className="w-36 font-mono uppercase" autoComplete="off" />
            </div>
            <div className="flex flex-col gap-1.5">
              <Label htmlFor="entry-label">{t("plates.entryLabel")}</Label>
              <Input id="entry-label" name="label" maxLength={128} />
            </div>
            <div className="flex flex-col gap-1.5">
              <Label htmlFor="entry-expires">{t("plates.expires")}</Label>
              <Input id="entry-expires" name="expires" type="datetime-local" className="w-auto" />
            </div>
            <Button type="submit" disabled={add.isPending}>{t("plates.addEntry")}</Button>
            {add.isError && <p role="alert" className="w-full text-sm text-destructive">{add.error.message}</p>}
          </form>
        )}
        {entries.isError && <p role="alert" className="text-sm text-destructive">{t("plates.loadError")}</p>}
        {entries.data?.length === 0 && <p className="text-sm text-muted-foreground">{t("plates.noEntries")}</p>}
        {!!entries.data?.length && (
          <table className="w-full text-left text-sm" data-testid="watchlist-entries">
            <thead className="text-muted-foreground">
              <tr>
                <th scope="col" className="py-1 pr-3 font-medium">{t("plates.plate")}</th>
                <th scope="col" className="py-1 pr-3 font-medium">{t("plates.entryLabel")}</th>
                <th scope="col" className="py-1 pr-3 font-medium">{t("plates.addedAt")}</th>
                <th scope="col" className="py-1 pr-3 font-medium">{t("plates.expires")}</th>
                {canManage && <th scope="col" className="py-1 font-medium"><span className="sr-only">{t("plates.remove")}</span></th>}
              </tr>
            </thead>
            <tbody>
              {entries.data.map((entry) => (
                <tr key={entry.id} className="border-t">
                  <td className="py-1 pr-3">
                    <Link to="/plates/$plate" params={{ plate: entry.plate }} search={{}} className="font-mono underline-offset-4 hover:underline">
                      {entry.plate}
                    </Link>
                  </td>
                  <td className="py-1 pr-3">{entry.label || "—"}</td>
                  <td className="py-1 pr-3 tabular-nums">{formatDateTime(entry.created_at, timeZone, i18n.language)}</td>
                  <td className="py-1 pr-3 tabular-nums">
                    {!entry.expires_at ? t("plates.never")
                      : `${formatDateTime(entry.expires_at, timeZone, i18n.language)}${Date.parse(entry.expires_at) < Date.now() ? ` (${t("plates.expired")})` : ""}`}
                  </td>
                  {canManage && (
                    <td className="py-1 text-right">
                      <Button variant="ghost" size="sm" onClick={() => remove.mutate(entry.id)} disabled={remove.isPending}
                        aria-label={t("plates.removeEntry", { plate: entry.plate })}>
                        <Trash2 className="size-4" aria-hidden="true" />
                      </Button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </CardContent>
    </Card>
  );
}

export function WatchlistsPage() {
  const { t } = useTranslation();
  const { list: selectedId } = watchlistsRoute.useSearch();
  const lists = useQuery(q.watchlists);
  const zone = useQuery(organizationSettings);
  const canManage = useCan("operator");
  const selected = lists.data?.find((list) => list.id === selectedId) ?? lists.data?.[0];
  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-6 p-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">{t("plates.watchlistsTitle")}</h1>
        <PlatesNav />
      </div>
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-[18rem_1fr]">
        <div className="flex flex-col gap-4">
          <Card>
            <CardHeader><CardTitle>{t("plates.watchlists")}</CardTitle></CardHeader>
            <CardContent>
              {lists.isError && <p role="alert" className="text-sm text-destructive">{t("plates.loadError")}</p>}
              {lists.data?.length === 0 && <p className="text-sm text-muted-foreground">{t("plates.noWatchlists")}</p>}
              <ul className="flex flex-col gap-1">
                {lists.data?.map((list) => (
                  <li key={list.id}>
                    <Link to="/plates/watchlists" search={{ list: list.id }}
                      aria-current={list.id === selected?.id ? "page" : undefined}
                      className={cn("flex justify-between rounded-md px-2 py-1 text-sm hover:bg-accent",
                        list.id === selected?.id && "bg-accent font-medium")}>
                      <span>{list.name}</span>
                      <span className="text-muted-foreground">{t(`plates.kind.${list.kind}`)} · {list.entries}</span>
                    </Link>
                  </li>
                ))}
              </ul>
            </CardContent>
          </Card>
          {canManage && (
            <Card>
              <CardHeader><CardTitle>{t("plates.newList")}</CardTitle></CardHeader>
              <CardContent><NewList /></CardContent>
            </Card>
          )}
        </div>
        {selected && <Entries key={selected.id} list={selected} canManage={canManage} timeZone={zone.data ?? DEFAULT_TIME_ZONE} />}
      </div>
    </main>
  );
}
