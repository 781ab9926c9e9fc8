"""Tolerant plate search: OCR confusions still find the vehicle, the exact plate ranks first, and
the query is answered by the GIN trigram index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from vigia.control.observations.plates import normalise_plate
from vigia.control.observations.queries import PlateQuery, plate_matches_sql, set_similarity_threshold

pytestmark = pytest.mark.django_db

URL = "/api/v1/detections/search"


def test_normalise_plate_keeps_upper_case_letters_and_digits():
    assert normalise_plate(" abc-1d23 ") == "ABC1D23"
    assert normalise_plate("--") is None
    assert normalise_plate(None) is None


def test_ocr_confused_plate_finds_the_real_one(api, viewer, make_detection):
    real = make_detection(plate_text="ABC1D23")
    make_detection(plate_text="XYZ9K88")
    response = api(viewer).get(URL, {"plate": "ABC1O23"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "ABC1O23"
    assert [row["id"] for row in body["results"]] == [str(real.id)]
    assert 0.3 <= body["results"][0]["similarity"] < 1
    assert [p["plate_text"] for p in body["plates"]] == ["ABC1D23"]


def test_exact_plate_ranks_first_then_closer_matches(api, viewer, make_detection):
    now = datetime.now(UTC)
    confused = make_detection(plate_text="ABC1D23", time=now - timedelta(minutes=1))
    exact_old = make_detection(plate_text="ABC1O23", time=now - timedelta(hours=3))
    exact_new = make_detection(plate_text="ABC1O23", time=now - timedelta(hours=1))
    make_detection(plate_text="QRS4T56")
    response = api(viewer).get(URL + "?plate=abc-1o23")
    results = response.json()["results"]
    # exact (similarity 1) first, newest first among equals, then the OCR-confused one
    assert [r["id"] for r in results] == [str(exact_new.id), str(exact_old.id), str(confused.id)]
    assert results[0]["similarity"] == 1.0
    plates = response.json()["plates"]
    assert [(p["plate_text"], p["detections"]) for p in plates] == [("ABC1O23", 2), ("ABC1D23", 1)]


def test_plate_search_never_returns_other_orgs_detections(api, outsider, make_detection):
    make_detection(plate_text="ABC1D23")
    response = api(outsider).get(URL, {"plate": "ABC1D23"})
    assert response.json()["results"] == []


def test_threshold_and_camera_narrow_the_search(api, viewer, make_detection):
    camera = uuid.uuid4()
    at_camera = make_detection(plate_text="ABC1D23", camera_id=camera)
    make_detection(plate_text="ABC1D23")
    client = api(viewer)
    assert [r["id"] for r in client.get(URL, {"plate": "ABC1D23", "camera": str(camera)}).json()[
        "results"]] == [str(at_camera.id)]
    assert client.get(URL, {"plate": "ABC1O23", "threshold": "0.9"}).json()["results"] == []


@pytest.mark.parametrize(("query", "field"), [({}, "plate"), ({"plate": "--"}, "plate"),
                                              ({"plate": "ABC", "threshold": "5"}, "threshold"),
                                              ({"plate": "ABC", "since": "soon"}, "since")])
def test_bad_search_parameters_are_400_naming_them(api, viewer, query, field):
    response = api(viewer).get(URL, query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_plate_search_uses_the_gin_trigram_index(org):
    # 50k rows, a quarter without a plate: enough for the planner to prefer the index.
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO detections (id, org_id, camera_id, time, label, confidence, box, plate_text,
                                    received_at)
            SELECT gen_random_uuid(), %s, gen_random_uuid(), now() - g * interval '1 second', 'car', 0.9,
                   '{}', CASE WHEN g %% 4 = 0 THEN NULL ELSE upper(substr(md5(g::text), 1, 3))
                   || (g %% 10)::text || upper(substr(md5(g::text), 5, 1)) || lpad((g %% 100)::text, 2, '0')
                   END, now()
            FROM generate_series(1, 50000) g""", [org.id])
        cursor.execute("ANALYZE detections")
    sql, params = plate_matches_sql(org.id, PlateQuery("ABC1O23", 0.3), 50)
    with transaction.atomic(), connection.cursor() as cursor:
        set_similarity_threshold(0.3)
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "detections_plate_trgm" in plan, plan
    assert "Seq Scan" not in plan, plan
