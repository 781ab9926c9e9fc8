"""Settings of the control plane (environment prefix ``VIGIA_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, model_validator

from vigia.common.secrets_at_rest import fernet_keys_field, holds_dev_key
from vigia.common.settings import CommonSettings, Environment

# Well-known development values: fine on a laptop, refused in production.
DEV_SECRET_KEY = "insecure-development-secret-key-do-not-use-in-production"


class ControlSettings(CommonSettings):
    """The control plane's own settings on top of the shared ones."""

    secret_key: SecretStr = Field(SecretStr(DEV_SECRET_KEY), description="Django SECRET_KEY.")
    fernet_keys: SecretStr = fernet_keys_field()
    debug: bool = Field(False, description="Django DEBUG (never in production).")
    allowed_hosts: str = Field("*", description="Comma-separated Django ALLOWED_HOSTS.")
    jwt_issuer: str = Field("vigia-control", description="`iss` of access tokens (Kong checks it).")
    jwt_audience: str = Field("vigia", description="`aud` of access tokens.")
    access_token_ttl: int = Field(900, gt=0, description="Access token lifetime in seconds (15 min).")
    refresh_token_ttl: int = Field(86400, gt=0, description="Refresh token lifetime in seconds (24 h).")
    max_body_bytes: int = Field(2 * 1024 * 1024, gt=0, description="Largest request body accepted (413 "
                                "above).")
    ffprobe_timeout: float = Field(5.0, gt=0, description="Seconds the optional RTSP reachability "
                                   "check may take.")
    outbox_batch: int = Field(100, gt=0, description="Outbox rows the relay publishes per transaction.")
    console_dir: str = Field("", description="Folder of the built operator console (its index.html and "
                             "assets/), served at /. Empty: services/console/dist of the source tree.")
    console_live_url: str = Field("ws://{host}:8003/api/v1/ws", description="The live feed's WebSocket URL "
                                  "the console connects to; `{host}` is the host the page was loaded from. "
                                  "Behind one proxy for everything: `wss://{host}/api/v1/ws`.")
    console_map_style_url: str = Field("", description="A MapLibre style (JSON URL) for the console's map of "
                                       "cameras and devices; its tiles, glyphs and sprites must come from the "
                                       "same origin, which the console's Content-Security-Policy then allows. "
                                       "Empty: a plain built-in style, no network fetch at all (works offline).")
    outbox_poll_seconds: float = Field(0.5, gt=0, description="Outbox relay poll period when idle.")

    @model_validator(mode="after")
    def _refuse_dev_keys(self) -> ControlSettings:
        if self.env is Environment.production:
            if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
                raise ValueError("VIGIA_SECRET_KEY is the development placeholder; set a real one")
            if holds_dev_key(self.fernet_keys):
                raise ValueError("VIGIA_FERNET_KEYS holds the development key; set real keys")
            if self.debug:
                raise ValueError("VIGIA_DEBUG must be off in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> ControlSettings:
    return ControlSettings()
