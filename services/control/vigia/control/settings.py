"""Django settings, derived from :class:`vigia.control.config.ControlSettings` (env ``VIGIA_*``)."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from vigia.control.config import get_settings

_cfg = get_settings()


def _database(url: str) -> dict[str, object]:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ValueError(f"VIGIA_DATABASE_URL must be a postgresql:// URL, not {parsed.scheme}://")
    return {
        "ENGINE": "vigia.control.core.db",  # Django's PostgreSQL backend, faster timestamps
        "NAME": unquote(parsed.path.lstrip("/")) or "vigia",
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "127.0.0.1",
        "PORT": str(parsed.port or 5432),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": True,  # every request is one transaction: nothing half-written
        "OPTIONS": {"connect_timeout": 10, "options": "-c statement_timeout=30000"},
        "TEST": {"NAME": "test_" + (unquote(parsed.path.lstrip("/")) or "vigia")},
    }


SECRET_KEY = _cfg.secret_key.get_secret_value()
DEBUG = _cfg.debug
ALLOWED_HOSTS = [h.strip() for h in _cfg.allowed_hosts.split(",") if h.strip()]
ROOT_URLCONF = "vigia.control.urls"
WSGI_APPLICATION = "vigia.control.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tenancy.User"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DATABASES = {"default": _database(_cfg.database_url)}
DATA_UPLOAD_MAX_MEMORY_SIZE = _cfg.max_body_bytes

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "vigia.control.core",
    "vigia.control.tenancy",
    "vigia.control.outbox",
    "vigia.control.audit",
    "vigia.control.cameras",
    "vigia.control.faces",
    "vigia.control.devices",
    "vigia.control.pipelines",
    "vigia.control.watchlists",
    "vigia.control.observations",
    "vigia.control.notifications",
    "vigia.control.classifiers",
]

MIDDLEWARE = [
    "vigia.control.core.middleware.MetricsMiddleware",
    "vigia.control.core.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "vigia.control.core.middleware.RequestContextMiddleware",
    "vigia.control.audit.middleware.AuditMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

STATIC_URL = "/static/"

# Shared by every API process (login throttling, caches): Redis, never per-process memory.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _cfg.redis_url,
        "KEY_PREFIX": "vigia:control",
        "TIMEOUT": 300,
        # A Redis that stops answering is a 503 after these, not a request that hangs (core/errors.py).
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["vigia.control.tenancy.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["vigia.control.core.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "vigia.control.core.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["vigia.control.core.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "vigia.control.core.schema.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "vigia.control.core.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Vigia control plane API",
    "DESCRIPTION": "Organizations, users, cameras, devices, pipelines, detections and events.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"DeviceStatusEnum": "vigia.control.devices.models.DeviceStatus",
                            "DeviceKindEnum": "vigia.control.devices.models.DeviceKind",
                            "ChannelKindEnum": "vigia.common.channels.registry.ACTION_KINDS"},
    # Error bodies are documented as responses; links lead from each created object to its routes.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "vigia.control.core.schema.link_created_resources"],
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "vigia"}},
    "formatters": {"vigia": {"()": "vigia.common.observability.JsonFormatter"} if _cfg.log_json
                   else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "root": {"handlers": ["console"], "level": _cfg.log_level},
    "loggers": {name: {"level": "WARNING"} for name in ("django.db.backends", "pika", "aio_pika", "aiormq")},
}

VIGIA = _cfg
