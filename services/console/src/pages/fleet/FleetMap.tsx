/**
 * The map of cameras and devices (MapLibre GL, loaded only when the map is shown): clustered
 * points in their status colour, each cluster with its count (an HTML label: text on the canvas
 * would need glyphs fetched); a click on a cluster zooms in, on a device opens it. Without a
 * configured style (``<meta name="vigia-map-style">``, the setting VIGIA_CONSOLE_MAP_STYLE_URL) the
 * style is built in and nothing is fetched: no tiles, glyphs or sprites, so it works offline and
 * needs no key. The worker is a file of this build (the page's CSP allows no blob: workers).
 * Once drawn, the container says how many things it shows (``data-rendered``).
 */
import "maplibre-gl/dist/maplibre-gl.css";

import {
  type GeoJSONSource, type MapGeoJSONFeature, Map as MapLibre, Marker, NavigationControl, setWorkerUrl,
  type StyleSpecification,
} from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import { useEffect, useMemo, useRef } from "react";
import { useTranslation } from "react-i18next";

import { boundsOf, fleetFeatures, type MapItem, offlineStyle, type Placeable, STATUS_COLOUR } from "./mapData";

setWorkerUrl(workerUrl);

function configuredStyle(): string | null {
  const url = document.querySelector<HTMLMetaElement>('meta[name="vigia-map-style"]')?.content?.trim();
  return url ? url : null;
}

const colourByStatus = ["match", ["get", "status"], ...Object.entries(STATUS_COLOUR).flat(), "#64748b"];

/** Count labels over the clusters now in the source (kept by cluster id, removed when gone). */
function clusterLabels(map: MapLibre): () => void {
  const labels = new Map<number, Marker>();
  const update = () => {
    const seen = new Set<number>();
    for (const feature of map.querySourceFeatures("fleet")) {
      const p = feature.properties as { cluster_id?: number; point_count?: number };
      if (p.cluster_id === undefined || seen.has(p.cluster_id)) continue;
      seen.add(p.cluster_id);
      if (labels.has(p.cluster_id)) continue;
      const element = document.createElement("div");
      element.className = "pointer-events-none text-xs font-semibold text-white";
      element.textContent = String(p.point_count ?? "");
      element.setAttribute("aria-hidden", "true"); // the list and legend beside the map say it in words
      element.dataset.clusterCount = String(p.point_count ?? "");
      const marker = new Marker({ element }).setLngLat((feature.geometry as GeoJSON.Point).coordinates as [number, number]);
      labels.set(p.cluster_id, marker.addTo(map));
    }
    for (const [id, marker] of labels) {
      if (!seen.has(id)) {
        marker.remove();
        labels.delete(id);
      }
    }
  };
  map.on("idle", update);
  return () => labels.forEach((marker) => marker.remove());
}

/** How many things the rendered points and clusters stand for (each counted once). */
function renderedCount(features: MapGeoJSONFeature[]): number {
  const seen = new Map<string, number>();
  for (const feature of features) {
    const p = feature.properties as { cluster_id?: number; point_count?: number; id?: string };
    if (p.cluster_id !== undefined) seen.set(`c${p.cluster_id}`, p.point_count ?? 0);
    else if (p.id) seen.set(`p${p.id}`, 1);
  }
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

export function FleetMap({ devices, cameras, onOpen }: {
  devices: Placeable[];
  cameras: Placeable[];
  onOpen: (item: MapItem) => void;
}) {
  const { t } = useTranslation();
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<MapLibre | null>(null);
  const open = useRef(onOpen);
  open.current = onOpen;
  const { points } = useMemo(() => fleetFeatures(devices, cameras), [devices, cameras]);
  const data = useRef(points);
  data.current = points;

  useEffect(() => {
    const element = container.current!;
    const dark = document.documentElement.classList.contains("dark");
    const style = configuredStyle() ?? (offlineStyle(dark) as StyleSpecification);
    const bounds = boundsOf(data.current);
    const instance = new MapLibre({
      container: element, style, attributionControl: false, dragRotate: false, pitchWithRotate: false,
      center: [-51.9, -14.2], zoom: 3, // Brazil, until the fleet's own bounds are known
      ...(bounds ? { bounds, fitBoundsOptions: { padding: 60, maxZoom: 15 } } : {}),
    });
    map.current = instance;
    instance.addControl(new NavigationControl({ showCompass: false }), "top-right");
    instance.on("load", () => {
      instance.addSource("fleet", { type: "geojson", data: data.current, cluster: true, clusterRadius: 40, clusterMaxZoom: 16 });
      instance.addLayer({ id: "fleet-clusters", type: "circle", source: "fleet", filter: ["has", "point_count"], paint: {
        "circle-color": "#2563eb", "circle-opacity": 0.85, "circle-stroke-color": "#ffffff", "circle-stroke-width": 2,
        "circle-radius": ["step", ["get", "point_count"], 14, 10, 18, 50, 24],
      } });
      instance.addLayer({ id: "fleet-points", type: "circle", source: "fleet", filter: ["!", ["has", "point_count"]], paint: {
        "circle-color": colourByStatus as never, "circle-radius": ["match", ["get", "kind"], "camera", 8, 7],
        "circle-stroke-color": ["match", ["get", "kind"], "camera", "#0f172a", "#ffffff"], "circle-stroke-width": 2,
      } });
    });
    instance.on("click", "fleet-clusters", (event) => {
      const feature = event.features?.[0];
      const id = feature?.properties?.cluster_id as number | undefined;
      if (!feature || id === undefined) return;
      void (instance.getSource("fleet") as GeoJSONSource).getClusterExpansionZoom(id).then((zoom) => {
        instance.easeTo({ center: (feature.geometry as GeoJSON.Point).coordinates as [number, number], zoom });
      });
    });
    instance.on("click", "fleet-points", (event) => {
      const item = event.features?.[0]?.properties as MapItem | undefined;
      if (item) open.current(item);
    });
    const removeLabels = clusterLabels(instance);
    for (const layer of ["fleet-clusters", "fleet-points"]) {
      instance.on("mouseenter", layer, () => { instance.getCanvas().style.cursor = "pointer"; });
      instance.on("mouseleave", layer, () => { instance.getCanvas().style.cursor = ""; });
    }
    instance.on("idle", () => {
      if (!instance.getLayer("fleet-points")) return;
      const drawn = instance.queryRenderedFeatures({ layers: ["fleet-clusters", "fleet-points"] });
      element.dataset.rendered = String(renderedCount(drawn));
      element.dataset.ready = "true";
    });
    return () => {
      removeLabels();
      instance.remove();
      map.current = null;
    };
  }, []);

  // New data (filters, live status changes): the same map, new points.
  useEffect(() => {
    const source = map.current?.getSource("fleet") as GeoJSONSource | undefined;
    source?.setData(points);
  }, [points]);

  return (
    <div ref={container} data-testid="fleet-map" className="h-[24rem] w-full overflow-hidden rounded-lg border"
      role="region" aria-label={t("fleet.mapLabel")} />
  );
}

export default FleetMap;
