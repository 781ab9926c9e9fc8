/** One camera: its live picture with its zones and lines (ZoneEditor), what it is, and the
 * connection check. Operators and admins edit; viewers watch. */
import { useMutation, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { ArrowLeft, Pencil } from "lucide-react";
import { useTranslation } from "react-i18next";

import { api } from "@/app";
import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { DEFAULT_TIME_ZONE, formatDateTime } from "@/lib/format";
import { organizationSettings } from "@/pages/dashboard-queries";

import { StatusBadge } from "./CamerasPage";
import { cameraQuery, type ProbeResult } from "./queries";
import { cameraRoute } from "./route";
import { ZoneEditor } from "./ZoneEditor";

function ConnectionCheck({ camera }: { camera: string }) {
  const { t } = useTranslation();
  const check = useMutation({
    mutationFn: async (): Promise<ProbeResult | "unavailable"> => {
      const { data, response } = await api.POST("/api/v1/cameras/{id}/check/", { params: { path: { id: camera } } });
      if (response.status === 503) return "unavailable";
      if (!data) throw new Error(`${response.status}`);
      return data;
    },
  });
  const result = check.data;
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Button variant="outline" size="sm" onClick={() => check.mutate()} disabled={check.isPending}>
        {check.isPending ? t("cameras.detail.checking") : t("cameras.detail.check")}
      </Button>
      {result && (
        <p role="status" data-testid="check-result" className="text-sm">
          {result === "unavailable" ? t("cameras.detail.checkUnavailable")
            : result.reachable ? t("cameras.detail.reachable", { codec: result.codec ?? "?", width: result.width ?? "?", height: result.height ?? "?", ms: result.elapsed_ms })
            : t("cameras.detail.unreachable", { detail: result.detail })}
        </p>
      )}
      {check.isError && <p role="alert" className="text-sm text-destructive">{check.error.message}</p>}
    </div>
  );
}

export function CameraDetailPage() {
  const { t } = useTranslation();
  const { id } = cameraRoute.useParams();
  const canEdit = useCan("operator");
  const camera = useQuery(cameraQuery(id));
  const zone = useQuery(organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;

  return (
    <main className="mx-auto flex max-w-6xl flex-col gap-4 p-4">
      <Link to="/cameras" className="inline-flex w-fit items-center gap-1 text-sm text-muted-foreground hover:underline focus-visible:outline-2 focus-visible:outline-ring">
        <ArrowLeft className="size-4" aria-hidden />
        {t("cameras.detail.back")}
      </Link>
      {camera.isError ? (
        <p role="alert" className="text-sm text-destructive">{t("cameras.loadError")}</p>
      ) : !camera.data ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("cameras.loading")}</p>
      ) : (
        <>
          <div className="flex flex-wrap items-center justify-between gap-3">
            <div className="flex items-center gap-3">
              <h1 className="text-2xl font-semibold">{camera.data.name}</h1>
              <StatusBadge camera={camera.data} />
            </div>
            {canEdit && (
              <Link to="/cameras/$id/edit" params={{ id }} className="inline-flex h-8 items-center gap-1.5 rounded-md border border-input bg-background px-3 text-xs font-medium shadow-sm hover:bg-accent focus-visible:outline-2 focus-visible:outline-ring">
                <Pencil className="size-3.5" aria-hidden />
                {t("cameras.detail.edit")}
              </Link>
            )}
          </div>
          <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-sm sm:grid-cols-4">
            <div><dt className="text-muted-foreground">{t("cameras.detail.site")}</dt><dd>{camera.data.site || "—"}</dd></div>
            <div><dt className="text-muted-foreground">{t("cameras.detail.location")}</dt><dd>{camera.data.location || "—"}</dd></div>
            <div><dt className="text-muted-foreground">{t("cameras.detail.fps")}</dt><dd>{camera.data.fps}</dd></div>
            <div>
              <dt className="text-muted-foreground">{t("cameras.detail.lastFrame")}</dt>
              <dd>{camera.data.last_frame_at ? formatDateTime(camera.data.last_frame_at, timeZone) : t("cameras.detail.never")}</dd>
            </div>
            <div className="col-span-2 sm:col-span-4">
              <dt className="text-muted-foreground">{t("cameras.detail.url")}</dt>
              <dd className="break-all font-mono text-xs">{camera.data.rtsp_url_masked}</dd>
            </div>
          </dl>
          {canEdit && <ConnectionCheck camera={id} />}
          <ZoneEditor camera={camera.data} canEdit={canEdit} active />
        </>
      )}
    </main>
  );
}
