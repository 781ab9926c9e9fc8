"""mediamtx/mediamtx.yml: current key names, the settings the path sync relies on, no deprecated keys.

MediaMTX cannot run here; these checks encode what its config loader would refuse or ignore.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from vigia.control.cameras.mediamtx import MANAGED_KEYS, MediaMTXSettings, path_conf
from vigia.control.cameras.models import Camera

CONFIG = Path(__file__).resolve().parents[4] / "mediamtx" / "mediamtx.yml"
# Renamed or removed in MediaMTX 1.x; the loader rejects unknown keys.
DEPRECATED = {"protocols", "readBufferCount", "rtspDisable", "hlsDisable", "webrtcDisable", "rtmpDisable",
              "authMethods", "readUser", "readPass", "publishUser", "publishPass", "readIPs", "publishIPs",
              "externalAuthenticationURL", "sourceProtocol", "sourceAnyPortEnable", "disablePublisherOverride",
              "hlsLowLatency", "apiEnable", "encryption", "serverKey", "serverCert"}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    loaded = yaml.safe_load(CONFIG.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_api_metrics_and_low_latency_hls_are_on(config: dict[str, Any]) -> None:
    assert config["api"] is True and config["apiAddress"] == ":9997"
    assert config["metrics"] is True and config["metricsAddress"] == ":9998"
    assert config["hls"] is True and config["hlsVariant"] == "lowLatency" and config["hlsAddress"] == ":8888"
    assert config["rtspTransports"] == ["tcp"]


def test_every_authentication_is_asked_of_the_control_planes_hook(config: dict[str, Any]) -> None:
    from django.urls import reverse

    assert config["authMethod"] == "http"
    assert urlsplit(config["authHTTPAddress"]).path == reverse("mediamtx-auth")
    # MediaMTX's default exclusions would let the API and metrics through unauthenticated.
    assert config["authHTTPExclude"] == []
    assert "authInternalUsers" not in config  # ignored with authMethod http: no second source of truth


def test_no_deprecated_key_names(config: dict[str, Any]) -> None:
    def keys(node: Any) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for v in node.values() for k in keys(v)}
        if isinstance(node, list):
            return {k for v in node for k in keys(v)}
        return set()

    assert keys(config) & DEPRECATED == set()
    assert "rtspTransport" not in config  # per path (pathDefaults); the global one is rtspTransports


def test_camera_paths_are_valid_on_top_of_the_path_defaults(config: dict[str, Any]) -> None:
    defaults = config["pathDefaults"]
    assert not (defaults["sourceOnDemand"] and defaults["source"] == "publisher")  # MediaMTX refuses it
    assert config["paths"] == {}  # camera paths are added at run time by mediamtx_sync
    camera = Camera(id=uuid.uuid4(), name="x")
    camera.rtsp_url = "rtsp://10.0.0.1/stream"
    conf = path_conf(camera, MediaMTXSettings())
    assert set(conf) == set(MANAGED_KEYS) and set(conf) <= set(defaults)
    merged = {**defaults, **conf}
    assert merged["sourceOnDemand"] is True and merged["source"].startswith("rtsp://")
    assert merged["rtspTransport"] in ("automatic", "udp", "multicast", "tcp")
