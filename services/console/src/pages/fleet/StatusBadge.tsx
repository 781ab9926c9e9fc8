/** A device's or camera's status as a coloured dot and its name (the colour is never the only cue). */
import { useTranslation } from "react-i18next";

import { STATUS_COLOUR } from "./mapData";

export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation();
  return (
    <span className="inline-flex items-center gap-1.5" data-status={status}>
      <span className="size-2.5 rounded-full" style={{ backgroundColor: STATUS_COLOUR[status] ?? "#64748b" }} aria-hidden="true" />
      {t(`fleet.statuses.${status}`, { defaultValue: status })}
    </span>
  );
}
