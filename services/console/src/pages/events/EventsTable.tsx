/**
 * The events as a table (TanStack Table), only the rows in view rendered (TanStack Virtual: a
 * spacer row above and below keep the scroll height), the next page loaded when the end comes into
 * view. Operators get a checkbox per row and one for every loaded row.
 */
import {
  createColumnHelper, type RowSelectionState, rowSelectionFeature, tableFeatures, type Updater, useTable,
} from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Link } from "@tanstack/react-router";
import { useEffect, useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";

import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";

import { FalseAlarmBadge, falseAlarmPercent, SeverityBadge, StatusCell } from "./parts";
import { type EventRow, sourcesOf } from "./search";

const features = tableFeatures({ rowSelectionFeature });
// Left out below a tablet's width (they stay on the event's page), so the rest fits without scrolling far.
const WIDE_ONLY = new Set(["site", "classification", "score", "false_alarm_score"]);
/**
 * On a phone each row is a card, no sideways scrolling: type and severity on top, then the time,
 * who decided what, the sources; the checkbox beside them. The header row keeps only the
 * select-all box in sight (the column names stay for screen readers).
 */
const PHONE_CELL: Record<string, string> = {
  select: "max-sm:col-start-1 max-sm:row-span-4 max-sm:row-start-1 max-sm:pt-0.5",
  event_type: "max-sm:col-start-2 max-sm:row-start-1",
  severity: "max-sm:col-start-3 max-sm:row-start-1",
  time: "max-sm:col-span-2 max-sm:col-start-2 max-sm:row-start-2 max-sm:text-muted-foreground",
  status: "max-sm:col-span-2 max-sm:col-start-2 max-sm:row-start-3",
  sources: "max-sm:col-span-2 max-sm:col-start-2 max-sm:row-start-4 max-sm:text-muted-foreground",
};
const cellClass = (column: string) => cn("px-3 py-2 align-top max-sm:p-0", PHONE_CELL[column],
  WIDE_ONLY.has(column) && "hidden md:table-cell");
const headerClass = (column: string) => cn("px-3 py-2 text-left font-medium text-muted-foreground",
  column === "select" ? "max-sm:block max-sm:pb-2" : "max-sm:sr-only", WIDE_ONLY.has(column) && "hidden md:table-cell");
const helper = createColumnHelper<typeof features, EventRow>();

export interface Names {
  cameras: Map<string, string>;
  devices: Map<string, string>;
}

/** "portão (câmera), celular-1" — the event's cameras and devices by name, each once. */
export function sourceLabel(event: EventRow, names: Names): string {
  const seen = new Set<string>();
  for (const source of sourcesOf(event)) {
    if (source.camera) seen.add(names.cameras.get(source.camera) ?? source.camera.slice(0, 8));
    if (source.device) seen.add(names.devices.get(source.device) ?? source.device.slice(0, 8));
  }
  return [...seen].join(", ");
}

export function EventsTable({ rows, names, timeZone, selectable, selection, onSelectionChange, hasMore,
  loadMore }: {
  rows: EventRow[];
  names: Names;
  timeZone: string;
  selectable: boolean;
  selection: RowSelectionState;
  onSelectionChange: (next: RowSelectionState) => void;
  hasMore: boolean;
  loadMore: () => void;
}) {
  const { t, i18n } = useTranslation();
  const locale = i18n.language;

  const columns = useMemo(() => helper.columns([
    ...(selectable ? [helper.display({
      id: "select",
      header: ({ table }) => (
        <input type="checkbox" className="size-4" aria-label={t("events.selectAll")}
          checked={table.getIsAllRowsSelected()}
          ref={(el) => { if (el) el.indeterminate = table.getIsSomeRowsSelected() && !table.getIsAllRowsSelected(); }}
          onChange={(e) => table.toggleAllRowsSelected(e.target.checked)} />
      ),
      cell: ({ row }) => (
        <input type="checkbox" className="size-4" data-testid="event-select"
          aria-label={t("events.selectRow", { type: row.original.event_type,
            time: formatDateTime(row.original.time, timeZone, locale) })}
          checked={row.getIsSelected()} onChange={(e) => row.toggleSelected(e.target.checked)} />
      ),
    })] : []),
    helper.accessor("time", {
      header: () => t("events.columns.time"),
      cell: (c) => <time dateTime={c.getValue()} className="tabular-nums">{formatDateTime(c.getValue(), timeZone, locale)}</time>,
    }),
    helper.accessor("severity", { header: () => t("events.columns.severity"), cell: (c) => <SeverityBadge severity={c.getValue()} /> }),
    helper.accessor("event_type", {
      header: () => t("events.columns.type"),
      cell: (c) => (
        <span className="flex flex-wrap items-center gap-1.5">
          <Link to="/events/$id" params={{ id: c.row.original.id }} className="font-medium underline-offset-2 hover:underline">
            {c.getValue()}
          </Link>
          <FalseAlarmBadge event={c.row.original} />
        </span>
      ),
    }),
    helper.accessor("status", { header: () => t("events.columns.status"), cell: (c) => <StatusCell event={c.row.original} timeZone={timeZone} /> }),
    helper.accessor("site", { header: () => t("events.columns.site"), cell: (c) => c.getValue() ?? "—" }),
    helper.display({ id: "sources", header: () => t("events.columns.sources"), cell: (c) => sourceLabel(c.row.original, names) || "—" }),
    helper.accessor("classification", {
      header: () => t("events.columns.classification"),
      cell: (c) => t(`events.classifications.${c.getValue()}`),
    }),
    helper.accessor("score", {
      header: () => t("events.columns.score"),
      cell: (c) => c.getValue().toLocaleString(locale, { maximumFractionDigits: 2 }),
    }),
    helper.accessor("false_alarm_score", {
      header: () => t("events.columns.falseAlarm"),
      cell: (c) => <span className="tabular-nums" data-testid="false-alarm-score">{falseAlarmPercent(c.getValue(), locale)}</span>,
    }),
  ]), [selectable, t, timeZone, locale, names]);

  const table = useTable({
    features,
    columns,
    data: rows,
    getRowId: (row) => row.id,
    enableRowSelection: selectable,
    state: { rowSelection: selection },
    onRowSelectionChange: (updater: Updater<RowSelectionState>) =>
      onSelectionChange(typeof updater === "function" ? updater(selection) : updater),
  });

  const scroller = useRef<HTMLDivElement>(null);
  const tableRows = table.getRowModel().rows;
  const virtualizer = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 57,
    overscan: 12,
    getItemKey: (index) => tableRows[index]!.id,
  });
  const items = virtualizer.getVirtualItems();
  const last = items[items.length - 1]?.index ?? -1;
  useEffect(() => {
    if (hasMore && last >= tableRows.length - 20) loadMore();
  }, [hasMore, last, tableRows.length, loadMore]);

  const top = items[0]?.start ?? 0;
  const bottom = virtualizer.getTotalSize() - (items[items.length - 1]?.end ?? 0);
  const width = table.getAllLeafColumns().length;

  return (
    <div ref={scroller} className="max-h-[70vh] overflow-auto rounded-md border" data-testid="events-scroll"
      tabIndex={0} role="region" aria-label={t("events.title")}>
      <table className="w-full border-collapse text-sm max-sm:block sm:min-w-[36rem] md:min-w-[56rem]" data-testid="events-table">
        <thead className="sticky top-0 z-10 bg-background max-sm:block">
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id} className="border-b max-sm:flex">
              {group.headers.map((header) => (
                <th key={header.id} scope="col" className={headerClass(header.column.id)}>
                  {header.isPlaceholder ? null : <table.FlexRender header={header} />}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody className="max-sm:block">
          {top > 0 && <tr aria-hidden="true" className="max-sm:block"><td colSpan={width} style={{ height: top }} className="max-sm:block" /></tr>}
          {items.map((item) => {
            const row = tableRows[item.index]!;
            return (
              <tr key={row.id} data-index={item.index} ref={virtualizer.measureElement} data-testid="event-row"
                data-event-id={row.id} data-status={row.original.status}
                className="border-b last:border-b-0 hover:bg-accent/50 data-[selected=true]:bg-accent max-sm:grid max-sm:grid-cols-[auto_1fr_auto] max-sm:gap-x-3 max-sm:gap-y-1 max-sm:px-3 max-sm:py-2.5"
                data-selected={row.getIsSelected()}>
                {row.getAllCells().map((cell) => (
                  <td key={cell.id} className={cellClass(cell.column.id)}>
                    <table.FlexRender cell={cell} />
                  </td>
                ))}
              </tr>
            );
          })}
          {bottom > 0 && <tr aria-hidden="true" className="max-sm:block"><td colSpan={width} style={{ height: bottom }} className="max-sm:block" /></tr>}
        </tbody>
      </table>
    </div>
  );
}
