/**
 * A plate's history across cameras (``/plates/ABC1D23``, ``?lookAlikes=true`` to count plates that
 * differ only by OCR look-alikes): what each camera saw of it, then its passages with their crops,
 * newest first. Operators put the plate on a watch-list from here.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";

import { api } from "@/app";
import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE, formatDateTime } from "@/lib/format";
import { organizationSettings } from "@/pages/dashboard-queries";

import { normalisePlate } from "./filters";
import { PassageCard } from "./PassageCard";
import { PlatesNav } from "./PlatesNav";
import * as q from "./queries";
import { plateHistoryRoute } from "./route";

function AddToWatchlist({ plate }: { plate: string }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const lists = useQuery(q.watchlists);
  const [done, setDone] = useState<string | null>(null);
  const add = useMutation({
    mutationFn: async ({ watchlist, label }: { watchlist: string; label: string }) => {
      const { data, error, response } = await api.POST("/api/v1/watchlists/{watchlist_id}/entries/", {
        params: { path: { watchlist_id: watchlist } }, body: { plate, label },
      });
      if (error !== undefined || !data) throw new Error(q.errorText(error, response.status));
      return data;
    },
    onSuccess: (entry) => {
      setDone(lists.data?.find((list) => list.id === entry.watchlist)?.name ?? "");
      void queryClient.invalidateQueries({ queryKey: ["watchlists"] });
    },
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setDone(null);
    add.mutate({ watchlist: String(form.get("watchlist")), label: String(form.get("label") ?? "").trim() });
  };
  if (lists.data?.length === 0) {
    return (
      <p className="text-sm text-muted-foreground">
        {t("plates.noWatchlists")} <Link to="/plates/watchlists" search={{}} className="underline">{t("plates.watchlists")}</Link>
      </p>
    );
  }
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-3" aria-label={t("plates.addToWatchlist")}>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="history-watchlist">{t("plates.watchlist")}</Label>
        <select id="history-watchlist" name="watchlist" required
          className="h-9 rounded-md border border-input bg-background px-2 text-sm">
          {lists.data?.map((list) => (
            <option key={list.id} value={list.id}>{list.name} ({t(`plates.kind.${list.kind}`)})</option>
          ))}
        </select>
      </div>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="history-label">{t("plates.entryLabel")}</Label>
        <Input id="history-label" name="label" maxLength={128} />
      </div>
      <Button type="submit" disabled={add.isPending || !lists.data}>{t("plates.addToWatchlist")}</Button>
      {add.isError && <p role="alert" className="w-full text-sm text-destructive">{add.error.message}</p>}
      {done !== null && <p role="status" className="w-full text-sm">{t("plates.added", { plate, list: done })}</p>}
    </form>
  );
}

export function PlateHistoryPage() {
  const { t, i18n } = useTranslation();
  const { plate: raw } = plateHistoryRoute.useParams();
  const { lookAlikes = false } = plateHistoryRoute.useSearch();
  const plate = normalisePlate(raw);
  const zone = useQuery(organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;
  const cameras = useQuery(q.cameraNames);
  const history = useInfiniteQuery(q.history(plate, lookAlikes));
  const canManage = useCan("operator");
  const first = history.data?.pages[0];
  const rows = history.data?.pages.flatMap((page) => page.results) ?? [];
  const format = (value: string) => formatDateTime(value, timeZone, i18n.language);

  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-6 p-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">
          {t("plates.historyOf")} <span className="font-mono tracking-wider">{plate}</span>
        </h1>
        <PlatesNav />
      </div>
      <div className="flex flex-wrap items-center gap-4 text-sm">
        <Link to="/plates" search={{ q: plate }} className="underline underline-offset-4">{t("plates.backToSearch")}</Link>
        <Link to="/plates/$plate" params={{ plate }} search={lookAlikes ? {} : { lookAlikes: true }}
          className="underline underline-offset-4">
          {lookAlikes ? t("plates.onlyThisPlate") : t("plates.withLookAlikes")}
        </Link>
      </div>

      {history.isError ? (
        <p role="alert" className="text-sm text-muted-foreground">{t("plates.neverSeen", { plate })}</p>
      ) : !first ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("plates.loading")}</p>
      ) : (
        <>
          <Card>
            <CardHeader><CardTitle>{t("plates.byCamera", { count: first.passages })}</CardTitle></CardHeader>
            <CardContent className="overflow-x-auto">
              <table className="w-full text-left text-sm" data-testid="history-cameras">
                <thead className="text-muted-foreground">
                  <tr>
                    <th scope="col" className="py-1 pr-3 font-medium">{t("plates.camera")}</th>
                    <th scope="col" className="py-1 pr-3 font-medium">{t("plates.site")}</th>
                    <th scope="col" className="py-1 pr-3 font-medium">{t("plates.passageCount")}</th>
                    <th scope="col" className="py-1 pr-3 font-medium">{t("plates.firstSeen")}</th>
                    <th scope="col" className="py-1 font-medium">{t("plates.lastSeen")}</th>
                  </tr>
                </thead>
                <tbody>
                  {first.cameras.map((camera) => (
                    <tr key={camera.camera} className="border-t">
                      <td className="py-1 pr-3">{camera.name ?? cameras.data?.get(camera.camera) ?? camera.camera.slice(0, 8)}</td>
                      <td className="py-1 pr-3">{camera.site || "—"}</td>
                      <td className="py-1 pr-3 tabular-nums">{camera.passages}</td>
                      <td className="py-1 pr-3 tabular-nums">{format(camera.first_seen)}</td>
                      <td className="py-1 tabular-nums">{format(camera.last_seen)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </CardContent>
          </Card>
          {canManage && (
            <Card>
              <CardHeader><CardTitle>{t("plates.addToWatchlist")}</CardTitle></CardHeader>
              <CardContent><AddToWatchlist plate={plate} /></CardContent>
            </Card>
          )}
          <section className="flex flex-col gap-2" aria-labelledby="history-passages">
            <h2 id="history-passages" className="text-lg font-semibold">{t("plates.passages")}</h2>
            <ol className="flex flex-col gap-2">
              {rows.map((passage) => (
                <PassageCard key={passage.id} passage={passage} cameraName={cameras.data?.get(passage.camera)} timeZone={timeZone} />
              ))}
            </ol>
            {history.hasNextPage && (
              <Button variant="outline" className="self-start" disabled={history.isFetchingNextPage}
                onClick={() => void history.fetchNextPage()}>
                {t("plates.more")}
              </Button>
            )}
          </section>
        </>
      )}
    </main>
  );
}
