/**
 * The face search (operators and admins): sightings the cameras published, newest first, filtered
 * by person, camera, time (typed in the organization's zone) and known or unknown faces; every
 * filter lives in the URL. Admins pick a person from the enrolled ones; operators, who may not list
 * enrolments, from the people the results name. Control audits every search.
 */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useId, useMemo } from "react";
import { useTranslation } from "react-i18next";

import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { fromZonedInput, toZonedInput } from "@/pages/events/zoned";
import { cameraNames } from "@/pages/plates/queries";
import { Select, useTimeZone } from "@/pages/settings/parts";

import { FacesNav } from "./FacesNav";
import { type FaceSearch, isFiltered } from "./filters";
import { people, sightings } from "./queries";
import { facesRoute } from "./route";
import { SightingList } from "./Sightings";

export function SearchPage() {
  const { t } = useTranslation();
  const search = facesRoute.useSearch();
  const navigate = useNavigate();
  const id = useId();
  const admin = useCan("admin");
  const timeZone = useTimeZone();
  const cameras = useQuery(cameraNames);
  const enrolled = useQuery({ ...people, enabled: admin });
  const found = useInfiniteQuery(sightings(search));
  const rows = useMemo(() => found.data?.pages.flatMap((page) => page.results) ?? [], [found.data]);

  const personOptions = useMemo(() => {
    const named = new Map<string, string>();
    if (admin) for (const person of enrolled.data ?? []) named.set(person.id, person.name);
    else for (const row of rows) if (row.person && row.person_name) named.set(row.person, row.person_name);
    return [...named].sort((a, b) => a[1].localeCompare(b[1]));
  }, [admin, enrolled.data, rows]);

  const set = (patch: Partial<FaceSearch>) =>
    void navigate({ to: "/faces", search: { ...search, ...patch }, replace: true });

  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-semibold">{t("faces.title")}</h1>
      <FacesNav />
      <p className="text-xs text-muted-foreground">{t("faces.privacy")}</p>
      <section aria-label={t("faces.filters")} className="flex flex-wrap items-end gap-3 rounded-md border p-3">
        <div className="flex flex-col gap-1">
          <Label htmlFor={`${id}-person`}>{t("faces.person")}</Label>
          <Select id={`${id}-person`} value={search.person ?? ""} onChange={(e) => set({ person: e.target.value || undefined })}>
            <option value="">{t("faces.anyPerson")}</option>
            {search.person && !personOptions.some(([key]) => key === search.person) && (
              <option value={search.person}>{search.person.slice(0, 8)}</option>
            )}
            {personOptions.map(([key, name]) => <option key={key} value={key}>{name}</option>)}
          </Select>
        </div>
        <div className="flex flex-col gap-1">
          <Label htmlFor={`${id}-camera`}>{t("faces.camera")}</Label>
          <Select id={`${id}-camera`} value={search.camera ?? ""} onChange={(e) => set({ camera: e.target.value || undefined })}>
            <option value="">{t("faces.anyCamera")}</option>
            {[...(cameras.data ?? new Map<string, string>())].map(([key, name]) => <option key={key} value={key}>{name}</option>)}
          </Select>
        </div>
        <div className="flex flex-col gap-1">
          <Label htmlFor={`${id}-known`}>{t("faces.known")}</Label>
          <Select id={`${id}-known`} value={search.known === undefined ? "" : String(search.known)}
            onChange={(e) => set({ known: e.target.value === "" ? undefined : e.target.value === "true" })}>
            <option value="">{t("faces.knownAny")}</option>
            <option value="true">{t("faces.knownTrue")}</option>
            <option value="false">{t("faces.knownFalse")}</option>
          </Select>
        </div>
        {(["since", "until"] as const).map((bound) => (
          <div key={bound} className="flex flex-col gap-1">
            <Label htmlFor={`${id}-${bound}`}>{t(`faces.${bound}`)}</Label>
            <Input id={`${id}-${bound}`} type="datetime-local" className="w-52"
              value={search[bound] ? toZonedInput(search[bound], timeZone) : ""}
              onChange={(e) => set({ [bound]: fromZonedInput(e.target.value, timeZone) })} />
          </div>
        ))}
        {isFiltered(search) && (
          <Button variant="outline" size="sm" onClick={() => void navigate({ to: "/faces", search: {}, replace: true })}>
            {t("faces.clear")}
          </Button>
        )}
      </section>
      <h2 className="text-lg font-semibold">{t("faces.sightings")}</h2>
      {found.isError ? (
        <p role="alert" className="text-sm text-destructive">{t("faces.loadError", { message: found.error.message })}</p>
      ) : !found.data ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("faces.loading")}</p>
      ) : rows.length === 0 ? (
        <p className="text-sm text-muted-foreground" data-testid="no-sightings">{t("faces.noSightings")}</p>
      ) : (
        <SightingList sightings={rows} cameras={cameras.data} timeZone={timeZone} label={t("faces.sightings")} />
      )}
      {found.hasNextPage && (
        <div><Button variant="outline" disabled={found.isFetchingNextPage} onClick={() => void found.fetchNextPage()}>{t("faces.more")}</Button></div>
      )}
    </main>
  );
}
