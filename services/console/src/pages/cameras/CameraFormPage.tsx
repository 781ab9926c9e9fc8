/**
 * Add or edit a camera. The form checks only what it must to send something (a name, a number
 * for fps); control validates the rest and its field errors are shown under their fields. "Save
 * only if the connection works" sends ``?check=true``: control probes the stream with ffprobe and
 * saves nothing when it cannot be opened (424). Admins also switch face recognition on the camera
 * (off by default; control lets no one else change it).
 */
import { zodResolver } from "@hookform/resolvers/zod";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import { type Path, useForm } from "react-hook-form";
import { useTranslation } from "react-i18next";
import { z } from "zod";

import { api } from "@/app";
import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";

import { type Camera, cameraQuery, fieldErrors } from "./queries";

const optionalNumber = z.string().trim().refine((v) => v === "" || Number.isFinite(Number(v)), "number");

const schema = z.object({
  name: z.string().trim().min(1, "required"),
  rtsp_url: z.string(),
  fps: z.string().trim().min(1, "required").refine((v) => Number.isFinite(Number(v)), "number"),
  site: z.string(),
  location: z.string(),
  latitude: optionalNumber,
  longitude: optionalNumber,
  enabled: z.boolean(),
  faces: z.boolean(),
  check: z.boolean(),
});

type FormValues = z.infer<typeof schema>;

const FIELDS = ["name", "rtsp_url", "fps", "site", "location", "latitude", "longitude", "enabled", "faces"] as const;

function initial(camera: Camera | undefined): FormValues {
  return {
    name: camera?.name ?? "", rtsp_url: "", fps: String(camera?.fps ?? 1), site: camera?.site ?? "",
    location: camera?.location ?? "", latitude: camera?.latitude?.toString() ?? "", longitude: camera?.longitude?.toString() ?? "",
    enabled: camera?.enabled ?? true, faces: camera?.faces ?? false, check: false,
  };
}

function body(values: FormValues, editing: boolean, admin: boolean) {
  const number = (v: string) => (v.trim() === "" ? null : Number(v));
  return {
    name: values.name.trim(), fps: Number(values.fps), site: values.site.trim(), location: values.location.trim(),
    latitude: number(values.latitude), longitude: number(values.longitude), enabled: values.enabled,
    // Only an admin switches face recognition (control refuses anyone else with 403): others never send it.
    ...(admin ? { faces: values.faces } : {}),
    // Left blank on an edit, the stored URL stays (it is never sent back to be re-sent).
    ...(values.rtsp_url.trim() || !editing ? { rtsp_url: values.rtsp_url.trim() } : {}),
  };
}

