"""Settings of the notifier (env prefix ``VIGIA_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from vigia.common.broker import BrokerSettings
from vigia.common.client_address import parse_networks
from vigia.common.secrets_at_rest import fernet_keys_field, holds_dev_key
from vigia.common.settings import Environment

DEFAULT_METRICS_PORT = 9108


class NotifierSettings(BrokerSettings):
    """How actions are delivered: network guard, time-outs, API endpoints, links, leases."""

    service_name: str = Field("notifier", description="Name this process reports in logs, metrics and "
                              "message sources.")
    fernet_keys: SecretStr = fernet_keys_field()
    notifier_allowed_networks: str = Field("", description="Comma-separated CIDRs a webhook may reach "
                                           "although they are not public (private, loopback, link-local...); "
                                           "empty: public addresses only.")
    notifier_timeout_s: float = Field(10.0, gt=0, le=120, description="Longest one send may take, "
                                      "whatever the channel says (s).")
    notifier_lease_s: float = Field(30.0, gt=0, le=3600, description="How long a delivery being sent is "
                                    "reserved for the replica sending it (at least its time-out, and a Modbus "
                                    "pulse, plus 1 s); one still reserved past this was interrupted (a crash) "
                                    "and is tried again (s).")
    notifier_rate_wait_max_s: float = Field(2.0, ge=0, le=60, description="A send that the channel's rate "
                                            "limit holds longer than this goes to a delay queue instead of "
                                            "waiting (s).")
    notifier_channel_cache_s: float = Field(5.0, ge=0, le=600, description="How long a channel read from "
                                            "the database is reused before it is read again (s).")
    notifier_redis_prefix: str = Field("notifier:", min_length=1, max_length=64, description="Prefix of the "
                                       "notifier's Redis keys (rate-limit buckets).")
    notifier_public_url: str = Field("http://localhost:8000", description="Base URL that makes the file "
                                     "store's signed links absolute in messages (the control plane serves "
                                     "/objects/...); S3 links are absolute already.")
    notifier_link_ttl_s: int = Field(3 * 86_400, ge=60, le=7 * 86_400, description="How long the signed "
                                     "snapshot and evidence links in messages stay valid (s).")
    notifier_telegram_api_url: str = Field("https://api.telegram.org", description="Telegram Bot API base URL.")
    notifier_whatsapp_api_url: str = Field("https://graph.facebook.com", description="WhatsApp Cloud API "
                                           "(Graph API) base URL.")
    notifier_whatsapp_api_version: str = Field("v21.0", pattern=r"^v\d+\.\d+$", description="Graph API "
                                               "version in WhatsApp request paths.")
    notifier_http_connections: int = Field(100, ge=1, le=10_000, description="Most open HTTP connections "
                                           "of the shared client (all webhook, Telegram and WhatsApp sends).")

    @field_validator("notifier_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @model_validator(mode="after")
    def _refuse_dev_key(self) -> NotifierSettings:
        if self.env not in (Environment.development, Environment.test) and holds_dev_key(self.fernet_keys):
            raise ValueError("VIGIA_FERNET_KEYS holds the development key; set real keys")
        return self


MODELS = (NotifierSettings,)
