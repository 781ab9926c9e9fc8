/**
 * Zones (simple polygons) and lines (two points) drawn on a camera's image, in normalised image
 * coordinates: x from the left edge (0) to the right (1), y from the top (0) to the bottom (1), as
 * control stores them. The checks mirror control's (vigia.control.cameras.geometry) so the editor
 * says what is wrong before saving; control checks again and its answer wins.
 */
export type Point = [number, number];
export type ShapeKind = "zone" | "line";

export interface Shape {
  kind: ShapeKind;
  name: string;
  points: Point[];
}

export interface NamedPoints {
  name: string;
  points: Point[];
}

export interface CameraShapes {
  zones?: { name: string; points: number[][] }[];
  lines?: { name: string; points: number[][] }[];
}

/** The camera's zones then its lines, as one list the editor works on. */
export function shapesOf(camera: CameraShapes): Shape[] {
  const pts = (points: number[][]) => points.map(([x, y]) => [x ?? 0, y ?? 0] as Point);
  return [
    ...(camera.zones ?? []).map((z) => ({ kind: "zone" as const, name: z.name, points: pts(z.points) })),
    ...(camera.lines ?? []).map((l) => ({ kind: "line" as const, name: l.name, points: pts(l.points) })),
  ];
}

/** The PATCH body that replaces the camera's zones and lines. */
export function shapesBody(shapes: readonly Shape[]): { zones: NamedPoints[]; lines: NamedPoints[] } {
  const of = (kind: ShapeKind) => shapes.filter((s) => s.kind === kind).map((s) => ({ name: s.name.trim(), points: s.points.map(round) }));
  return { zones: of("zone"), lines: of("line") };
}

function round([x, y]: Point): Point {
  return [Math.round(x * 10_000) / 10_000, Math.round(y * 10_000) / 10_000];
}

/** ``value`` kept within the image. */
export function clamp(value: number): number {
  return Math.min(1, Math.max(0, value));
}

/** ``points`` with point ``index`` moved by (dx, dy), kept within the image. */
export function nudge(points: readonly Point[], index: number, dx: number, dy: number): Point[] {
  return points.map((p, i) => (i === index ? [clamp(p[0] + dx), clamp(p[1] + dy)] : p));
}

/** A name of the form "<base> <n>" that no shape of that kind has yet. */
export function freshName(shapes: readonly Shape[], kind: ShapeKind, base: string): string {
  const taken = new Set(shapes.filter((s) => s.kind === kind).map((s) => s.name));
  for (let n = 1; ; n++) if (!taken.has(`${base} ${n}`)) return `${base} ${n}`;
}

function cross(o: Point, a: Point, b: Point): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

function onSegment(p: Point, q: Point, r: Point): boolean {
  return Math.min(p[0], q[0]) <= r[0] && r[0] <= Math.max(p[0], q[0]) && Math.min(p[1], q[1]) <= r[1] && r[1] <= Math.max(p[1], q[1]);
}

/** Whether closed segments p1-p2 and p3-p4 share a point (touching counts). */
export function segmentsIntersect(p1: Point, p2: Point, p3: Point, p4: Point): boolean {
  const d1 = cross(p3, p4, p1), d2 = cross(p3, p4, p2), d3 = cross(p1, p2, p3), d4 = cross(p1, p2, p4);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (d1 === 0 && onSegment(p3, p4, p1)) || (d2 === 0 && onSegment(p3, p4, p2))
    || (d3 === 0 && onSegment(p1, p2, p3)) || (d4 === 0 && onSegment(p1, p2, p4));
}

export type ShapeProblem =
  | { key: "tooFewPoints" }
  | { key: "samePoint"; a: number; b: number }
  | { key: "overlap"; at: number }
  | { key: "crosses"; a: number; b: number }
  | { key: "noArea" }
  | { key: "noName" }
  | { key: "duplicateName" };

/** Why ``points`` is not a simple polygon (control's rules), or null. */
export function polygonProblem(points: readonly Point[]): ShapeProblem | null {
  const n = points.length;
  if (n < 3) return { key: "tooFewPoints" };
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = `${points[i]![0]},${points[i]![1]}`;
    const before = seen.get(key);
    if (before !== undefined) return { key: "samePoint", a: before, b: i };
    seen.set(key, i);
  }
  const at = (i: number) => points[((i % n) + n) % n]!;
  for (let i = 0; i < n; i++) {
    const u = at(i - 1), v = at(i), w = at(i + 1);
    if (cross(u, v, w) === 0 && (u[0] - v[0]) * (w[0] - v[0]) + (u[1] - v[1]) * (w[1] - v[1]) > 0) return { key: "overlap", at: i };
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue;
      if (segmentsIntersect(at(i), at(i + 1), at(j), at(j + 1))) return { key: "crosses", a: i, b: j };
    }
  }
  let area = 0;
  for (let i = 0; i < n; i++) area += cross([0, 0], at(i), at(i + 1));
  return area === 0 ? { key: "noArea" } : null;
}

/** What is wrong with shape ``index`` of ``shapes`` (name, then geometry), or null. */
export function shapeProblem(shapes: readonly Shape[], index: number): ShapeProblem | null {
  const shape = shapes[index]!;
  const name = shape.name.trim();
  if (!name) return { key: "noName" };
  if (shapes.some((s, i) => i !== index && s.kind === shape.kind && s.name.trim() === name)) return { key: "duplicateName" };
  if (shape.kind === "zone") return polygonProblem(shape.points);
  if (shape.points.length !== 2) return { key: "tooFewPoints" };
  const [a, b] = shape.points as [Point, Point];
  return a[0] === b[0] && a[1] === b[1] ? { key: "samePoint", a: 0, b: 1 } : null;
}

/** Which shape an API field error such as ``zones.1.points`` or ``lines.0.name`` is about. */
export function shapeOfField(shapes: readonly Shape[], field: string): number | null {
  const match = /^(zones|lines)\.(\d+)/.exec(field);
  if (!match) return null;
  const kind: ShapeKind = match[1] === "zones" ? "zone" : "line";
  const nth = Number(match[2]);
  let seen = -1;
  for (let i = 0; i < shapes.length; i++) {
    if (shapes[i]!.kind === kind && ++seen === nth) return i;
  }
  return null;
}
