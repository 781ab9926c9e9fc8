"""Vigia vision worker: batched object detection, plate OCR with multi-frame voting, snapshots.

Modules: ``detectors`` (backend registry: yolo, opencv), ``plates`` (region finder, EasyOCR,
Brazilian validation/correction, voting), ``tracking`` (per-camera visits), ``pipeline`` (all of it
without a broker), ``worker`` (micro-batching consumer, snapshots, publishing), ``__main__``.
"""
