"""Settings: environment prefix, refused unknowns, placeholder secrets, the documented table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from vigia.common.settings import (
    CommonSettings,
    Environment,
    RetentionSettings,
    discover_settings_models,
    documented_default,
    settings_table,
)

REAL = "a-real-secret-value-7f3c9b21d0e84a56"


SETTINGS_CLASSES = discover_settings_models()


def test_known_subclasses_are_discovered() -> None:
    names = {cls.__name__ for cls in SETTINGS_CLASSES}
    assert {"CommonSettings", "BrokerSettings", "ControlSettings"} <= names


def test_values_come_from_vigia_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIA_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("VIGIA_METRICS_PORT", "9105")
    monkeypatch.setenv("VIGIA_S3_SECURE", "true")
    monkeypatch.setenv("LOG_LEVEL", "ERROR")  # unprefixed: not ours

    settings = CommonSettings()

    assert (settings.log_level, settings.metrics_port, settings.s3_secure) == ("DEBUG", 9105, True)


def test_environment_values_are_validated_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIA_METRICS_PORT", "70000")
    with pytest.raises(ValidationError) as caught:
        CommonSettings()
    assert "metrics_port" in str(caught.value)


@pytest.mark.parametrize(("value", "expected"), [
    ("7d", timedelta(days=7)), ("12h", timedelta(hours=12)), ("30m", timedelta(minutes=30)),
    ("45s", timedelta(seconds=45)), ("3600", timedelta(hours=1)), ("P2D", timedelta(days=2)),
    (" 1.5H ", timedelta(minutes=90)),
])
def test_outbox_retention_reads_a_duration(monkeypatch: pytest.MonkeyPatch, value: str, expected: timedelta) -> None:
    monkeypatch.setenv("VIGIA_OUTBOX_RETENTION", value)
    assert RetentionSettings().outbox_retention == expected


@pytest.mark.parametrize("value", ["0", "-1d", "7 days please", "2w"])
def test_outbox_retention_refuses_what_is_not_a_positive_duration(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("VIGIA_OUTBOX_RETENTION", value)
    with pytest.raises(ValidationError, match="outbox_retention"):
        RetentionSettings()


def test_outbox_retention_defaults_to_seven_days_documented_as_7d() -> None:
    assert RetentionSettings().outbox_retention == timedelta(days=7)
    assert documented_default(RetentionSettings.model_fields["outbox_retention"]) == "7d"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        CommonSettings(log_levle="DEBUG")  # type: ignore[call-arg]
    assert "log_levle" in str(caught.value)


def test_other_services_variables_in_the_shared_environment_are_ignored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # compose and k8s hand every service one VIGIA_* environment; a worker must not choke on the
    # control plane's variables.
    monkeypatch.setenv("VIGIA_SECRET_KEY", REAL)
    monkeypatch.setenv("VIGIA_SOME_OTHER_SERVICE_KNOB", "1")
    assert CommonSettings().log_level == "INFO"


def test_secrets_are_read_from_secret_files(tmp_path: Path) -> None:
    (tmp_path / "vigia_s3_secret_key").write_text(REAL)  # named like the variable
    settings = CommonSettings(_secrets_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.s3_secret_key.get_secret_value() == REAL


def test_secrets_never_appear_in_repr() -> None:
    settings = CommonSettings(s3_secret_key=REAL, object_url_secret=REAL)
    assert REAL not in repr(settings)
    assert REAL not in str(settings.model_dump())


@pytest.mark.parametrize("env", ["development", "test"])
def test_placeholder_secrets_are_accepted_in_development_and_test(env: str) -> None:
    settings = CommonSettings(env=env, s3_secret_key="changeme", object_store="s3://vigia")
    assert settings.env == Environment(env)


@pytest.mark.parametrize("placeholder", ["", "changeme", "secret", "minioadmin", "insecure-default",
                                         "  Password  ", "dev-only-key"])
def test_placeholder_secrets_are_refused_in_production(placeholder: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CommonSettings(env="production", object_store="s3://vigia", s3_access_key="vigia-prod",
                       s3_secret_key=placeholder)
    assert "s3_secret_key" in str(caught.value)


def test_default_minio_credentials_are_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="s3_secret_key"):
        CommonSettings(env="production", object_store="s3://vigia", s3_access_key="vigia-prod")
    with pytest.raises(ValidationError, match="s3_access_key"):
        CommonSettings(env="production", object_store="s3://vigia", s3_secret_key=REAL)


def test_file_store_url_secret_must_be_real_in_production() -> None:
    with pytest.raises(ValidationError, match="object_url_secret"):
        CommonSettings(env="production", object_store="file:///var/lib/vigia/objects")
    settings = CommonSettings(env="production", object_store="file:///var/lib/vigia/objects",
                              object_url_secret=REAL)
    assert settings.object_url_secret.get_secret_value() == REAL


def test_production_needs_only_the_secrets_of_the_backend_in_use() -> None:
    on_s3 = CommonSettings(env="production", object_store="s3://vigia", s3_access_key="vigia-prod",
                           s3_secret_key=REAL)
    assert on_s3.object_store == "s3://vigia"  # the file store's URL secret is not needed
    on_files = CommonSettings(env="production", object_store="file://objects", object_url_secret=REAL)
    assert on_files.s3_secret_key.get_secret_value() == "minioadmin"  # unused, so not refused


def test_control_settings_refuse_development_keys_in_production() -> None:
    control = pytest.importorskip("vigia.control.config")
    with pytest.raises(ValidationError):
        control.ControlSettings(env="production", object_url_secret=REAL)


@pytest.mark.parametrize("model", SETTINGS_CLASSES, ids=lambda cls: cls.__name__)
def test_every_field_has_a_description(model: type[BaseSettings]) -> None:
    missing = [name for name, field in model.model_fields.items() if not (field.description or "").strip()]
    assert missing == [], f"{model.__name__} fields without a description: {missing}"


@pytest.mark.parametrize("model", SETTINGS_CLASSES, ids=lambda cls: cls.__name__)
def test_every_settings_class_refuses_unknown_fields(model: type[BaseSettings]) -> None:
    assert model.model_config.get("extra") == "forbid"
    assert model.model_config.get("env_prefix") == "VIGIA_"


def test_settings_table_lists_every_field_with_its_description() -> None:
    table = settings_table(*SETTINGS_CLASSES)
    rows = {line.split("|")[1].strip().strip("`"): line for line in table.splitlines()[2:]}
    for model in SETTINGS_CLASSES:
        for name, field in model.model_fields.items():
            row = rows[f"VIGIA_{name.upper()}"]
            assert (field.description or "").replace("|", "/") in row


def test_settings_table_hides_secret_defaults() -> None:
    table = settings_table(CommonSettings)
    assert "minioadmin" in table  # the access key is not secret
    row = next(line for line in table.splitlines() if "VIGIA_S3_SECRET_KEY" in line)
    assert "minioadmin" not in row and "(secret)" in row
    assert "insecure-dev-object-url-secret" not in table
