/** Sightings as a list: the face's crop (opening its frame), whose face (or unknown), which camera,
 * when, how close the match was. The crop and frame URLs are control's short-lived signed ones. */
import { Link } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";

import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";

import { formatDistance } from "./filters";
import type { Sighting } from "./queries";

function Crop({ sighting }: { sighting: Sighting }) {
  const { t } = useTranslation();
  const who = sighting.person_name ?? t("faces.unknown");
  if (!sighting.crop_url) {
    return (
      <div className="flex size-14 shrink-0 items-center justify-center rounded border bg-muted text-center text-xs text-muted-foreground">
        {t("faces.noCrop")}
      </div>
    );
  }
  return (
    <a href={sighting.snapshot_url ?? sighting.crop_url} target="_blank" rel="noreferrer" className="shrink-0"
      aria-label={t("faces.openFrame", { who })}>
      <img src={sighting.crop_url} alt={t("faces.cropOf", { who })} data-testid="sighting-crop"
        className="size-14 rounded border bg-muted object-cover" />
    </a>
  );
}

export function SightingList({ sightings, cameras, timeZone, label }: {
  sightings: Sighting[]; cameras: Map<string, string> | undefined; timeZone: string; label: string;
}) {
  const { t, i18n } = useTranslation();
  return (
    <ul className="flex flex-col gap-2" aria-label={label}>
      {sightings.map((sighting) => (
        <li key={sighting.id} data-testid="face-sighting" data-known={sighting.person !== null}
          className="flex flex-wrap items-center gap-x-3 gap-y-1 rounded-lg border bg-card p-3 text-sm">
          <Crop sighting={sighting} />
          {sighting.person ? (
            <span className={cn("font-semibold", !sighting.person_name && "text-muted-foreground")}>
              {sighting.person_name ?? t("faces.erased")}
            </span>
          ) : (
            <span className="rounded bg-amber-100 px-1.5 text-xs font-semibold text-amber-950 dark:bg-amber-950 dark:text-amber-200">
              {t("faces.unknown")}
            </span>
          )}
          <time dateTime={sighting.time} className="tabular-nums text-muted-foreground">
            {formatDateTime(sighting.time, timeZone, i18n.language)}
          </time>
          <Link to="/cameras/$id" params={{ id: sighting.camera }} className="underline-offset-2 hover:underline">
            {cameras?.get(sighting.camera) ?? sighting.camera.slice(0, 8)}
          </Link>
          {sighting.distance !== null && (
            <span className="text-muted-foreground">{t("faces.distance", { value: formatDistance(sighting.distance, i18n.language) })}</span>
          )}
        </li>
      ))}
    </ul>
  );
}
