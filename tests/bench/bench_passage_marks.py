"""What keeping passages' watch-list marks current costs (vigia.control.observations.marking), on a
throwaway migrated database:

    python tests/bench/bench_passage_marks.py [--passages 300000] [--plates 30000] [--entries 3000]

Loads ``--passages`` passages of the last 30 days (COPY) over ``--plates`` distinct plates and a deny
list of ``--entries`` of those plates, then times, each in its own committed transaction: marking
one passage as the recorder does after writing it, re-marking one plate's passages as adding an
entry does, the first marking of the whole list (every entry's plate at once), a list's rename
(every passage it marks, through the GIN index) and the first page of ``listed=true``. Prints one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from psycopg.types.json import Jsonb

from tests.support.databases import throwaway_database
from vigia.common.plates import look_alike_key
from vigia.control.observations import marking

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def plate(rng: random.Random) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(3)) + str(rng.randint(0, 9)) + rng.choice(
        LETTERS + "0123456789") + f"{rng.randint(0, 99):02d}"


def timed(conn: psycopg.Connection[Any], work: Any) -> tuple[float, int]:
    started = time.perf_counter()
    with conn.transaction(), conn.cursor() as cursor:
        rows = work(cursor)
    return (time.perf_counter() - started) * 1000, rows


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2), "p95": round(ordered[int(len(ordered) * 0.95) - 1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=300_000)
    parser.add_argument("--plates", type=int, default=30_000)
    parser.add_argument("--entries", type=int, default=3_000)
    args = parser.parse_args()
    rng = random.Random(7)
    plates = sorted({plate(rng) for _ in range(args.plates)})
    org, watchlist = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    with throwaway_database("vigia_bench_marks") as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO organizations (id, name, slug, settings, created_at) VALUES (%s, 'Bench', %s, "
                     "'{}', now())", (org, f"bench-{org.hex[:8]}"))
        columns = ("id, org_id, camera_id, site, visit, first_seen, last_seen, label, plate_text, plate_folded, "
                   "confidence, votes, runner_ups, final, watchlist_ids, watchlist_matches, message_time, "
                   "received_at, updated_at")
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY passages ({columns}) FROM STDIN") as copy:
            for n in range(args.passages):
                first = now - timedelta(seconds=rng.random() * 30 * 86400)
                text = rng.choice(plates)
                copy.write_row((uuid.uuid4(), org, uuid.uuid4(), "", f"v{n}", first, first + timedelta(seconds=5),
                                "car", text, look_alike_key(text), 0.9, 3, Jsonb([]), True, [], Jsonb([]), first,
                                first, first))
        conn.execute("INSERT INTO plate_watchlists (id, org_id, name, kind, description, version, created_at, "
                     "updated_at) VALUES (%s, %s, 'stolen', 'deny', '', 1, now(), now())", (watchlist, org))
        listed = rng.sample(plates, args.entries)
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO plate_watchlist_entries (id, org_id, watchlist_id, plate, label, "
                               "created_at, updated_at) VALUES (%s, %s, %s, %s, '', now(), now())",
                               [(uuid.uuid4(), org, watchlist, p) for p in listed])
        conn.execute("VACUUM ANALYZE")
        load_s = time.perf_counter() - started

        whole_ms, whole_rows = timed(conn, lambda c: marking.remark_plates(c, org, listed))
        ids = [row[0] for row in conn.execute("SELECT id FROM passages ORDER BY random() LIMIT 200")]
        mark_one = [timed(conn, lambda c, i=i: c.execute(marking.MARK_PASSAGE, {"id": i}).rowcount)[0] for i in ids]
        entry = [timed(conn, lambda c, p=p: marking.remark_plates(c, org, [p]))[0] for p in rng.sample(listed, 100)]
        conn.execute("UPDATE plate_watchlists SET name = 'stolen vehicles' WHERE id = %s", (watchlist,))
        rename_ms, rename_rows = timed(conn, lambda c: marking.remark_watchlist(c, org, watchlist))
        page = []
        for _ in range(20):
            started = time.perf_counter()
            conn.execute("SELECT id FROM passages WHERE org_id = %s AND CASE WHEN watchlist_ids IS NULL THEN NULL "
                         "ELSE coalesce(array_length(watchlist_ids, 1), 0) END > 0 ORDER BY first_seen DESC, id DESC "
                         "LIMIT 50", (org,)).fetchall()
            page.append((time.perf_counter() - started) * 1000)
    print(json.dumps({
        "bench": "passage_marks", "passages": args.passages, "plates": len(plates), "entries": args.entries,
        "load_s": round(load_s, 1),
        "mark_one_passage_ms": quantiles(mark_one),
        "remark_entry_ms": quantiles(entry), "passages_per_plate": round(args.passages / len(plates), 1),
        "first_marking_of_list": {"ms": round(whole_ms, 1), "passages": whole_rows},
        "rename_list": {"ms": round(rename_ms, 1), "passages": rename_rows,
                        "ms_per_passage": round(rename_ms / max(rename_rows, 1), 4)},
        "listed_first_page_ms": quantiles(page),
    }))


if __name__ == "__main__":
    main()
