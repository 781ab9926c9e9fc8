"""Representations of organizations (for platform operators) and of an organization's settings (for
its admins)."""

from __future__ import annotations

import math
from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from vigia.common.escalation import ESCALATION_DELAY_DEFAULT_S, escalation_delay_s
from vigia.common.privacy import EVIDENCE_DAYS_MAX, NOTIFICATIONS_DAYS_MAX, PASSAGES_DAYS_MAX, SNAPSHOTS_DAYS_MAX
from vigia.control.core.serializers import StrictSerializer
from vigia.control.tenancy.api.serializers import UserSerializer
from vigia.control.tenancy.models import DEFAULT_TIME_ZONE, Organization, User
from vigia.control.tenancy.organizations import is_time_zone

SLUG_RULE = RegexValidator(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", (
    "lowercase letters, digits and inner hyphens, 1 to 64 characters (e.g. acme-security)"))
#: Signal kinds the correlator weighs (vigia.correlator.scoring.ANOMALY_SIGNAL_KINDS' values).
SIGNAL_KINDS = ("magnetic", "audio", "humanoid", "imu", "forecast")
#: Bounds the correlator itself accepts (vigia.correlator.scoring.CorrelationConfig).
WINDOW_MS_MIN, WINDOW_MS_MAX = 10, 600_000
THRESHOLD_MAX = 10.0
#: The correlator's severity thresholds (vigia.correlator.scoring.SeverityGrades' defaults): an
#: organization's overrides are checked against them so the correlator never ignores them.
SEVERITY_DEFAULTS: dict[str, float] = {"medium": 0.8, "high": 1.0, "critical": 1.0, "critical_sensors": 2}
SEVERITY_SCORES = ("medium", "high", "critical")
FOLD_WINDOW_MAX_S = 86_400
ESCALATION_DELAY_MIN_S, ESCALATION_DELAY_MAX_S = 10, 7 * 86_400
RETENTION_VALUES = ("passages_days", "snapshots_days", "notifications_days", "evidence_days")
#: The console's idle session time-out: minutes without input before it signs its user out.
SESSION_IDLE_DEFAULT_MINUTES, SESSION_IDLE_MIN_MINUTES, SESSION_IDLE_MAX_MINUTES = 30, 1, 24 * 60


def _time_zone(value: str) -> str:
    if not is_time_zone(value):
        raise serializers.ValidationError(
            f"{value!r} is not an IANA time zone (e.g. America/Sao_Paulo, America/Manaus, UTC)")
    return value


class OrganizationSerializer(serializers.ModelSerializer):
    """An organization as platform operators see it."""

    class Meta:
        model = Organization
        fields: tuple[str, ...] = ("id", "name", "slug", "is_active", "disabled_at", "time_zone", "created_at")
        read_only_fields: tuple[str, ...] = fields


class OrganizationCreateSerializer(StrictSerializer):
    """A new organization and the e-mail of its first admin, who is invited (no password is set)."""

    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=64, validators=[SLUG_RULE], help_text=(
        "Unique short name: lowercase letters, digits and inner hyphens."))
    time_zone = serializers.CharField(max_length=64, default=DEFAULT_TIME_ZONE, help_text=(
        "IANA time zone of its console and reports."))
    admin_email = serializers.EmailField(help_text="E-mail of its first admin, who is invited.")
    admin_name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    def validate_slug(self, value: str) -> str:
        if Organization.objects.filter(slug=value).exists():
            raise serializers.ValidationError("an organization with this slug already exists")
        return value

    def validate_time_zone(self, value: str) -> str:
        return _time_zone(value)

    def validate_admin_email(self, value: str) -> str:
        value = value.strip().lower()
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("a user with this email already exists")
        return value


class OrganizationCreatedSerializer(OrganizationSerializer):
    """Answer of creating an organization: it, its invited admin and the invitation's one-time token
    (shown once; the admin exchanges it with a password at POST /api/v1/auth/accept-invite)."""

    admin = UserSerializer(help_text="The first admin, invited: no password until they accept.")
    invitation_token = serializers.CharField(help_text=(
        "One-time token of the admin's invitation, for POST /api/v1/auth/accept-invite."))

    class Meta(OrganizationSerializer.Meta):
        fields = (*OrganizationSerializer.Meta.fields, "admin", "invitation_token")
        read_only_fields = fields


# -- an organization's settings ----------------------------------------------------------------

def _weight() -> serializers.FloatField:
    return serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)


class CorrelationWeightsSerializer(StrictSerializer):
    """Weight of each signal kind in the correlation score, 0 to 1; null: the correlator's default."""

    magnetic = _weight()
    audio = _weight()
    humanoid = _weight()
    imu = _weight()
    forecast = _weight()


def _score() -> serializers.FloatField:
    return serializers.FloatField(min_value=0, max_value=THRESHOLD_MAX, required=False, allow_null=True)


class SeveritySettingsSerializer(StrictSerializer):
    """How an event's severity is graded (see the README's "Event severity"): scores from which it
    is medium, high and critical, and the distinct devices/cameras a critical one needs; null: the
    correlator's default (0.8, 1.0, 1.0, 2). Once applied, medium ≤ high ≤ critical must hold."""

    medium = _score()
    high = _score()
    critical = _score()
    critical_sensors = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)


