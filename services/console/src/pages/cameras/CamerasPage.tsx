/**
 * The cameras grid: a live tile per camera (HLS or latest frames, see CameraView), filtered by
 * name, site or place from the URL (``?q=``). A tile streams only while it is on screen
 * (IntersectionObserver): scrolled away, its socket or player is closed, not merely hidden.
 * Tile size is in the URL too (``?size=s|l``); small tiles ask for at most 2 frames a second.
 * Camera health from the live feed updates the list in the query cache.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { Plus } from "lucide-react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { useCan } from "@/auth/roles";
import { Input } from "@/components/ui/input";
import { cn } from "@/lib/utils";
import type { FeedMessage } from "@/live/messages";
import { useLiveFeed } from "@/live/useLiveFeed";

import { CameraView } from "./CameraView";
import { matches, TILE_SIZES, type TileSize } from "./filter";
import { type Camera, camerasList } from "./queries";
import { withHealth } from "./health";
import { camerasRoute } from "./route";

const GRID: Record<TileSize, string> = {
  s: "grid-cols-[repeat(auto-fill,minmax(9.5rem,1fr))] gap-2",
  m: "grid-cols-[repeat(auto-fill,minmax(18rem,1fr))] gap-3",
  l: "grid-cols-[repeat(auto-fill,minmax(min(100%,30rem),1fr))] gap-3",
};
const TILE_FPS: Record<TileSize, number | undefined> = { s: 2, m: undefined, l: undefined };

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

function Tile({ camera, size }: { camera: Camera; size: TileSize }) {
  const { t } = useTranslation();
  const [ref, visible] = useOnScreen<HTMLLIElement>();
  return (
    <li ref={ref} className="flex flex-col gap-2 rounded-xl border bg-card p-2 text-card-foreground shadow-sm" data-testid="camera-tile"
      data-camera={camera.id}>
      <CameraView camera={camera.id} name={camera.name} enabled={camera.enabled !== false} active={visible} fps={TILE_FPS[size]} />
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
  const { q, size = "m" } = camerasRoute.useSearch();
  const queryClient = useQueryClient();
  const onMessage = useCallback((message: FeedMessage) => {
    if (message.type === "camera_health") withHealth(queryClient, message.camera_id, message.status);
  }, [queryClient]);
  useLiveFeed(session, onMessage);
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
            onChange={(e) => void navigate({ search: (prev) => ({ ...prev, q: e.target.value.trim() ? e.target.value : undefined }), replace: true })} />
          <nav className="flex items-center gap-1 text-sm" aria-label={t("cameras.size.label")}>
            {TILE_SIZES.map((option) => (
              <Link key={option} to="/cameras" search={(prev) => ({ ...prev, size: option === "m" ? undefined : option })}
                className={cn("rounded-md border px-2.5 py-1", option === size && "bg-primary text-primary-foreground")}
                aria-current={option === size ? "page" : undefined}>
                {t(`cameras.size.${option}`)}
              </Link>
            ))}
          </nav>
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
          <ul className={cn("grid", GRID[size])} aria-label={t("cameras.title")}>
            {shown.map((camera) => <Tile key={camera.id} camera={camera} size={size} />)}
          </ul>
        </>
      )}
    </main>
  );
}
