/**
 * The one-click download of an event's evidence bundle: every file fetched from its signed URL,
 * checked against the SHA-256 the manifest lists (where the page may hash: a secure context), put
 * in one ZIP named after the event, and saved through a link to the blob.
 */
import type { EvidenceFile } from "../queries";
import type { EventRow } from "../search";
import { zip } from "./zip";

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The archive's name: ``vigia-evento-<type>-<id>.zip`` (the type made safe for a file name). */
export function bundleName(event: Pick<EventRow, "id" | "event_type">): string {
  const type = event.event_type.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-|-$/g, "") || "evento";
  return `vigia-evento-${type}-${event.id}.zip`;
}

export async function downloadBundle(event: EventRow, files: EvidenceFile[],
  mismatch: (name: string) => string): Promise<void> {
  const entries = await Promise.all(files.map(async (file) => {
    const response = await fetch(file.url);
    if (!response.ok) throw new Error(`${file.name}: HTTP ${response.status}`);
    const data = new Uint8Array(await response.arrayBuffer());
    const digest = file.sha256 ? await sha256(data) : null;
    if (digest !== null && digest !== file.sha256) throw new Error(mismatch(file.name));
    return { name: file.name, data };
  }));
  const blob = new Blob([zip(entries)], { type: "application/zip" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = bundleName(event);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
