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

import type { Device } from "./queries";
import { StatusBadge } from "./StatusBadge";

const features = tableFeatures({});
const ROW_HEIGHT = 41;

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
      <table className="w-full min-w-[40rem] text-left text-sm" data-testid="device-table" aria-rowcount={rows.length + 1}>
        <thead className="sticky top-0 z-10 bg-card text-muted-foreground">
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
        <tbody>
          {top > 0 && <tr aria-hidden="true"><td style={{ height: top }} colSpan={columns.length} /></tr>}
          {items.map((item) => {
            const row = rows[item.index]!;
            return (
              <tr key={row.id} className="border-t" style={{ height: ROW_HEIGHT }} data-testid="device-row"
                aria-rowindex={item.index + 2}>
                {row.getAllCells().map((cell) => (
                  <td key={cell.id} className="px-3 py-2">{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                ))}
              </tr>
            );
          })}
          {bottom > 0 && <tr aria-hidden="true"><td style={{ height: bottom }} colSpan={columns.length} /></tr>}
        </tbody>
      </table>
    </div>
  );
}
