/**
 * The cameras grid: a live tile per camera (HLS or latest frames, see CameraView), filtered by
 * name, site or place from the URL (``?q=``). A tile streams only while it is on screen
 * (IntersectionObserver): scrolled away, its socket or player is closed, not merely hidden.
 */
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { Plus } from "lucide-react";
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { useCan } from "@/auth/roles";
import { Input } from "@/components/ui/input";
import { cn } from "@/lib/utils";

import { CameraView } from "./CameraView";
import { matches } from "./filter";
import { type Camera, camerasList } from "./queries";
import { camerasRoute } from "./route";

const STATUS_COLOURS: Record<Camera["status"], string> = {
  online: "bg-emerald-600",
  provisioning: "bg-sky-600",
  offline: "bg-zinc-500",
  error: "bg-red-600",
};

/** Whether ``element`` is on screen (with a margin, so a tile starts just before it scrolls in). */
function useOnScreen<T extends Element>(): [React.RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [visible, setVisible] = useState(false);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new IntersectionObserver(([entry]) => setVisible(Boolean(entry?.isIntersecting)), { rootMargin: "64px" });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, visible];
}

export function StatusBadge({ camera }: { camera: Camera }) {
  const { t } = useTranslation();
  return (
    <span className="inline-flex items-center gap-1.5 text-xs text-muted-foreground" data-testid="camera-status">
      <span className={cn("size-2 rounded-full", STATUS_COLOURS[camera.status])} aria-hidden />
      {camera.enabled === false ? t("cameras.disabled") : t(`cameras.status.${camera.status}`)}
    </span>
  );
}

function Tile({ camera }: { camera: Camera }) {
  const { t } = useTranslation();
  const [ref, visible] = useOnScreen<HTMLLIElement>();
  return (
    <li ref={ref} className="flex flex-col gap-2 rounded-xl border bg-card p-2 text-card-foreground shadow-sm" data-testid="camera-tile"
      data-camera={camera.id}>
      <CameraView camera={camera.id} name={camera.name} enabled={camera.enabled !== false} active={visible} />
      <div className="flex items-center justify-between gap-2 px-1">
        <Link to="/cameras/$id" params={{ id: camera.id }} className="truncate font-medium hover:underline focus-visible:outline-2 focus-visible:outline-ring"
          aria-label={t("cameras.tile.open", { name: camera.name })}>
          {camera.name}
        </Link>
        <StatusBadge camera={camera} />
      </div>
      {(camera.site || camera.location) && (
        <p className="truncate px-1 text-xs text-muted-foreground">{[camera.site, camera.location].filter(Boolean).join(" · ")}</p>
      )}
    </li>
  );
}

export function CamerasPage() {
  const { t } = useTranslation();
  const { q } = camerasRoute.useSearch();
  const navigate = useNavigate({ from: camerasRoute.fullPath });
  const canEdit = useCan("operator");
  const cameras = useQuery(camerasList);
  const shown = useMemo(() => (cameras.data?.results ?? []).filter((c) => matches(c, q)), [cameras.data, q]);

  return (
    <main className="mx-auto flex max-w-[1600px] flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold">{t("cameras.title")}</h1>
        <div className="flex flex-wrap items-center gap-2">
          <Input type="search" className="w-64" placeholder={t("cameras.filter")} aria-label={t("cameras.filter")} defaultValue={q ?? ""}
            onChange={(e) => void navigate({ search: e.target.value.trim() ? { q: e.target.value } : {}, replace: true })} />
          {canEdit && (
            <Link to="/cameras/new" className="inline-flex h-9 items-center gap-1.5 rounded-md bg-primary px-4 text-sm font-medium text-primary-foreground shadow hover:bg-primary/90 focus-visible:outline-2 focus-visible:outline-ring">
              <Plus className="size-4" aria-hidden />
              {t("cameras.add")}
            </Link>
          )}
        </div>
      </div>
      {cameras.isError ? (
        <p className="text-sm text-destructive" role="alert">{t("cameras.loadError")}</p>
      ) : !cameras.isSuccess ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("cameras.loading")}</p>
      ) : shown.length === 0 ? (
        <p className="text-sm text-muted-foreground">{q ? t("cameras.noMatch") : t("cameras.empty")}</p>
      ) : (
        <>
          <p className="text-xs text-muted-foreground" data-testid="camera-count">{t("cameras.count", { count: shown.length })}</p>
          <ul className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-3 2xl:grid-cols-4" aria-label={t("cameras.title")}>
            {shown.map((camera) => <Tile key={camera.id} camera={camera} />)}
          </ul>
        </>
      )}
    </main>
  );
}
