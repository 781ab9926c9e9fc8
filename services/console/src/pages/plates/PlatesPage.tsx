/**
 * Passages and the tolerant plate search. Everything the operator chose is in the URL
 * (``?q=ABC1D2O&camera=…&site=…&since=…&until=…``): a typed plate finds its look-alikes (O/0, I/1,
 * B/8…) and plates one character off, ranked; without one, the newest passages under the filters.
 * Each passage shows its best crop. The export downloads the same filters as CSV.
 */
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { Download } from "lucide-react";
import { type FormEvent, useCallback, useState } from "react";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE } from "@/lib/format";
import type { FeedMessage } from "@/live/messages";
import { useLiveFeed } from "@/live/useLiveFeed";
import { organizationSettings } from "@/pages/dashboard-queries";

import { exportFileName, normalisePlate, passageFilters, type PlatesSearch, searchable } from "./filters";
import { PassageCard } from "./PassageCard";
import { PlatesNav } from "./PlatesNav";
import * as q from "./queries";
import { platesRoute } from "./route";

const SELECT = "h-9 w-full rounded-md border border-input bg-background px-2 text-sm";

function FilterForm({ search, cameras }: { search: PlatesSearch; cameras: Map<string, string> | undefined }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? "").trim() || undefined;
    void navigate({ to: "/plates", search: { q: value("q"), camera: value("camera"), site: value("site"),
      since: value("since"), until: value("until") } });
  };
  // key: the form's fields follow the URL (back button, a shared link) once the cameras are known.
  return (
    <form key={`${JSON.stringify(search)}-${cameras?.size ?? "?"}`} onSubmit={submit} role="search" aria-label={t("plates.searchForm")}
      className="grid grid-cols-1 gap-3 rounded-lg border bg-card p-4 sm:grid-cols-2 lg:grid-cols-6">
      <div className="flex flex-col gap-1.5 lg:col-span-2">
        <Label htmlFor="plates-q">{t("plates.plate")}</Label>
        <Input id="plates-q" name="q" defaultValue={search.q} placeholder="ABC1D23" autoComplete="off"
          className="font-mono uppercase" aria-describedby="plates-q-hint" />
        <p id="plates-q-hint" className="text-xs text-muted-foreground">{t("plates.plateHint")}</p>
      </div>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="plates-camera">{t("plates.camera")}</Label>
        <select id="plates-camera" name="camera" defaultValue={search.camera ?? ""} className={SELECT}>
          <option value="">{t("plates.allCameras")}</option>
          {[...(cameras ?? new Map<string, string>())].map(([id, name]) => <option key={id} value={id}>{name}</option>)}
        </select>
      </div>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="plates-site">{t("plates.site")}</Label>
        <Input id="plates-site" name="site" defaultValue={search.site} autoComplete="off" />
      </div>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="plates-since">{t("plates.since")}</Label>
        <Input id="plates-since" name="since" type="datetime-local" defaultValue={search.since} />
      </div>
      <div className="flex flex-col gap-1.5">
        <Label htmlFor="plates-until">{t("plates.until")}</Label>
        <Input id="plates-until" name="until" type="datetime-local" defaultValue={search.until} />
      </div>
      <div className="flex gap-2 sm:col-span-2 lg:col-span-6">
        <Button type="submit">{t("plates.search")}</Button>
        <Button type="button" variant="outline" onClick={() => void navigate({ to: "/plates", search: {} })}>
          {t("plates.clear")}
        </Button>
      </div>
    </form>
  );
}

function ExportButton({ search, plate, timeZone }: { search: PlatesSearch; plate?: string; timeZone: string }) {
  const { t } = useTranslation();
  const [state, setState] = useState<"idle" | "busy" | "failed">("idle");
  const run = async () => {
    setState("busy");
    try {
      await q.downloadExport({ ...passageFilters(search, timeZone), plate }, exportFileName(plate, search));
      setState("idle");
    } catch {
      setState("failed");
    }
  };
  return (
    <div className="flex items-center gap-2">
      <Button type="button" variant="outline" onClick={() => void run()} disabled={state === "busy"}>
        <Download className="size-4" aria-hidden="true" />
        {plate ? t("plates.exportPlate", { plate }) : t("plates.export")}
      </Button>
      {state === "failed" && <span role="alert" className="text-sm text-destructive">{t("plates.exportFailed")}</span>}
    </div>
  );
}

