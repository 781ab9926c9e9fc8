/**
 * The device list: TanStack Table for the columns, TanStack Virtual so a fleet of thousands renders
 * only the rows in view (spacer rows keep the scroll height and the table's semantics).
 */
import { type ColumnDef, flexRender, tableFeatures, useTable } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Link } from "@tanstack/react-router";
import { useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";

import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";

import type { Device } from "./queries";
import { StatusBadge } from "./StatusBadge";

const features = tableFeatures({});
const ROW_HEIGHT = 41;
/**
 * On a phone each row is a card, no sideways scrolling: the name and its status on top, then kind,
 * site and last seen; the header row stays for screen readers only. Rows are measured (a card is
 * taller than a table row).
 */
const PHONE_CELL: Record<string, string> = {
  name: "max-sm:col-start-1 max-sm:row-start-1",
  status: "max-sm:col-start-3 max-sm:row-start-1 max-sm:justify-self-end",
  kind: "max-sm:col-start-1 max-sm:row-start-2 max-sm:text-muted-foreground",
  site: "max-sm:col-start-2 max-sm:row-start-2 max-sm:text-muted-foreground",
  last_seen: "max-sm:col-span-3 max-sm:col-start-1 max-sm:row-start-3 max-sm:text-muted-foreground",
};

export function DeviceTable({ devices, timeZone }: { devices: Device[]; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const columns = useMemo<ColumnDef<typeof features, Device>[]>(() => [
    {
      id: "name", header: t("fleet.name"), accessorFn: (d) => d.name,
      cell: ({ row }) => (
        <Link to="/fleet/$id" params={{ id: row.original.id }} className="font-medium underline-offset-4 hover:underline">
          {row.original.name}
        </Link>
      ),
    },
    { id: "status", header: t("fleet.status"), accessorFn: (d) => d.status,
      cell: ({ row }) => <StatusBadge status={row.original.status} /> },
    { id: "kind", header: t("fleet.kind"), accessorFn: (d) => d.kind,
      cell: ({ row }) => t(`fleet.kinds.${row.original.kind}`) },
    { id: "site", header: t("fleet.site"), accessorFn: (d) => d.site || d.location || "—" },
    { id: "last_seen", header: t("fleet.lastSeen"), accessorFn: (d) => d.last_seen,
      cell: ({ row }) => row.original.last_seen
        ? <time dateTime={row.original.last_seen}>{formatDateTime(row.original.last_seen, timeZone, i18n.language)}</time>
        : t("fleet.never") },
  ], [t, i18n.language, timeZone]);

  const table = useTable({ features, columns, data: devices, getRowId: (row) => row.id });
  const rows = table.getRowModel().rows;
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 10,
  });
  const items = virtual.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = virtual.getTotalSize() - (items[items.length - 1]?.end ?? 0);

  return (
    <div ref={scroller} className="max-h-[28rem] overflow-auto rounded-lg border" tabIndex={0}
      role="region" aria-label={t("fleet.devices")}>
      <table className="w-full text-left text-sm max-sm:block sm:min-w-[40rem]" data-testid="device-table" aria-rowcount={rows.length + 1}>
        <thead className="sticky top-0 z-10 bg-card text-muted-foreground max-sm:sr-only">
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id} scope="col" className="px-3 py-2 font-medium">
                  {flexRender(header.column.columnDef.header, header.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody className="max-sm:block">
          {top > 0 && <tr aria-hidden="true" className="max-sm:block"><td style={{ height: top }} colSpan={columns.length} className="max-sm:block" /></tr>}
          {items.map((item) => {
            const row = rows[item.index]!;
            return (
              <tr key={row.id} data-index={item.index} ref={virtual.measureElement} data-testid="device-row"
                className="h-[41px] border-t max-sm:grid max-sm:h-auto max-sm:grid-cols-[auto_1fr_auto] max-sm:gap-x-3 max-sm:gap-y-1 max-sm:px-3 max-sm:py-2.5"
                aria-rowindex={item.index + 2}>
                {row.getAllCells().map((cell) => (
                  <td key={cell.id} className={cn("px-3 py-2 max-sm:p-0", PHONE_CELL[cell.column.id])}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            );
          })}
          {bottom > 0 && <tr aria-hidden="true" className="max-sm:block"><td style={{ height: bottom }} colSpan={columns.length} className="max-sm:block" /></tr>}
        </tbody>
      </table>
    </div>
  );
}
