"""Shapes drawn on a camera's image: zones (simple polygons) and lines (two points), in normalised
image coordinates — ``x`` from the left edge (0) to the right edge (1), ``y`` from the top (0) to
the bottom (1) — so they hold whatever resolution the camera streams at."""

from __future__ import annotations

from collections.abc import Sequence

Point = Sequence[float]


def _cross(o: Point, a: Point, b: Point) -> float:
    """Twice the signed area of triangle o, a, b: > 0 counter-clockwise, 0 collinear."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, q: Point, r: Point) -> bool:
    """``r``, collinear with ``p``-``q``, lies within their bounding box."""
    return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])


def segments_intersect(p1: Point, p2: Point, p3: Point, p4: Point) -> bool:
    """Whether closed segments p1-p2 and p3-p4 share at least one point (touching counts)."""
    d1, d2 = _cross(p3, p4, p1), _cross(p3, p4, p2)
    d3, d4 = _cross(p1, p2, p3), _cross(p1, p2, p4)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return ((d1 == 0 and _on_segment(p3, p4, p1)) or (d2 == 0 and _on_segment(p3, p4, p2))
            or (d3 == 0 and _on_segment(p1, p2, p3)) or (d4 == 0 and _on_segment(p1, p2, p4)))


def polygon_problem(points: Sequence[Point]) -> str | None:
    """Why ``points`` (in order, the last joined to the first) is not a simple polygon, or None.

    Simple: at least three distinct vertices, no edge crossing or touching another except its two
    neighbours at their shared vertex, no edge doubling back along its neighbour, non-zero area.
    """
    n = len(points)
    if n < 3:
        return "a zone needs at least 3 points"
    seen: dict[tuple[float, float], int] = {}
    for index, point in enumerate(points):
        key = (float(point[0]), float(point[1]))
        if key in seen:
            return f"points {seen[key]} and {index} are the same point"
        seen[key] = index
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        # Neighbours share a vertex; they must not fold back over each other.
        u, v, w = points[i - 1], points[i], points[(i + 1) % n]
        if _cross(u, v, w) == 0 and (u[0] - v[0]) * (w[0] - v[0]) + (u[1] - v[1]) * (w[1] - v[1]) > 0:
            return f"the edges meeting at point {i} overlap"
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # neighbours through the closing edge
            if segments_intersect(*edges[i], *edges[j]):
                return (f"the polygon crosses itself: edge {i}-{(i + 1) % n} meets edge "
                        f"{j}-{(j + 1) % n}")
    area = sum(_cross((0.0, 0.0), points[i], points[(i + 1) % n]) for i in range(n))
    if area == 0:
        return "the polygon has no area"
    return None


def line_problem(points: Sequence[Point]) -> str | None:
    """Why ``points`` is not a line (exactly two distinct points), or None."""
    if len(points) != 2:
        return "a line has exactly 2 points"
    if tuple(points[0]) == tuple(points[1]):
        return "the line's two points are the same"
    return None
