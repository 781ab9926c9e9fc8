/** The cameras grid's URL: its search params (filter, tile size), and the filter itself. */

/** Cameras whose name, site or place contains ``q`` (``?q=``), case and accents ignored. */
export function matches(camera: { name: string; site?: string; location?: string }, q: string | undefined): boolean {
  if (!q?.trim()) return true;
  const fold = (s: string) => s.normalize("NFD").replace(/\p{Diacritic}/gu, "").toLowerCase();
  const needle = fold(q.trim());
  return [camera.name, camera.site ?? "", camera.location ?? ""].some((s) => fold(s).includes(needle));
}

export const TILE_SIZES = ["s", "m", "l"] as const;
export type TileSize = (typeof TILE_SIZES)[number];

export interface CamerasSearch {
  q?: string;
  /** Tile size; small tiles fit fifty cameras on a control-room screen. */
  size?: TileSize;
}

export function parseCamerasSearch(search: Record<string, unknown>): CamerasSearch {
  const found: CamerasSearch = {};
  if (typeof search.q === "string" && search.q.trim()) found.q = search.q.slice(0, 100);
  if (search.size === "s" || search.size === "l") found.size = search.size;
  return found;
}
