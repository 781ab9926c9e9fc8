"""Settings shared by every Vigia service.

Each service subclasses :class:`CommonSettings` and adds its own fields. Values come from the
environment (prefix ``VIGIA_``) or from secret files (``VIGIA_SECRETS_DIR``, one file per field
named like its variable, e.g. ``vigia_s3_secret_key``, as Docker and Kubernetes mount them).
Unknown constructor arguments are refused (``extra="forbid"``) and every field carries a
description, from which the README's settings table is generated (``python -m vigia.common.settings``).
"""

from __future__ import annotations

import enum
import os
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from vigia.common.client_address import DEFAULT_TRUSTED_PROXIES, IPNetwork, parse_networks

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "change_me", "secret", "password", "insecure", "dev", "development",
     "minioadmin"}
)


class Environment(enum.StrEnum):
    development = "development"
    test = "test"
    production = "production"


def is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in PLACEHOLDER_SECRETS or lowered.startswith(("insecure", "dev-only", "changeme"))


class CommonSettings(BaseSettings):
    """What every service needs: where the shared stores are, how to log, where to serve metrics."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIA_",
        extra="forbid",
        secrets_dir=os.environ.get("VIGIA_SECRETS_DIR") or None,
        validate_default=True,
    )

    env: Environment = Field(
        Environment.development,
        description="Deployment environment: development, test or production. Placeholder secrets "
        "are refused outside development and test.",
    )
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/vigia",
        description="PostgreSQL URL (libpq form). Through PgBouncer in session mode in compose/k8s.",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis URL for heartbeats, leases, "
                           "last_seen, rate limits and caches.")
    amqp_url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/%2F", description="RabbitMQ AMQP 0-9-1 URL (vhost included)."
    )
    amqp_management_url: str = Field(
        "http://guest:guest@127.0.0.1:15672",
        description="RabbitMQ management API base URL, used for queue depths and DLQ inspection.",
    )
    object_store: str = Field(
        "file://var/objects",
        description="Object store: file://<dir> (embedded default, relative to the working directory) "
        "or s3://<bucket-prefix> (MinIO or any S3 API, see the s3_* settings).",
    )
    object_url_secret: SecretStr = Field(
        SecretStr("insecure-dev-object-url-secret"),
        description="HMAC key (16+ bytes) that signs the local object URLs of the file:// object store; "
        "required outside development when the file store is used.",
    )
    s3_endpoint: str = Field("127.0.0.1:9000", description="S3/MinIO endpoint host:port.")
    s3_access_key: str = Field("minioadmin", description="S3/MinIO access key.")
    s3_secret_key: SecretStr = Field(SecretStr("minioadmin"), description="S3/MinIO secret key.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_secure: bool = Field(False, description="Use HTTPS to reach the S3 endpoint.")
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING, ERROR.")
    log_json: bool = Field(True, description="Write logs as one JSON object per line.")
    metrics_port: int = Field(0, ge=0, le=65535, description="Port of the Prometheus /metrics endpoint "
                              "for workers (0: the service's default).")
    service_name: str = Field("vigia", description="Name this process reports in logs, metrics and "
                              "message sources.")
    trusted_proxies: str = Field(
        DEFAULT_TRUSTED_PROXIES,
        description="Comma-separated CIDRs of our own proxies (HAProxy, Kong, the ingress controller): "
        "only a peer in them may name the client in X-Forwarded-For, which is read right to left up to "
        "the first address outside them (sign-in lock-outs, audit log, gateway logs).",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies_are_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        """``trusted_proxies`` parsed (validated when the settings were read)."""
        return parse_networks(self.trusted_proxies)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> CommonSettings:
        if self.env in (Environment.development, Environment.test):
            return self
        # A secret that only one object-store backend reads is checked only when that backend is on.
        unused = {"s3_secret_key"} if not self.object_store.startswith("s3://") else set()
        if not self.object_store.startswith("file://"):
            unused.add("object_url_secret")
        bad = [
            name
            for name, value in self
            if isinstance(value, SecretStr) and name not in unused
            and is_placeholder(value.get_secret_value())
        ]
        if bad:
            raise ValueError(
                f"placeholder secret(s) {', '.join(sorted(bad))} refused in {self.env.value}: "
                f"set VIGIA_{bad[0].upper()} (or a secret file) to a real value"
            )
        for name in ("s3_access_key",):
            if self.object_store.startswith("s3://") and is_placeholder(getattr(self, name)):
                raise ValueError(f"placeholder {name} refused in {self.env.value}")
        return self


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def _parse_duration(value: Any) -> Any:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"45s"`` or ``"45"`` (seconds); anything else is left to
    pydantic's timedelta (a number of seconds, ISO 8601 such as ``P7D``)."""
    if isinstance(value, str) and (match := _DURATION.match(value.lower())):
        return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return value


