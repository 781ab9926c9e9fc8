"""Licence plates as stored and searched: upper-case letters and digits only, matched tolerantly
with pg_trgm so OCR confusions (O/D/0, I/1, B/8...) still find the vehicle."""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


class PlateSearchSettings(BaseSettings):
    """Plate search tuning (environment prefix ``VIGIA_``)."""

    model_config = SettingsConfigDict(env_prefix="VIGIA_", extra="forbid")

    plate_similarity_threshold: float = Field(
        0.3, ge=0.1, le=1.0, description="Least pg_trgm similarity for a plate search hit. 0.3 finds a "
        "7-character plate with one or two misread characters.")


@lru_cache(maxsize=1)
def plate_search_settings() -> PlateSearchSettings:
    return PlateSearchSettings.model_validate({})


def normalise_plate(text: str | None) -> str | None:
    """``"abc-1d23 "`` -> ``"ABC1D23"``; None or nothing left -> None."""
    if text is None:
        return None
    cleaned = _NOT_ALNUM.sub("", text.upper())
    return cleaned or None
