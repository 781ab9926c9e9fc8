"""``python -m vigia.automation``: run one automation replica; metrics and health on :9106."""

from __future__ import annotations

import asyncio

from vigia.automation.app import run
from vigia.automation.settings import AutomationSettings
from vigia.common.observability import configure_logging


def main() -> None:
    settings = AutomationSettings()
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