function SearchResults({ plate, search, timeZone, cameras }: {
  plate: string; search: PlatesSearch; timeZone: string; cameras?: Map<string, string>;
}) {
  const { t } = useTranslation();
  const found = useQuery(q.search(plate, passageFilters(search, timeZone)));
  if (found.isError) return <p role="alert" className="text-sm text-destructive">{t("plates.loadError")}</p>;
  if (!found.data) return <p className="text-sm text-muted-foreground" aria-busy="true">{t("plates.loading")}</p>;
  const best = found.data.plates[0];
  return (
    <section className="flex flex-col gap-4" aria-labelledby="plates-found">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="plates-found" className="text-lg font-semibold">
          {t("plates.found", { count: found.data.results.length, query: found.data.query })}
        </h2>
        <ExportButton search={search} plate={best?.plate_text} timeZone={timeZone} />
      </div>
      {found.data.plates.length > 0 && (
        <ul className="flex flex-wrap gap-2" aria-label={t("plates.platesFound")}>
          {found.data.plates.map((sighting) => (
            <li key={sighting.plate_text}>
              <Link to="/plates/$plate" params={{ plate: sighting.plate_text }} search={{}}
                className="flex items-center gap-2 rounded-md border px-3 py-1 text-sm hover:bg-accent">
                <span className="font-mono font-semibold">{sighting.plate_text}</span>
                <span className="text-muted-foreground">
                  {t(`plates.likeness.${sighting.likeness}`)} · {t("plates.sightings", { count: sighting.sightings, cameras: sighting.cameras })}
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
      {found.data.results.length === 0 ? (
        <p className="text-sm text-muted-foreground">{t("plates.nothingFound")}</p>
      ) : (
        <ol className="flex flex-col gap-2" aria-label={t("plates.passages")}>
          {found.data.results.map((passage) => (
            <PassageCard key={passage.id} passage={passage} cameraName={cameras?.get(passage.camera)} timeZone={timeZone} />
          ))}
        </ol>
      )}
    </section>
  );
}

function PassageList({ search, timeZone, cameras }: { search: PlatesSearch; timeZone: string; cameras?: Map<string, string> }) {
  const { t } = useTranslation();
  const list = useInfiniteQuery(q.passages(passageFilters(search, timeZone)));
  const rows = list.data?.pages.flatMap((page) => page.results) ?? [];
  return (
    <section className="flex flex-col gap-4" aria-labelledby="plates-latest">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="plates-latest" className="text-lg font-semibold">{t("plates.latest")}</h2>
        <ExportButton search={search} timeZone={timeZone} />
      </div>
      {list.isError && <p role="alert" className="text-sm text-destructive">{t("plates.loadError")}</p>}
      {list.isPending && <p className="text-sm text-muted-foreground" aria-busy="true">{t("plates.loading")}</p>}
      {list.isSuccess && rows.length === 0 && <p className="text-sm text-muted-foreground">{t("plates.nothingFound")}</p>}
      <ol className="flex flex-col gap-2" aria-label={t("plates.passages")}>
        {rows.map((passage) => (
          <PassageCard key={passage.id} passage={passage} cameraName={cameras?.get(passage.camera)} timeZone={timeZone} />
        ))}
      </ol>
      {list.hasNextPage && (
        <Button variant="outline" className="self-start" disabled={list.isFetchingNextPage}
          onClick={() => void list.fetchNextPage()}>
          {t("plates.more")}
        </Button>
      )}
    </section>
  );
}

export function PlatesPage() {
  const { t } = useTranslation();
  const search = platesRoute.useSearch();
  const queryClient = useQueryClient();
  const zone = useQuery(organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;
  const cameras = useQuery(q.cameraNames);

  // A plate read on the feed: the newest passages changed (the search is re-run on demand).
  const onMessage = useCallback((message: FeedMessage) => {
    if (message.type === "plate_read") void queryClient.invalidateQueries({ queryKey: ["passages", "list"] });
  }, [queryClient]);
  useLiveFeed(session, onMessage);

  const plate = search.q ? normalisePlate(search.q) : undefined;
  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-6 p-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">{t("plates.title")}</h1>
        <PlatesNav />
      </div>
      <FilterForm search={search} cameras={cameras.data} />
      {!zone.isFetched ? null : plate && searchable(plate) ? (
        <SearchResults plate={plate} search={search} timeZone={timeZone} cameras={cameras.data} />
      ) : plate ? (
        <p role="alert" className="text-sm text-destructive">{t("plates.plateHint")}</p>
      ) : (
        <PassageList search={search} timeZone={timeZone} cameras={cameras.data} />
      )}
      <p className="text-xs text-muted-foreground">{t("plates.timeZone", { zone: timeZone })}</p>
    </main>
  );
}