class CorrelationSettingsSerializer(StrictSerializer):
    """The organization's overrides of the correlator's defaults (VIGIA_CORRELATION_*); null (or
    absent) means the default. The correlator applies a change within VIGIA_ORG_CONFIG_TTL_S."""

    window_ms = serializers.IntegerField(min_value=WINDOW_MS_MIN, max_value=WINDOW_MS_MAX, required=False,
                                         allow_null=True, help_text="Signals of one site within this "
                                         "window are joined (ms).")
    threshold = serializers.FloatField(max_value=THRESHOLD_MAX, required=False, allow_null=True, help_text=(
        "Score (sum of the weights of the distinct signal kinds in a window) from which an event is "
        "raised; greater than 0."))
    person_min_confidence = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True,
                                                   help_text="Person detections below this confidence "
                                                   "are not a signal.")
    weights = CorrelationWeightsSerializer(required=False)
    severity = SeveritySettingsSerializer(required=False)
    fold_window_s = serializers.FloatField(min_value=0, max_value=FOLD_WINDOW_MAX_S, required=False, allow_null=True,
                                           help_text="A repeat of the same cause at the same site within this "
                                           "long reopens the unresolved event instead of raising another (s); "
                                           "0: never fold; default 600.")
    false_alarm_threshold = serializers.FloatField(
        min_value=0, max_value=1, required=False, allow_null=True, help_text=(
            "Events whose false-alarm score (the active classifier's, /api/v1/models) reaches this are "
            "marked likely_false_alarm, which pipelines' suppressed condition holds; null (the default): "
            "never marked."))

    def validate_threshold(self, value: float | None) -> float | None:
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise serializers.ValidationError("must be greater than 0")
        return value


class RetentionSettingsSerializer(StrictSerializer):
    """How long the organization keeps what identifies people and vehicles (LGPD) and the record of
    the notifications sent; the watchdog's janitor deletes older ones. Null (or absent): the
    installation's default."""

    passages_days = serializers.IntegerField(
        min_value=1, max_value=PASSAGES_DAYS_MAX, required=False, allow_null=True,
        help_text="Days vehicle passages are kept after last seen (default VIGIA_RETENTION_PASSAGES_DAYS, 90).")
    snapshots_days = serializers.IntegerField(
        min_value=1, max_value=SNAPSHOTS_DAYS_MAX, required=False, allow_null=True,
        help_text=f"Days snapshots (frames and plate crops) are kept (default and most: {SNAPSHOTS_DAYS_MAX}, "
        "the snapshots bucket's lifecycle).")
    notifications_days = serializers.IntegerField(
        min_value=1, max_value=NOTIFICATIONS_DAYS_MAX, required=False, allow_null=True,
        help_text="Days notification deliveries and their attempts (recipients, answers) are kept after "
        "they were created (default VIGIA_RETENTION_NOTIFICATIONS_DAYS, 90).")
    evidence_days = serializers.IntegerField(
        min_value=1, max_value=EVIDENCE_DAYS_MAX, required=False, allow_null=True,
        help_text="Days events' evidence bundles (video, audio, sensor readings) are kept after they were "
        "written (default VIGIA_RETENTION_EVIDENCE_DAYS, 365).")


class OrganizationSettingsSerializer(StrictSerializer):
    """What an organization's admins tune. PATCH changes only what it names; a null correlation
    value removes that override (back to the correlator's default)."""

    time_zone = serializers.CharField(max_length=64, required=False, help_text=(
        "IANA time zone the console and reports show times in (e.g. America/Sao_Paulo)."))
    correlation = CorrelationSettingsSerializer(required=False)
    escalation_delay_s = serializers.IntegerField(
        min_value=ESCALATION_DELAY_MIN_S, max_value=ESCALATION_DELAY_MAX_S, required=False, allow_null=True,
        help_text=f"Seconds an event may stay unacknowledged before a pipeline's event input escalates it "
        f"(default {ESCALATION_DELAY_DEFAULT_S}; null: back to the default).")
    retention = RetentionSettingsSerializer(required=False)
    session_idle_minutes = serializers.IntegerField(
        min_value=SESSION_IDLE_MIN_MINUTES, max_value=SESSION_IDLE_MAX_MINUTES, required=False, allow_null=True,
        help_text=f"Minutes without input after which the console signs its user out (default "
        f"{SESSION_IDLE_DEFAULT_MINUTES}; null: back to the default).")

    def validate_time_zone(self, value: str) -> str:
        return _time_zone(value)

    def to_representation(self, org: Any) -> dict[str, Any]:
        overrides = org.settings.get("correlation") if isinstance(org.settings, dict) else None
        overrides = overrides if isinstance(overrides, dict) else {}
        weights = overrides.get("weights")
        weights = weights if isinstance(weights, dict) else {}
        retention = org.settings.get("retention") if isinstance(org.settings, dict) else None
        retention = retention if isinstance(retention, dict) else {}
        grades = overrides.get("severity")
        grades = grades if isinstance(grades, dict) else {}
        return {
            "time_zone": org.time_zone,
            "correlation": {
                "window_ms": overrides.get("window_ms"),
                "threshold": overrides.get("threshold"),
                "person_min_confidence": overrides.get("person_min_confidence"),
                "weights": {kind: weights.get(kind) for kind in SIGNAL_KINDS},
                "severity": {name: grades.get(name) for name in SEVERITY_DEFAULTS},
                "fold_window_s": overrides.get("fold_window_s"),
                "false_alarm_threshold": overrides.get("false_alarm_threshold"),
            },
            "escalation_delay_s": escalation_delay_s(org.settings),
            "retention": {name: retention.get(name) for name in RETENTION_VALUES},
            "session_idle_minutes": session_idle_minutes(org.settings),
        }


def session_idle_minutes(settings: Any) -> int:
    """The organization's idle session time-out in minutes (its override, else the default)."""
    value = settings.get("session_idle_minutes") if isinstance(settings, dict) else None
    if isinstance(value, int) and SESSION_IDLE_MIN_MINUTES <= value <= SESSION_IDLE_MAX_MINUTES:
        return value
    return SESSION_IDLE_DEFAULT_MINUTES
