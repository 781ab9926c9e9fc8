/**
 * A camera's zones (polygons) and lines drawn over its live picture: draw, move points, rename,
 * delete, save through the API (PATCH replaces both lists). Usable without a mouse: the picture
 * takes focus and a cross-hair moves with the arrows (Enter places a point); each point is a
 * button whose arrows move it and Delete removes it. Viewers see the shapes, without the tools.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Trash2 } from "lucide-react";
import { type KeyboardEvent, type PointerEvent, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { api } from "@/app";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { cn } from "@/lib/utils";

import { CameraView } from "./CameraView";
import { type Camera, fieldErrors } from "./queries";
import { clamp, freshName, nudge, type Point, type Shape, type ShapeKind, type ShapeProblem, shapeOfField, shapeProblem, shapesBody, shapesOf } from "./zones";

const STEP = 0.01;
const BIG_STEP = 0.05;

interface Drawing {
  kind: ShapeKind;
  name: string;
  points: Point[];
}

function arrow(event: KeyboardEvent): [number, number] | null {
  const step = event.shiftKey ? BIG_STEP : STEP;
  switch (event.key) {
    case "ArrowLeft": return [-step, 0];
    case "ArrowRight": return [step, 0];
    case "ArrowUp": return [0, -step];
    case "ArrowDown": return [0, step];
    default: return null;
  }
}

const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const svgPoints = (points: readonly Point[]) => points.map(([x, y]) => `${x * 1000},${y * 1000}`).join(" ");

export function ZoneEditor({ camera, canEdit, active }: { camera: Camera; canEdit: boolean; active: boolean }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [shapes, setShapes] = useState<Shape[]>(() => shapesOf(camera));
  const [dirty, setDirty] = useState(false);
  const [selected, setSelected] = useState<number | null>(null);
  const [drawing, setDrawing] = useState<Drawing | null>(null);
  const [cursor, setCursor] = useState<Point>([0.5, 0.5]);
  const [serverProblems, setServerProblems] = useState<Map<number, string>>(new Map());
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const canvas = useRef<HTMLDivElement>(null);
  const dragging = useRef<{ shape: number; point: number } | null>(null);

  // A saved camera (another tab, a save here) replaces the shapes unless they were being edited.
  useEffect(() => {
    if (!dirty) setShapes(shapesOf(camera));
  }, [camera, dirty]);

  const change = (next: Shape[]) => {
    setShapes(next);
    setDirty(true);
    setMessage(null);
    setServerProblems(new Map());
  };

  const save = useMutation({
    mutationFn: async () => {
      const { data, error, response } = await api.PATCH("/api/v1/cameras/{id}/", {
        params: { path: { id: camera.id } }, body: shapesBody(shapes),
      });
      if (error !== undefined || !data) throw Object.assign(new Error(`${response.status}`), { body: error });
      return data;
    },
    onSuccess: (saved) => {
      queryClient.setQueryData(["cameras", "one", camera.id], saved);
      void queryClient.invalidateQueries({ queryKey: ["cameras"] });
      setShapes(shapesOf(saved));
      setDirty(false);
      setMessage({ ok: true, text: t("cameras.zones.saved") });
    },
    onError: (error: Error & { body?: unknown }) => {
      const { message: text, fields } = fieldErrors(error.body);
      const problems = new Map<number, string>();
      for (const [field, errors] of Object.entries(fields)) {
        const index = shapeOfField(shapes, field);
        if (index !== null) problems.set(index, errors.join(" "));
      }
      setServerProblems(problems);
      setMessage({ ok: false, text: text || error.message });
    },
  });

  const problemText = (problem: ShapeProblem) => t(`cameras.zones.problem.${problem.key}`, problem);
  const problems = shapes.map((_, i) => shapeProblem(shapes, i));
  const valid = problems.every((p) => p === null);

  const at = (event: { clientX: number; clientY: number }): Point => {
    const box = canvas.current!.getBoundingClientRect();
    return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  };

  const start = (kind: ShapeKind) => {
    setDrawing({ kind, name: freshName(shapes, kind, t(kind === "zone" ? "cameras.zones.zoneBase" : "cameras.zones.lineBase")), points: [] });
    setSelected(null);
    setMessage(null);
    canvas.current?.focus();
  };

  const place = (point: Point) => {
    if (!drawing) return;
    const points = [...drawing.points, point];
    if (drawing.kind === "line" && points.length === 2) finish({ ...drawing, points });
    else setDrawing({ ...drawing, points });
  };

  const finish = (done: Drawing | null = drawing) => {
    if (!done) return;
    const enough = done.kind === "zone" ? done.points.length >= 3 : done.points.length === 2;
    setDrawing(null);
    if (!enough) return;
    change([...shapes, { kind: done.kind, name: done.name, points: done.points }]);
    setSelected(shapes.length);
  };

  const onCanvasKey = (event: KeyboardEvent<HTMLDivElement>) => {
    if (!drawing || event.target !== event.currentTarget) return;
    const move = arrow(event);
    if (move) {
      event.preventDefault();
      setCursor(([x, y]) => [clamp(x + move[0]), clamp(y + move[1])]);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      place(cursor);
    } else if (event.key === "Escape") {
      setDrawing(null);
    }
  };

  const onPointKey = (event: KeyboardEvent, shape: number, point: number) => {
    const move = arrow(event);
    if (move) {
      event.preventDefault();
      change(shapes.map((s, i) => (i === shape ? { ...s, points: nudge(s.points, point, move[0], move[1]) } : s)));
    } else if ((event.key === "Delete" || event.key === "Backspace") && shapes[shape]!.kind === "zone" && shapes[shape]!.points.length > 3) {
      event.preventDefault();
      change(shapes.map((s, i) => (i === shape ? { ...s, points: s.points.filter((_, j) => j !== point) } : s)));
    }
  };

  const onPointerMove = (event: PointerEvent) => {
    const drag = dragging.current;
    if (!drag) return;
    const [x, y] = at(event);
    change(shapes.map((s, i) => (i === drag.shape ? { ...s, points: s.points.map((p, j) => (j === drag.point ? [x, y] : p)) } : s)));
  };

  return (
    <section className="flex flex-col gap-3" aria-labelledby="zones-title">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="zones-title" className="text-lg font-semibold">{t("cameras.zones.title")}</h2>
        {canEdit && (
          <div className="flex flex-wrap gap-2">
            {drawing ? (
              <>
                {drawing.kind === "zone" && (
                  <Button size="sm" onClick={() => finish()} disabled={drawing.points.length < 3}>{t("cameras.zones.finish")}</Button>
                )}
                <Button size="sm" variant="outline" onClick={() => setDrawing(null)}>{t("cameras.zones.cancel")}</Button>
              </>
            ) : (
              <>
                <Button size="sm" variant="outline" onClick={() => start("zone")}>{t("cameras.zones.newZone")}</Button>
                <Button size="sm" variant="outline" onClick={() => start("line")}>{t("cameras.zones.newLine")}</Button>
              </>
            )}
          </div>
        )}
      </div>
      {canEdit ? <p className="text-xs text-muted-foreground">{t("cameras.zones.help")}</p>
        : <p className="text-xs text-muted-foreground">{t("cameras.zones.readOnly")}</p>}

      <CameraView camera={camera.id} name={camera.name} enabled={camera.enabled !== false} active={active} className="mx-auto w-full" maxHeight="70vh">
        <div ref={canvas} className={cn("absolute inset-0 touch-none focus-visible:outline-2 focus-visible:outline-ring", drawing && "cursor-crosshair")}
          data-testid="zone-canvas" tabIndex={canEdit ? 0 : -1} role="group" aria-label={t("cameras.zones.canvas")}
          onClick={(event) => drawing && place(at(event))} onKeyDown={onCanvasKey}
          onPointerMove={onPointerMove} onPointerUp={() => (dragging.current = null)} onPointerCancel={() => (dragging.current = null)}>
          <svg viewBox="0 0 1000 1000" preserveAspectRatio="none" className="absolute inset-0 h-full w-full" aria-hidden>
            {shapes.map((shape, i) => shape.kind === "zone" ? (
              <polygon key={i} points={svgPoints(shape.points)} vectorEffect="non-scaling-stroke" strokeWidth={2}
                className={cn("fill-sky-500/20 stroke-sky-500", selected === i && "fill-sky-500/35 stroke-sky-300", problems[i] && "stroke-red-500")} />
            ) : (
              <polyline key={i} points={svgPoints(shape.points)} vectorEffect="non-scaling-stroke" strokeWidth={3} fill="none"
                className={cn("stroke-amber-400", selected === i && "stroke-amber-200", problems[i] && "stroke-red-500")} />
            ))}
            {drawing && (
              <polyline points={svgPoints(drawing.points)} vectorEffect="non-scaling-stroke" strokeWidth={2} strokeDasharray="6 4"
                fill="none" className="stroke-fuchsia-400" />
            )}
          </svg>
          {drawing && (
            <>
              {drawing.points.map(([x, y], j) => (
                <span key={j} className="absolute size-2.5 -translate-x-1/2 -translate-y-1/2 rounded-full bg-fuchsia-400" style={{ left: pct(x), top: pct(y) }} />
              ))}
              <span className="pointer-events-none absolute size-5 -translate-x-1/2 -translate-y-1/2 rounded-full border-2 border-fuchsia-400"
                style={{ left: pct(cursor[0]), top: pct(cursor[1]) }} aria-hidden />
              <span className="sr-only" role="status">{t("cameras.zones.drawing", { name: drawing.name, count: drawing.points.length })}</span>
            </>
          )}
          {canEdit && !drawing && shapes.map((shape, i) => shape.points.map(([x, y], j) => (
            <button key={`${i}-${j}`} type="button"
              className={cn("absolute size-4 -translate-x-1/2 -translate-y-1/2 cursor-move rounded-full border-2 border-white shadow focus-visible:outline-2 focus-visible:outline-ring",
                shape.kind === "zone" ? "bg-sky-600" : "bg-amber-600")}
              style={{ left: pct(x), top: pct(y) }}
              aria-label={t("cameras.zones.point", { n: j + 1, name: shape.name, x: Math.round(x * 100), y: Math.round(y * 100) })}
              onFocus={() => setSelected(i)} onKeyDown={(event) => onPointKey(event, i, j)}
              onPointerDown={(event) => {
                event.currentTarget.setPointerCapture?.(event.pointerId);
                dragging.current = { shape: i, point: j };
                setSelected(i);
              }}
              onPointerMove={onPointerMove} onPointerUp={() => (dragging.current = null)}
            />
          )))}
        </div>
      </CameraView>

      {shapes.length === 0 ? <p className="text-sm text-muted-foreground">{t("cameras.zones.none")}</p> : (
        <ul className="flex flex-col gap-2" data-testid="shape-list">
          {shapes.map((shape, i) => {
            const problem = serverProblems.get(i) ?? (problems[i] ? problemText(problems[i]!) : null);
            return (
              <li key={i} className={cn("flex flex-wrap items-center gap-2 rounded-md border p-2", selected === i && "border-ring")}
                data-testid="shape" data-kind={shape.kind}>
                <span className={cn("size-3 rounded-sm", shape.kind === "zone" ? "bg-sky-500" : "bg-amber-400")} aria-hidden />
                <span className="w-32 text-xs text-muted-foreground">{t(`cameras.zones.kind.${shape.kind}`)}</span>
                <Input className="h-8 w-48" value={shape.name} readOnly={!canEdit} aria-label={`${t("cameras.zones.name")} (${t(`cameras.zones.kind.${shape.kind}`)})`}
                  aria-invalid={problem ? true : undefined} aria-describedby={problem ? `shape-problem-${i}` : undefined}
                  onFocus={() => setSelected(i)}
                  onChange={(e) => change(shapes.map((s, k) => (k === i ? { ...s, name: e.target.value } : s)))} />
                <span className="text-xs text-muted-foreground">{t("cameras.zones.points", { count: shape.points.length })}</span>
                {problem && <span id={`shape-problem-${i}`} className="text-xs text-destructive">{problem}</span>}
                {canEdit && (
                  <Button size="sm" variant="ghost" className="ml-auto" aria-label={t("cameras.zones.delete", { name: shape.name })}
                    onClick={() => {
                      change(shapes.filter((_, k) => k !== i));
                      setSelected(null);
                    }}>
                    <Trash2 className="size-4" aria-hidden />
                  </Button>
                )}
              </li>
            );
          })}
        </ul>
      )}

      {canEdit && (
        <div className="flex flex-wrap items-center gap-3">
          <Button onClick={() => save.mutate()} disabled={!dirty || !valid || drawing !== null || save.isPending}>
            {save.isPending ? t("cameras.zones.saving") : t("cameras.zones.save")}
          </Button>
          {message ? (
            <p role={message.ok ? "status" : "alert"} className={cn("text-sm", message.ok ? "text-muted-foreground" : "text-destructive")}
              data-testid="zones-message">{message.text}</p>
          ) : dirty && <p className="text-sm text-muted-foreground">{t("cameras.zones.unsaved")}</p>}
        </div>
      )}
    </section>
  );
}
