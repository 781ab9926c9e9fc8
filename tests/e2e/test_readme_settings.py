"""The README's settings table is generated from every installed service's settings models
(`make settings-table`) and must stay in sync; no variable may mean two things."""

from pathlib import Path

from vigia.common.settings import (
    conflicting_settings,
    discover_settings_models,
    render_readme,
    settings_table,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_matches_the_settings_models() -> None:
    readme = README.read_text()
    table = settings_table(*discover_settings_models())
    assert render_readme(readme, table) == readme, "README settings table is stale: run `make settings-table`"


def test_no_variable_is_declared_with_two_meanings() -> None:
    assert conflicting_settings(*discover_settings_models()) == {}


def test_every_service_with_settings_is_in_the_table() -> None:
    names = {model.__name__ for model in discover_settings_models()}
    assert {"CommonSettings", "BrokerSettings", "ControlSettings", "TimeSeriesSettings",
            "PlateSearchSettings", "LiveSettings", "WatchdogSettings"} <= names
