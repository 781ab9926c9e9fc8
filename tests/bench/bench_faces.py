"""Face recognition benchmark: ONE JSON line.

The models vision and control use (vigia.common.faces: dlib's HOG detector, 5-point alignment,
128-d ResNet; from the registry packages dlib-bin and face-recognition-models) on the real photos
of tests/data/faces (see its LICENCE):

* verification: every pair of faces found, same person or not, judged at the match distance (0.6):
  ``accuracy`` over all pairs, ``genuine_accepted`` (same person within 0.6) and
  ``impostors_accepted`` (different people within 0.6), the closest impostor and farthest genuine
  distances. Identities: obama (5 photos, two with half the face cut off by the image edge), biden
  (1), and the 19 faces of the six group photos, each taken as a distinct person (the photos are
  of different people; a look-alike or the same person in two group photos would count as an
  impostor accepted). ``impostors_certain`` are the pairs whose people are surely different: one
  of them obama or biden, or both in one group photo.
* identification: obama.jpg and biden.jpg enrolled, each other face matched (Gallery.match):
  ``rank1_known`` (the 4 other obama faces named obama) and ``unknown_rejected`` (the 19 strangers
  matched to nobody).
* cost on this machine's CPU: ``cpu_ms_per_face`` (process time of find + align + embed, whole
  photos of at most 1000 px, divided by the faces found) and ``cpu_ms_per_person_box`` (a
  300x600 crop around a face, what vision searches per person).

Last run (2 shared cores): accuracy 0.973 over 300 pairs, every genuine pair accepted (farthest
0.435), 8 of 290 impostor pairs accepted, 3 of them surely different people (two people of one
group photo at 0.555-0.572: these photos' people look alike), none with obama or biden (closest
0.79); rank-1 4/4, strangers rejected 19/19; ~150 ms CPU per face in a whole photo, ~120 ms per
person box.

Limits: 25 faces, 10 genuine pairs, all of one person; frontal, lit, high-resolution portraits,
not CCTV angles, blur or distance. It checks that the models load and separate these people; it
does not measure accuracy on a camera in the field (dlib reports 99.38 % on LFW).

Run: .venv/bin/python tests/bench/bench_faces.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
import uuid
from pathlib import Path

import numpy as np

from vigia.common.faces import MATCH_DISTANCE, Gallery, decode_image, shared_model

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "faces"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing rounds over the photos")
    args = parser.parse_args()
    model = shared_model()
    faces: list[tuple[str, str, np.ndarray]] = []  # (identity, photo, embedding)
    cpu_s, found = 0.0, 0
    crops_cpu_s, crops = 0.0, 0
    for round_ in range(args.repeat):
        for path in sorted(PHOTOS.glob("*.jpg")):
            image = decode_image(path.read_bytes())
            assert image is not None
            started = time.process_time()
            seen = model.faces(image)
            cpu_s += time.process_time() - started
            found += len(seen)
            for j, face in enumerate(seen):
                x1, y1, x2, y2 = face.box
                cx, top = (x1 + x2) / 2, y1 - (y2 - y1) * 0.5
                box = (max(0.0, cx - 150), max(0.0, top), cx + 150, top + 600)  # a person's box around it
                started = time.process_time()
                model.faces(image, box)
                crops_cpu_s += time.process_time() - started
                crops += 1
                if round_ == 0:
                    name = path.stem
                    identity = "obama" if name.startswith("obama") else name if name == "biden" else f"{name}-{j}"
                    faces.append((identity, name, face.embedding))
    genuine: list[float] = []
    impostor: list[float] = []
    certain: list[float] = []
    for (a, pa, va), (b, pb, vb) in itertools.combinations(faces, 2):
        distance = float(np.linalg.norm(va - vb))
        (genuine if a == b else impostor).append(distance)
        if a != b and ({a, b} & {"obama", "biden"} or pa == pb):
            certain.append(distance)
    genuine_ok = sum(d < MATCH_DISTANCE for d in genuine)
    impostor_ok = sum(d >= MATCH_DISTANCE for d in impostor)
    people = {"obama": uuid.uuid4(), "biden": uuid.uuid4()}
    enrolled = {("obama", "obama"), ("biden", "biden")}
    gallery = Gallery([(people[i], v) for i, p, v in faces if (i, p) in enrolled])
    queries = [(i, v) for i, p, v in faces if (i, p) not in enrolled]
    known = [(i, v) for i, v in queries if i in people]
    strangers = [v for i, v in queries if i not in people]
    print(json.dumps({
        "bench": "faces",
        "models": "dlib-bin 20.0.1.post1 HOG + face-recognition-models 0.3.0 (5-point, ResNet 128-d)",
        "photos": len(list(PHOTOS.glob("*.jpg"))), "faces": len(faces),
        "identities": len({i for i, _, _ in faces}),
        "threshold": MATCH_DISTANCE,
        "pairs": {"genuine": len(genuine), "impostor": len(impostor), "impostors_certain": len(certain)},
        "accuracy": round((genuine_ok + impostor_ok) / (len(genuine) + len(impostor)), 4),
        "genuine_accepted": round(genuine_ok / len(genuine), 4),
        "impostors_accepted": round(1 - impostor_ok / len(impostor), 4),
        "impostors_certain_accepted": round(sum(d < MATCH_DISTANCE for d in certain) / len(certain), 4),
        "max_genuine_distance": round(max(genuine), 3), "min_impostor_distance": round(min(impostor), 3),
        "min_certain_impostor_distance": round(min(certain), 3),
        "rank1_known": f"{sum(gallery.match(v).person == people[i] for i, v in known)}/{len(known)}",
        "unknown_rejected": f"{sum(gallery.match(v).person is None for v in strangers)}/{len(strangers)}",
        "cpu_ms_per_face": round(1000 * cpu_s / found, 1),
        "cpu_ms_per_person_box": round(1000 * crops_cpu_s / crops, 1),
        "rounds": args.repeat,
    }))


if __name__ == "__main__":
    main()
