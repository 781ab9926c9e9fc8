"""Plates: cheap region finding, OCR on crops, Brazilian validation/correction and voting."""
