"""The README's settings table is generated from the settings models and must stay in sync."""

from pathlib import Path

from vigia.control import settings_table

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_settings_table_matches_the_settings_models() -> None:
    readme = README.read_text()
    assert settings_table.render_into(readme) == readme, (
        "README settings table is stale: run `make settings-table`"
    )


def test_every_setting_of_every_model_is_described_in_the_table() -> None:
    text = settings_table.table()
    for model in settings_table.MODELS:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            assert f"`{(prefix + name).upper()}`" in text