export function CameraFormPage() {
  const { t } = useTranslation();
  const { id } = useParams({ strict: false });
  const editing = Boolean(id);
  const camera = useQuery({ ...cameraQuery(id ?? ""), enabled: editing });
  const admin = useCan("admin");
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [formError, setFormError] = useState<string | null>(null);
  const form = useForm<FormValues>({ resolver: zodResolver(schema), defaultValues: initial(undefined) });
  const { errors, isSubmitting } = form.formState;

  useEffect(() => {
    if (camera.data) form.reset(initial(camera.data));
  }, [camera.data, form]);

  const onSubmit = form.handleSubmit(async (values) => {
    setFormError(null);
    const query = values.check ? { check: true } : {};
    const answer = editing
      ? await api.PATCH("/api/v1/cameras/{id}/", { params: { path: { id: id! }, query }, body: body(values, true, admin) })
      : await api.POST("/api/v1/cameras/", { params: { query }, body: { ...body(values, false, admin), rtsp_url: values.rtsp_url.trim() } });
    if (answer.data) {
      await queryClient.invalidateQueries({ queryKey: ["cameras"] });
      await navigate({ to: "/cameras/$id", params: { id: answer.data.id } });
      return;
    }
    const { message, fields } = fieldErrors(answer.error);
    let named = false;
    for (const [field, problems] of Object.entries(fields)) {
      if ((FIELDS as readonly string[]).includes(field)) {
        form.setError(field as Path<FormValues>, { type: "server", message: problems.join(" ") }, { shouldFocus: !named });
        named = true;
      }
    }
    if (answer.response.status === 424) setFormError(t("cameras.form.unreachable", { message }));
    else if (!named) setFormError(t("cameras.form.failed", { message: message || answer.response.status }));
  });

  const error = (field: keyof FormValues) => {
    const found = errors[field]?.message;
    if (!found) return null;
    const text = found === "required" || found === "number" ? t(`cameras.form.${found}`) : found;
    return <p id={`${field}-error`} className="text-xs text-destructive" data-testid={`${field}-error`}>{text}</p>;
  };
  const described = (field: keyof FormValues, help?: string) => ({
    "aria-invalid": errors[field] ? true : undefined,
    "aria-describedby": [errors[field] ? `${field}-error` : "", help ?? ""].filter(Boolean).join(" ") || undefined,
  });

  if (editing && !camera.data) {
    return <main className="p-4"><p className="text-sm text-muted-foreground" aria-busy={!camera.isError}>
      {camera.isError ? t("cameras.loadError") : t("cameras.loading")}</p></main>;
  }
  return (
    <main className="mx-auto flex max-w-2xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-semibold">{editing ? t("cameras.form.editTitle", { name: camera.data!.name }) : t("cameras.form.newTitle")}</h1>
      <form className="flex flex-col gap-4" onSubmit={(e) => void onSubmit(e)} noValidate>
        <div className="flex flex-col gap-1.5">
          <Label htmlFor="name">{t("cameras.form.name")}</Label>
          <Input id="name" autoComplete="off" {...form.register("name")} {...described("name")} />
          {error("name")}
        </div>
        <div className="flex flex-col gap-1.5">
          <Label htmlFor="rtsp_url">{t("cameras.form.rtspUrl")}</Label>
          <Input id="rtsp_url" autoComplete="off" spellCheck={false} placeholder={editing ? camera.data!.rtsp_url_masked : "rtsp://"}
            {...form.register("rtsp_url")} {...described("rtsp_url", "rtsp-help")} />
          <p id="rtsp-help" className="text-xs text-muted-foreground">
            {editing ? t("cameras.form.rtspKeep", { masked: camera.data!.rtsp_url_masked }) : t("cameras.form.rtspHelp")}
          </p>
          {error("rtsp_url")}
        </div>
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-3">
          <div className="flex flex-col gap-1.5">
            <Label htmlFor="fps">{t("cameras.form.fps")}</Label>
            <Input id="fps" inputMode="decimal" {...form.register("fps")} {...described("fps")} />
            {error("fps")}
          </div>
          <div className="flex flex-col gap-1.5">
            <Label htmlFor="site">{t("cameras.form.site")}</Label>
            <Input id="site" {...form.register("site")} {...described("site")} />
            {error("site")}
          </div>
          <div className="flex flex-col gap-1.5">
            <Label htmlFor="location">{t("cameras.form.location")}</Label>
            <Input id="location" {...form.register("location")} {...described("location")} />
            {error("location")}
          </div>
          <div className="flex flex-col gap-1.5">
            <Label htmlFor="latitude">{t("cameras.form.latitude")}</Label>
            <Input id="latitude" inputMode="decimal" {...form.register("latitude")} {...described("latitude")} />
            {error("latitude")}
          </div>
          <div className="flex flex-col gap-1.5">
            <Label htmlFor="longitude">{t("cameras.form.longitude")}</Label>
            <Input id="longitude" inputMode="decimal" {...form.register("longitude")} {...described("longitude")} />
            {error("longitude")}
          </div>
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" className="size-4" {...form.register("enabled")} />
          {t("cameras.form.enabled")}
        </label>
        {admin && (
          <div className="flex flex-col gap-1">
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" className="size-4" {...form.register("faces")} aria-describedby="faces-help" />
              {t("faces.cameraSwitch")}
            </label>
            <p id="faces-help" className="text-xs text-muted-foreground">{t("faces.cameraHint")}</p>
            {error("faces")}
          </div>
        )}
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" className="size-4" {...form.register("check")} />
          {t("cameras.form.checkOnSave")}
        </label>
        {formError && <p role="alert" className="text-sm text-destructive" data-testid="form-error">{formError}</p>}
        <div className="flex gap-2">
          <Button type="submit" disabled={isSubmitting}>{isSubmitting ? t("cameras.form.saving") : t("cameras.form.save")}</Button>
          <Link to={editing ? "/cameras/$id" : "/cameras"} params={editing ? { id: id! } : undefined}
            className="inline-flex h-9 items-center rounded-md border border-input bg-background px-4 text-sm font-medium shadow-sm hover:bg-accent focus-visible:outline-2 focus-visible:outline-ring">
            {t("cameras.form.cancel")}
          </Link>
        </div>
      </form>
    </main>
  );
}
