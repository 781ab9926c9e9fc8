/** One passage: its best crop (or a note that it has none), the plate, where and when it was seen. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";

import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";

import { images, type Passage, type PassageMatch } from "./queries";

const LIKENESS_CLASS = {
  exact: "border-emerald-600 text-emerald-700 dark:text-emerald-300",
  look_alike: "border-amber-600 text-amber-800 dark:text-amber-300",
  edit: "border-orange-600 text-orange-800 dark:text-orange-300",
} as const;

function Crop({ passage, plate }: { passage: string; plate: string }) {
  const { t } = useTranslation();
  const urls = useQuery(images(passage));
  if (urls.data?.crop) {
    return (
      <a href={urls.data.snapshot ?? urls.data.crop} target="_blank" rel="noreferrer" className="shrink-0"
        aria-label={t("plates.openFrame", { plate })}>
        <img src={urls.data.crop} alt={t("plates.cropOf", { plate })} data-testid="passage-crop"
          className="h-12 w-36 rounded border bg-muted object-contain" />
      </a>
    );
  }
  return (
    <div className="flex h-12 w-36 shrink-0 items-center justify-center rounded border bg-muted text-xs text-muted-foreground">
      {urls.isPending ? "…" : t("plates.noCrop")}
    </div>
  );
}

export function PassageCard({ passage, cameraName, timeZone }: {
  passage: Passage | PassageMatch;
  cameraName?: string;
  timeZone: string;
}) {
  const { t, i18n } = useTranslation();
  const likeness = "likeness" in passage ? passage.likeness : undefined;
  return (
    <li className="flex flex-wrap items-center gap-3 rounded-lg border bg-card p-3" data-testid="passage"
      data-plate={passage.plate_text}>
      <Crop passage={passage.id} plate={passage.plate_text} />
      <div className="flex min-w-0 flex-1 flex-col gap-1">
        <div className="flex flex-wrap items-center gap-2">
          <Link to="/plates/$plate" params={{ plate: passage.plate_text }} search={{}}
            className="font-mono text-lg font-semibold tracking-wider underline-offset-4 hover:underline">
            {passage.plate_text}
          </Link>
          {likeness && (
            <span className={cn("rounded border px-1.5 text-xs", LIKENESS_CLASS[likeness])}>
              {t(`plates.likeness.${likeness}`)}
            </span>
          )}
          {passage.watchlists.map((match) => (
            <span key={match.watchlist}
              className={cn("rounded px-1.5 text-xs", match.kind === "deny"
                ? "bg-red-100 text-red-900 dark:bg-red-950 dark:text-red-200"
                : "bg-emerald-100 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200")}>
              {match.name}
            </span>
          ))}
        </div>
        <p className="text-sm text-muted-foreground">
          <time dateTime={passage.first_seen}>{formatDateTime(passage.first_seen, timeZone, i18n.language)}</time>
          {" · "}{cameraName ?? passage.camera.slice(0, 8)}
          {passage.site && ` · ${passage.site}`}
          {" · "}{t("plates.confidence", { value: Math.round(passage.confidence * 100) })}
          {passage.label && ` · ${passage.label}`}
        </p>
      </div>
    </li>
  );
}