def format_duration(value: timedelta) -> str:
    """The shortest ``<n><unit>`` form of ``value`` (``7d``, ``36h``, ``90s``) that is exact."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{int(seconds // _UNIT_SECONDS[unit])}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[timedelta, BeforeValidator(_parse_duration)]
"""A length of time in settings: ``7d``, ``12h``, ``30m``, ``45s``, seconds, or ISO 8601."""


class RetentionSettings(BaseSettings):
    """How long the time-series tables and each organization's personal data keep their rows, and
    the batched deletes that enforce it (the watchdog's janitor jobs; control's migrations turn the
    time-series ones into TimescaleDB retention policies where it runs)."""

    model_config = SettingsConfigDict(env_prefix="VIGIA_", extra="forbid")

    retention_detections_days: int = Field(30, ge=1, description="Days detections are kept.")
    retention_events_days: int = Field(365, ge=1, description="Days events are kept.")
    retention_anomalies_days: int = Field(90, ge=1, description="Days anomalies are kept.")
    retention_telemetry_days: int = Field(30, ge=1, description="Days telemetry readings are kept.")
    retention_forecasts_days: int = Field(7, ge=1, description="Days stored forecasts (one per device "
                                          "metric per refresh) are kept.")
    retention_device_status_days: int = Field(365, ge=1, description="Days device status history "
                                              "is kept.")
    retention_passages_days: int = Field(90, ge=1, le=3650, description="Days vehicle passages are kept "
                                         "unless the organization's settings say otherwise "
                                         "(retention.passages_days; LGPD).")
    retention_notifications_days: int = Field(90, ge=1, le=3650, description="Days notification deliveries "
                                              "and their attempts are kept unless the organization's settings "
                                              "say otherwise (retention.notifications_days); deliveries still "
                                              "being sent or retried are kept.")
    retention_evidence_days: int = Field(365, ge=1, le=3650, description="Days events' evidence bundles "
                                         "(video, audio, sensor readings) are kept after they were written "
                                         "unless the organization's settings say otherwise "
                                         "(retention.evidence_days; LGPD).")
    janitor_batch_size: int = Field(5000, ge=1, le=1_000_000, description="Rows the janitor deletes "
                                    "per transaction.")
    outbox_retention: Duration = Field(timedelta(days=7), description="How long published outbox rows "
                                       "(control-plane change messages) are kept before the watchdog's "
                                       "janitor deletes them: 7d, 12h, 30m, 45s, seconds or ISO 8601 "
                                       "(P7D). Unpublished rows are never deleted.")

    @field_validator("outbox_retention")
    @classmethod
    def _positive_retention(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration, e.g. 7d")
        return value


def documented_default(field: FieldInfo) -> str:
    """A field's default as the docs show it: ``(secret)``, ``(generated)``, an enum's value, a
    duration as ``7d``, or ``""`` for none."""
    default: Any = field.default
    if isinstance(default, SecretStr):
        default = "(secret)"
    elif isinstance(default, enum.Enum):
        default = default.value
    elif isinstance(default, timedelta):
        default = format_duration(default)
    elif field.default_factory is not None:
        default = "(generated)"
    return "" if default is None else str(default)


def settings_table(*models: type[BaseSettings]) -> str:
    """A Markdown table of every setting of the given models (README's settings section)."""
    rows: dict[str, tuple[str, str, str]] = {}
    for model in models:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            text = documented_default(field)
            rows.setdefault((prefix + name).upper(), (f"`{text}`" if text else "", field.description or "",
                                                     model.__name__))
    lines = ["| variable | default | description |", "|---|---|---|"]
    for var in sorted(rows):
        default, description, _ = rows[var]
        lines.append(f"| `{var}` | {default} | {description.replace('|', '/')} |")
    return "\n".join(lines)


def discover_settings_models() -> list[type[BaseSettings]]:
    """Every settings model of every installed Vigia service.

    A service lists its models under the ``vigia.settings`` entry-point group (a module attribute
    holding a tuple of models); services without one are searched in ``vigia.<service>.config``
    and ``vigia.<service>.settings``. Subclasses of the models found are included.
    """
    import importlib
    import importlib.metadata

    importlib.import_module("vigia.common.broker.settings")
    roots: list[type[BaseSettings]] = [CommonSettings]
    for entry in importlib.metadata.entry_points(group="vigia.settings"):
        roots.extend(entry.load())
    # Editable installs hide the namespace from pkgutil: find the services by distribution name.
    services = {(dist.metadata["Name"] or "").lower().removeprefix("vigia-").replace("-", "_")
                for dist in importlib.metadata.distributions()
                if (dist.metadata["Name"] or "").lower().startswith("vigia-")}
    for service in sorted(services):
        for candidate in (f"vigia.{service}.config", f"vigia.{service}.settings"):
            try:
                importlib.import_module(candidate)
            except ImportError:
                continue
    found: list[type[BaseSettings]] = []
    pending = list(roots)
    while pending:
        cls = pending.pop(0)
        if cls.__module__.startswith("vigia.") and cls not in found:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def conflicting_settings(*models: type[BaseSettings]) -> dict[str, set[str]]:
    """Variables that two models declare with different meanings (descriptions): in a shared
    environment one value would configure both, so each must have a name of its own."""
    seen: dict[str, set[str]] = {}
    for model in models:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            seen.setdefault((prefix + name).upper(), set()).add(field.description or "")
    return {var: descriptions for var, descriptions in seen.items() if len(descriptions) > 1}


README_START, README_END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"


def render_readme(readme: str, table: str) -> str:
    """``readme`` with the block between the settings-table markers replaced by ``table``."""
    import re

    block = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)
    if not block.search(readme):
        raise ValueError(f"README has no {README_START} ... {README_END} block")
    return block.sub(lambda _: f"{README_START}\n{table}\n{README_END}", readme)


def main(argv: list[str]) -> int:
    """``python -m vigia.common.settings [--write README.md]``: print or write the settings table."""
    from pathlib import Path

    models = discover_settings_models()
    clashes = conflicting_settings(*models)
    if clashes:
        print(f"settings with two meanings: {sorted(clashes)}")
        return 1
    if len(argv) == 2 and argv[0] == "--write":
        target = Path(argv[1])
        target.write_text(render_readme(target.read_text(), settings_table(*models)))
    else:
        print(settings_table(*models))
    return 0


if __name__ == "__main__":
    import sys

    # Run the imported module's main: as __main__ this file would define a second CommonSettings,
    # of which no service's settings are subclasses.
    from vigia.common import settings as _self

    sys.exit(_self.main(sys.argv[1:]))
