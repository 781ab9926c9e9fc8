/**
 * The list's filters: status and severity (several each), type, one camera or device, the
 * false-alarm classifier's mark, and a time range (a preset back from now, or two instants typed in the organization's zone). Every change
 * rewrites the URL (replacing the history entry), which is what the list reads.
 */
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useEffect, useId, useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";

import { sourceNames } from "./queries";
import {
  type EventSearch, isFiltered, RANGES, type RangeHours, searchParams, SEVERITIES, STATUSES,
} from "./search";
import { fromZonedInput, toZonedInput } from "./zoned";

const SELECT = "h-9 rounded-md border border-input bg-background px-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring";

function toggle<T>(list: readonly T[] | undefined, item: T, on: boolean): T[] | undefined {
  const next = on ? [...(list ?? []), item] : (list ?? []).filter((x) => x !== item);
  return next.length > 0 ? next : undefined;
}

export function Filters({ search, timeZone }: { search: EventSearch; timeZone: string }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const names = useQuery(sourceNames);
  const id = useId();
  const [type, setType] = useState(search.type ?? "");
  const [custom, setCustom] = useState(Boolean(search.since || search.until));
  useEffect(() => setType(search.type ?? ""), [search.type]);

  const go = (next: EventSearch) =>
    void navigate({ to: "/events", search: searchParams(next), replace: true });
  const set = (patch: Partial<EventSearch>) => go({ ...search, ...patch });

  const range = custom ? "custom" : search.hours ? String(search.hours) : "all";
  const source = search.camera ? `camera:${search.camera}` : search.device ? `device:${search.device}` : "";

  return (
    <section aria-label={t("events.filters")} className="flex flex-wrap items-end gap-x-6 gap-y-3 rounded-md border p-3">
      <fieldset className="flex flex-wrap items-center gap-3">
        <legend className="mb-1 text-sm font-medium">{t("events.status")}</legend>
        {STATUSES.map((status) => (
          <label key={status} className="flex items-center gap-1.5 text-sm">
            <input type="checkbox" className="size-4" checked={search.status?.includes(status) ?? false}
              onChange={(e) => set({ status: toggle(search.status, status, e.target.checked) })} />
            {t(`events.statuses.${status}`)}
          </label>
        ))}
      </fieldset>
      <fieldset className="flex flex-wrap items-center gap-3">
        <legend className="mb-1 text-sm font-medium">{t("events.severity")}</legend>
        {SEVERITIES.map((severity) => (
          <label key={severity} className="flex items-center gap-1.5 text-sm">
            <input type="checkbox" className="size-4" checked={search.severity?.includes(severity) ?? false}
              onChange={(e) => set({ severity: toggle(search.severity, severity, e.target.checked) })} />
            {t(`events.severities.${severity}`)}
          </label>
        ))}
      </fieldset>
      <form className="flex flex-col gap-1" onSubmit={(e) => { e.preventDefault(); set({ type: type.trim() || undefined }); }}>
        <Label htmlFor={`${id}-type`}>{t("events.type")}</Label>
        <Input id={`${id}-type`} className="w-44" value={type} placeholder={t("events.typePlaceholder")}
          onChange={(e) => setType(e.target.value)}
          onBlur={() => type.trim() !== (search.type ?? "") && set({ type: type.trim() || undefined })} />
      </form>
      <div className="flex flex-col gap-1">
        <Label htmlFor={`${id}-source`}>{t("events.source")}</Label>
        <select id={`${id}-source`} className={SELECT} value={source} onChange={(e) => {
          const [kind, value] = e.target.value.split(":");
          set({ camera: kind === "camera" ? value : undefined, device: kind === "device" ? value : undefined });
        }}>
          <option value="">{t("events.anySource")}</option>
          {names.data && names.data.cameras.length > 0 && (
            <optgroup label={t("events.cameras")}>
              {names.data.cameras.map((c) => <option key={c.id} value={`camera:${c.id}`}>{c.name}</option>)}
            </optgroup>
          )}
          {names.data && names.data.devices.length > 0 && (
            <optgroup label={t("events.devices")}>
              {names.data.devices.map((d) => <option key={d.id} value={`device:${d.id}`}>{d.name}</option>)}
            </optgroup>
          )}
        </select>
      </div>
      <div className="flex flex-col gap-1">
        <Label htmlFor={`${id}-range`}>{t("events.range")}</Label>
        <select id={`${id}-range`} className={SELECT} value={range} onChange={(e) => {
          const value = e.target.value;
          setCustom(value === "custom");
          if (value === "custom") return;
          set({ hours: value === "all" ? undefined : (Number(value) as RangeHours), since: undefined, until: undefined });
        }}>
          <option value="all">{t("events.ranges.all")}</option>
          {RANGES.map((hours) => <option key={hours} value={hours}>{t(`events.ranges.h${hours}`)}</option>)}
          <option value="custom">{t("events.ranges.custom")}</option>
        </select>
      </div>
      <div className="flex flex-col gap-1">
        <Label htmlFor={`${id}-likely`}>{t("events.falseAlarm.filter")}</Label>
        <select id={`${id}-likely`} className={SELECT} value={search.likely === undefined ? "" : String(search.likely)}
          onChange={(e) => set({ likely: e.target.value === "" ? undefined : e.target.value === "true" })}>
          <option value="">{t("events.falseAlarm.any")}</option>
          <option value="true">{t("events.falseAlarm.only")}</option>
          <option value="false">{t("events.falseAlarm.not")}</option>
        </select>
      </div>
      {custom && (["since", "until"] as const).map((bound) => (
        <div key={bound} className="flex flex-col gap-1">
          <Label htmlFor={`${id}-${bound}`}>{t(`events.${bound}`)}</Label>
          <Input id={`${id}-${bound}`} type="datetime-local" className="w-52"
            value={search[bound] ? toZonedInput(search[bound], timeZone) : ""}
            onChange={(e) => set({ hours: undefined, [bound]: fromZonedInput(e.target.value, timeZone) })} />
        </div>
      ))}
      {isFiltered(search) && (
        <Button variant="outline" size="sm" onClick={() => { setCustom(false); go({}); }}>{t("events.clear")}</Button>
      )}
    </section>
  );
}
