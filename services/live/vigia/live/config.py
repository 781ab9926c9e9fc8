"""Settings of the live service (env prefix ``VIGIA_``)."""

from __future__ import annotations

from pydantic import Field

from vigia.common.broker import BrokerSettings


class LiveSettings(BrokerSettings):
    """Where operators connect, how their tokens are checked, and how hard slow clients are treated."""

    live_host: str = Field("0.0.0.0", description="Interface the live WebSocket server listens on.")  # noqa: S104
    live_port: int = Field(8003, ge=0, le=65535, description="Port of the live WebSocket server "
                           "(/api/v1/ws, /healthz, /readyz, /metrics).")
    live_instance: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                                      description="Name of this live instance: its queue is live.<name>. "
                                      "Default: a random id per process.")
    jwks_url: str = Field("http://127.0.0.1:8000/.well-known/jwks.json",
                          description="Control plane's JWKS, used to verify operators' access tokens.")
    jwt_issuer: str = Field("vigia-control", description="`iss` of access tokens (Kong checks it).")
    jwt_audience: str = Field("vigia", description="`aud` of access tokens.")
    jwt_leeway_s: float = Field(30.0, ge=0, le=300, description="Clock skew allowed on `exp`/`iat`; a "
                                "live socket is closed with 4401 this long after its token's `exp`.")
    jwks_cache_s: float = Field(300.0, gt=0, le=86_400, description="How long fetched JWKS keys are "
                                "trusted before the next verification refetches them (s).")
    live_ping_interval_s: float = Field(20.0, gt=0, le=3600, description="The server sends a WebSocket "
                                        "ping to every operator this often (s).")
    live_ping_timeout_s: float = Field(20.0, gt=0, le=3600, description="A client that has not answered "
                                       "a ping within this time is disconnected (close 1011) (s).")
    live_send_queue: int = Field(256, ge=1, le=100_000, description="Messages waiting to be sent to one "
                                 "client; when full the client is too slow and is closed with 4008.")
    live_close_timeout_s: float = Field(5.0, gt=0, le=120, description="After a close frame, how long to "
                                        "wait for the client before the TCP connection is aborted (s).")
    live_max_clients: int = Field(10_000, ge=1, le=1_000_000, description="Sockets one instance accepts; "
                                  "beyond it new ones are closed with 1013 (try again later).")
    live_max_message_bytes: int = Field(65_536, ge=1024, le=16 * 1024 * 1024, description="Largest "
                                        "message a client may send (pings, filters); larger closes 1009.")
    live_queue_max_length: int = Field(10_000, ge=1, le=10_000_000, description="Most events the "
                                       "instance's broker queue holds while the instance lags; beyond "
                                       "it the oldest are dropped.")
    live_prefetch: int = Field(64, ge=1, le=10_000, description="Events taken from the broker before "
                               "acknowledging; keep it below live_send_queue.")
    live_shutdown_grace_s: float = Field(5.0, gt=0, le=120, description="On SIGTERM, how long to wait for "
                                         "clients to acknowledge the 1001 close before exiting (s).")
    live_frames_max_fps: float = Field(5.0, gt=0, le=30, description="Most frames per second one console "
                                       "tile receives of a camera's latest frames (never more than the "
                                       "camera's own fps); Redis is polled at this rate per watched camera.")
    live_frames_send_timeout_s: float = Field(10.0, gt=0, le=300, description="A latest-frame socket whose "
                                              "frame could not be sent within this time is closed with 4008 (s).")
    live_camera_cache_s: float = Field(30.0, ge=0, le=3600, description="How long live remembers a camera's "
                                       "organization and fps before looking it up in PostgreSQL again (s).")
