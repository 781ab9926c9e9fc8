import { describe, expect, it } from "vitest";

import { freshName, nudge, polygonProblem, type Shape, shapeOfField, shapeProblem, shapesBody, shapesOf } from "./zones";

const square: [number, number][] = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]];

describe("polygonProblem (control's rules)", () => {
  it("accepts a simple polygon", () => {
    expect(polygonProblem(square)).toBeNull();
    expect(polygonProblem([[0, 0], [1, 0], [0.5, 1]])).toBeNull();
  });

  it("names what is wrong", () => {
    expect(polygonProblem(square.slice(0, 2))).toEqual({ key: "tooFewPoints" });
    expect(polygonProblem([[0.1, 0.1], [0.5, 0.1], [0.1, 0.1]])).toEqual({ key: "samePoint", a: 0, b: 2 });
    // a bow tie: edge 0-1 meets edge 2-3
    expect(polygonProblem([[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]])).toEqual({ key: "crosses", a: 0, b: 2 });
    expect(polygonProblem([[0, 0], [0.5, 0], [0.25, 0]])?.key).toBe("overlap");
  });
});

describe("editing", () => {
  it("moves a point within the image only", () => {
    expect(nudge(square, 1, 0.6, -0.2)).toEqual([[0.1, 0.1], [1, 0], [0.5, 0.5], [0.1, 0.5]]);
  });

  it("finds a free name per kind", () => {
    const shapes: Shape[] = [{ kind: "zone", name: "Zona 1", points: square }, { kind: "line", name: "Zona 2", points: [] }];
    expect(freshName(shapes, "zone", "Zona")).toBe("Zona 2");
    expect(freshName(shapes, "line", "Linha")).toBe("Linha 1");
  });

  it("checks names and lines", () => {
    const shapes: Shape[] = [
      { kind: "zone", name: "a", points: square },
      { kind: "zone", name: "a ", points: square },
      { kind: "line", name: "a", points: [[0, 0], [0, 0]] },
      { kind: "line", name: " ", points: [[0, 0], [1, 1]] },
    ];
    expect(shapeProblem(shapes, 0)).toEqual({ key: "duplicateName" });
    expect(shapeProblem(shapes, 2)).toEqual({ key: "samePoint", a: 0, b: 1 });
    expect(shapeProblem(shapes, 3)).toEqual({ key: "noName" });
  });
});

describe("the API's shape", () => {
  it("round-trips zones then lines, names trimmed, coordinates rounded", () => {
    const shapes = shapesOf({ zones: [{ name: "pátio", points: square }], lines: [{ name: "portão", points: [[0, 0.5], [1, 0.5]] }] });
    expect(shapes.map((s) => s.kind)).toEqual(["zone", "line"]);
    shapes[0]!.name = " pátio ";
    shapes[1]!.points[0] = [0.123456, 0.5];
    expect(shapesBody(shapes)).toEqual({ zones: [{ name: "pátio", points: square }], lines: [{ name: "portão", points: [[0.1235, 0.5], [1, 0.5]] }] });
  });

  it("maps a field error to its shape", () => {
    const shapes: Shape[] = [
      { kind: "line", name: "l0", points: [] }, { kind: "zone", name: "z0", points: [] }, { kind: "zone", name: "z1", points: [] },
    ];
    expect(shapeOfField(shapes, "zones.1.points")).toBe(2);
    expect(shapeOfField(shapes, "lines.0.name")).toBe(0);
    expect(shapeOfField(shapes, "zones")).toBeNull();
    expect(shapeOfField(shapes, "zones.5")).toBeNull();
  });
});
