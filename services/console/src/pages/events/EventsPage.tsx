/**
 * Events: the organization's incidents, newest first, filtered by what the URL holds (status,
 * severity, type, camera or device, time range: see search.ts), updated live from the feed.
 * Operators select events and acknowledge or resolve them together with a note; the list then
 * says who did it and when. Viewers only look.
 */
import type { RowSelectionState } from "@tanstack/react-table";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useId, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE } from "@/lib/format";
import { cn } from "@/lib/utils";
import { organizationSettings } from "@/pages/dashboard-queries";

import { EventsTable, type Names } from "./EventsTable";
import { Filters } from "./Filters";
import { LiveState } from "./parts";
import { bulkAction, eventList, refreshAfterAction, sourceNames } from "./queries";
import { eventsRoute } from "./route";
import { type EventRow, parseEventSearch } from "./search";
import { useLiveEvents } from "./useLiveEvents";

const NO_ROWS: EventRow[] = [];

function BulkBar({ ids, onDone }: { ids: string[]; onDone: () => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const id = useId();
  const [note, setNote] = useState("");
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const act = useMutation({
    mutationFn: (action: "acknowledge" | "resolve") => bulkAction(ids, action, note.trim()),
    onSuccess: (result) => {
      setOutcome({ ok: true, text: t(`events.bulk.done_${result.action as "acknowledge" | "resolve"}`, {
        changed: result.changed.length, unchanged: result.unchanged.length }) });
      setNote("");
      refreshAfterAction(queryClient);
      onDone();
    },
    onError: (error) => setOutcome({ ok: false, text: t("events.bulk.failed", { reason: error.message }) }),
  });
  return (
    <>
      {ids.length > 0 && (
        <section aria-label={t("events.bulk.selected", { count: ids.length })} data-testid="bulk-bar"
          className="flex flex-wrap items-end gap-3 rounded-md border border-primary/40 bg-accent/40 p-3">
          <p className="text-sm font-medium" data-testid="bulk-count">{t("events.bulk.selected", { count: ids.length })}</p>
          <div className="flex min-w-64 flex-1 flex-col gap-1">
            <Label htmlFor={`${id}-note`}>{t("events.bulk.note")}</Label>
            <textarea id={`${id}-note`} rows={2} maxLength={4000} value={note} placeholder={t("events.bulk.notePlaceholder")}
              onChange={(e) => setNote(e.target.value)}
              className="rounded-md border border-input bg-transparent px-3 py-1 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring" />
          </div>
          <div className="flex gap-2">
            <Button disabled={act.isPending} onClick={() => act.mutate("acknowledge")}>{t("events.bulk.acknowledge")}</Button>
            <Button variant="outline" disabled={act.isPending} onClick={() => act.mutate("resolve")}>{t("events.bulk.resolve")}</Button>
            <Button variant="ghost" disabled={act.isPending} onClick={onDone}>{t("events.bulk.unselect")}</Button>
          </div>
        </section>
      )}
      <p role="status" aria-live="polite" data-testid="bulk-outcome"
        className={cn("text-sm", outcome?.ok === false ? "text-destructive" : "text-muted-foreground", !outcome && "sr-only")}>
        {outcome?.text ?? ""}
      </p>
    </>
  );
}

export function EventsPage() {
  const { t } = useTranslation();
  const params = eventsRoute.useSearch();
  const searchKey = JSON.stringify(params);
  // Keyed by value: the router may hand over a new object for the same filters.
  const search = useMemo(() => parseEventSearch(params), [searchKey]);
  const canAct = useCan("operator");
  const zone = useQuery(organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;
  const names = useQuery(sourceNames);
  const list = useInfiniteQuery(eventList(search));
  const feed = useLiveEvents();
  const [selection, setSelection] = useState<RowSelectionState>({});

  // Another filter is another list: what was selected in the last one is not in view any more.
  useEffect(() => setSelection({}), [searchKey]);

  const rows = useMemo(() => list.data?.pages.flatMap((page) => page.results) ?? NO_ROWS, [list.data]);
  const byId: Names = useMemo(() => ({
    cameras: new Map((names.data?.cameras ?? []).map((c) => [c.id, c.name])),
    devices: new Map((names.data?.devices ?? []).map((d) => [d.id, d.name])),
  }), [names.data]);
  const selected = useMemo(() => rows.filter((row) => selection[row.id]).map((row) => row.id), [rows, selection]);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list;
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">{t("events.title")}</h1>
        <LiveState connection={feed.connection} />
      </div>
      <Filters search={search} timeZone={timeZone} />
      {canAct && <BulkBar ids={selected} onDone={() => setSelection({})} />}
      {list.isError ? (
        <p className="text-sm text-destructive">{t("events.loadError")}</p>
      ) : list.isPending ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("events.loading")}</p>
      ) : rows.length === 0 ? (
        <p className="text-sm text-muted-foreground" data-testid="events-empty">{t("events.empty")}</p>
      ) : (
        <>
          <EventsTable rows={rows} names={byId} timeZone={timeZone} selectable={canAct} selection={selection}
            onSelectionChange={setSelection} hasMore={Boolean(hasNextPage)} loadMore={loadMore} />
          <p className="text-xs text-muted-foreground" data-testid="events-count">
            {isFetchingNextPage ? t("events.loadingMore")
              : t(hasNextPage ? "events.shownMore" : "events.shown", { count: rows.length })}
          </p>
        </>
      )}
    </main>
  );
}
