"""Every setting the platform reads, as the README's Markdown table.

``python -m vigia.control.settings_table`` prints it; ``--write README.md`` replaces the block
between the ``settings-table`` markers; a test fails when the README is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pydantic_settings import BaseSettings

from vigia.common.broker.settings import BrokerSettings
from vigia.common.settings import CommonSettings, settings_table
from vigia.control.config import ControlSettings
from vigia.control.observations.plates import PlateSearchSettings
from vigia.control.observations.timeseries import TimeSeriesSettings

MODELS: tuple[type[BaseSettings], ...] = (
    CommonSettings, BrokerSettings, ControlSettings, TimeSeriesSettings, PlateSearchSettings,
)
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)


def table() -> str:
    return settings_table(*MODELS)


def render_into(readme: str) -> str:
    if not BLOCK.search(readme):
        raise ValueError(f"README has no {START} ... {END} block")
    return BLOCK.sub(lambda _: f"{START}\n{table()}\n{END}", readme)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        path = Path(sys.argv[2])
        path.write_text(render_into(path.read_text()))
    else:
        print(table())
