/**
 * What the fleet map draws: cameras and devices that have coordinates as GeoJSON points with their
 * status colour, the ones that have none listed apart (never placed at an invented position), and
 * the built-in style that needs no network: a plain background and a graticule, no tiles, glyphs
 * or sprites. A configured style URL replaces it (the setting VIGIA_CONSOLE_MAP_STYLE_URL).
 */
import type { FeatureCollection, LineString, Point } from "geojson";

export type Thing = "device" | "camera";

export interface Placeable {
  id: string;
  name: string;
  status: string;
  latitude?: number | null;
  longitude?: number | null;
}

export interface MapItem {
  kind: Thing;
  id: string;
  name: string;
  status: string;
}

/** Status colours, the same in light and dark: green working, amber warning, red failing, grey off. */
export const STATUS_COLOUR: Record<string, string> = {
  ON: "#16a34a", online: "#16a34a",
  WARNING: "#d97706", provisioning: "#0284c7",
  error: "#dc2626",
  OFF: "#64748b", offline: "#64748b",
};

function placed(thing: Placeable): boolean {
  const { latitude: lat, longitude: lon } = thing;
  return typeof lat === "number" && typeof lon === "number" && Number.isFinite(lat) && Number.isFinite(lon)
    && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
}

/** The points to draw and what has no position. */
export function fleetFeatures(devices: readonly Placeable[], cameras: readonly Placeable[]): {
  points: FeatureCollection<Point, MapItem>;
  unplaced: MapItem[];
} {
  const points: FeatureCollection<Point, MapItem> = { type: "FeatureCollection", features: [] };
  const unplaced: MapItem[] = [];
  const add = (kind: Thing) => (thing: Placeable) => {
    const item: MapItem = { kind, id: thing.id, name: thing.name, status: thing.status };
    if (placed(thing)) {
      points.features.push({ type: "Feature", geometry: { type: "Point", coordinates: [thing.longitude!, thing.latitude!] },
        properties: item });
    } else {
      unplaced.push(item);
    }
  };
  cameras.forEach(add("camera"));
  devices.forEach(add("device"));
  return { points, unplaced };
}

/** The west, south, east and north edges around ``points`` (null when there are none). */
export function boundsOf(points: FeatureCollection<Point>): [number, number, number, number] | null {
  if (points.features.length === 0) return null;
  let [w, s, e, n] = [180, 90, -180, -90];
  for (const feature of points.features) {
    const [lon, lat] = feature.geometry.coordinates as [number, number];
    w = Math.min(w, lon); e = Math.max(e, lon); s = Math.min(s, lat); n = Math.max(n, lat);
  }
  return [w, s, e, n];
}

/** Meridians and parallels every ``step`` degrees: something to see the map move against. */
export function graticule(step = 10): FeatureCollection<LineString> {
  const features: FeatureCollection<LineString>["features"] = [];
  for (let lon = -180; lon <= 180; lon += step) {
    features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: [[lon, -85], [lon, 85]] } });
  }
  for (let lat = -80; lat <= 80; lat += step) {
    features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: [[-180, lat], [180, lat]] } });
  }
  return { type: "FeatureCollection", features };
}

/** The built-in style: background and graticule in the theme's colours; nothing fetched. */
export function offlineStyle(dark: boolean) {
  return {
    version: 8 as const,
    sources: { graticule: { type: "geojson" as const, data: graticule() } },
    layers: [
      { id: "background", type: "background" as const, paint: { "background-color": dark ? "#0f172a" : "#f1f5f9" } },
      { id: "graticule", type: "line" as const, source: "graticule",
        paint: { "line-color": dark ? "#334155" : "#cbd5e1", "line-width": 1 } },
    ],
  };
}
