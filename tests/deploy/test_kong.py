"""kong/kong.yml (DB-less, format 3.0) and kong/render.py.

Kong itself cannot run here, so the declarative file is checked offline against the rules of Kong
3.x's schemas that matter for it (entity fields, plugin names and their config fields as declared in
Kong's kong/plugins/*/schema.lua and kong/tools/redis/schema.lua, 3.6+ nested ``redis``), then
against the real services: every route path names paths of its service's OpenAPI document (or, for
WebSockets, a declared route), the most specific route wins for every API path of every service,
every upstream answers as its service on a probe through each route path, and the consumer credential
that render.py writes is control's current signing key and ``iss``, also after a key rotation."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import websockets
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.deploy.test_haproxy import Echo, free_port, stop, wait_ready
from tests.support.databases import throwaway_database
from vigia.control.config import ControlSettings
from vigia.live.config import LiveSettings

ROOT = Path(__file__).resolve().parents[2]
KONG_YML = ROOT / "kong" / "kong.yml"
RENDER = ROOT / "kong" / "render.py"
MB = 1024 * 1024

# --- Kong 3.x declarative schema (the subset this file may use) -------------------------------------

TOP = {"_format_version", "_transform", "_comment", "_info", "services", "routes", "consumers", "plugins",
       "upstreams", "certificates", "ca_certificates", "vaults"}
SERVICE = {"name": str, "url": str, "protocol": str, "host": str, "port": int, "path": str, "retries": int,
           "connect_timeout": int, "read_timeout": int, "write_timeout": int, "tags": list, "enabled": bool,
           "routes": list, "plugins": list, "tls_verify": bool}
ROUTE = {"name": str, "paths": list, "methods": list, "hosts": list, "headers": dict, "protocols": list,
         "strip_path": bool, "preserve_host": bool, "regex_priority": int, "path_handling": str,
         "https_redirect_status_code": int, "request_buffering": bool, "response_buffering": bool, "tags": list,
         "plugins": list}
CONSUMER = {"username": str, "custom_id": str, "tags": list, "jwt_secrets": list, "plugins": list}
JWT_SECRET = {"key": str, "algorithm": str, "rsa_public_key": str, "secret": str, "tags": list}
JWT_ALGORITHMS = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
                  "PS384", "PS512", "EdDSA"}
PROTOCOLS = {"http", "https", "grpc", "grpcs", "tcp", "tls", "udp", "ws", "wss"}
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

REDIS = {"host": str, "port": int, "timeout": int, "username": str, "password": str, "database": int,
         "ssl": bool, "ssl_verify": bool, "server_name": str}
POSITIVE = (1e-9, float("inf"))
# plugin -> {config field: type, a set of allowed values, a nested record, or a (min, max) number range}
PLUGINS: dict[str, dict[str, Any]] = {
    "jwt": {"uri_param_names": list, "cookie_names": list, "header_names": list, "key_claim_name": str,
            "secret_is_base64": bool, "claims_to_verify": list, "anonymous": str, "run_on_preflight": bool,
            "maximum_expiration": (0, 31536000)},
    "rate-limiting": {"second": POSITIVE, "minute": POSITIVE, "hour": POSITIVE, "day": POSITIVE,
                      "month": POSITIVE, "year": POSITIVE,
                      "limit_by": {"consumer", "credential", "ip", "service", "header", "path"},
                      # DB-less Kong offers no "cluster" policy.
                      "header_name": str, "path": str, "policy": {"local", "redis"},
                      "fault_tolerant": bool, "hide_client_headers": bool, "error_code": POSITIVE,
                      "error_message": str, "sync_rate": (-1, float("inf")), "redis": REDIS},
    "correlation-id": {"header_name": str, "generator": {"uuid", "uuid#counter", "tracker"},
                       "echo_downstream": bool},
    "prometheus": {"per_consumer": bool, "status_code_metrics": bool, "latency_metrics": bool,
                   "bandwidth_metrics": bool, "upstream_health_metrics": bool, "ai_metrics": bool},
    "request-size-limiting": {"allowed_payload_size": int, "size_unit": {"megabytes", "kilobytes", "bytes"},
                              "require_content_length": bool},
}
PLUGIN_ENTITY = {"name", "config", "enabled", "protocols", "tags", "instance_name"}
UNITS = {"megabytes": MB, "kilobytes": 1024, "bytes": 1}


def check_fields(where: str, value: Any, schema: dict[str, Any]) -> list[str]:
    errors = []
    if not isinstance(value, dict):
        return [f"{where}: must be a mapping"]
    for key, item in value.items():
        if key not in schema:
            errors.append(f"{where}.{key}: unknown field")
            continue
        rule = schema[key]
        if isinstance(rule, dict):
            errors += check_fields(f"{where}.{key}", item, rule)
        elif isinstance(rule, set):
            if item not in rule:
                errors.append(f"{where}.{key}: {item!r} not one of {sorted(rule)}")
        elif isinstance(rule, tuple):
            if not isinstance(item, (int, float)) or isinstance(item, bool) or not rule[0] <= item <= rule[1]:
                errors.append(f"{where}.{key}: must be a number in [{rule[0]}, {rule[1]}]")
        elif rule is int and (not isinstance(item, int) or isinstance(item, bool)):
            errors.append(f"{where}.{key}: must be an integer")
        elif not isinstance(item, rule):
            errors.append(f"{where}.{key}: must be {rule.__name__}")
    return errors


def check_plugin(where: str, plugin: Any) -> list[str]:
    errors = check_fields(where, plugin, {key: object for key in PLUGIN_ENTITY})
    name = plugin.get("name") if isinstance(plugin, dict) else None
    if name not in PLUGINS:
        return [*errors, f"{where}: unknown plugin {name!r}"]
    config = plugin.get("config", {})
    errors += check_fields(f"{where}({name}).config", config, PLUGINS[name])
    if name == "rate-limiting":
        if not any(period in config for period in ("second", "minute", "hour", "day", "month", "year")):
            errors.append(f"{where}: rate-limiting needs at least one period")
        if config.get("policy") == "redis" and not {"host", "port"} <= set(config.get("redis", {})):
            errors.append(f"{where}: policy redis needs redis.host and redis.port")
        if any(key.startswith("redis_") for key in config):
            errors.append(f"{where}: pre-3.6 flat redis_* fields")
    if name == "jwt" and not set(config.get("claims_to_verify", [])) <= {"exp", "nbf"}:
        errors.append(f"{where}: claims_to_verify takes exp and nbf only")
    return errors


def check_declarative(doc: Any) -> list[str]:
    errors: list[str] = []
    if not isinstance(doc, dict):
        return ["document must be a mapping"]
    errors += [f"top level: unknown key {key!r}" for key in doc if key not in TOP]
    if doc.get("_format_version") != "3.0":
        errors.append("_format_version must be the string '3.0'")
    names: dict[str, set[str]] = {"service": set(), "route": set(), "consumer": set(), "plugin": set()}

    def unique(kind: str, name: Any, where: str) -> None:
        if not isinstance(name, str) or not name:
            errors.append(f"{where}: needs a name")
        elif name in names[kind]:
            errors.append(f"{where}: duplicate {kind} name {name!r}")
        else:
            names[kind].add(name)

    for i, service in enumerate(doc.get("services", [])):
        where = f"services[{i}]"
        errors.extend(check_fields(where, service, SERVICE))
        unique("service", service.get("name"), where)
        url = httpx.URL(service.get("url", ""))
        if url.scheme not in ("http", "https") or not url.host:
            errors.append(f"{where}: url must be http(s)://host:port")
        for j, route in enumerate(service.get("routes", [])):
            rwhere = f"{where}.routes[{j}]"
            errors.extend(check_fields(rwhere, route, ROUTE))
            unique("route", route.get("name"), rwhere)
            if not route.get("paths"):
                errors.append(f"{rwhere}: needs paths")
            # Kong 3: a plain path is a prefix starting with /, a regex one starts with ~/.
            errors += [f"{rwhere}: path {p!r} must start with / (or ~/ for a regex)"
                       for p in route.get("paths", []) if p[:1] != "/" and p[:2] != "~/"]
            for p in route.get("paths", []):
                if p[:2] == "~/":
                    try:
                        re.compile(p[1:])
                    except re.error as exc:
                        errors.append(f"{rwhere}: path {p!r} is no regex: {exc}")
            errors += [f"{rwhere}: protocol {p!r}" for p in route.get("protocols", []) if p not in PROTOCOLS]
            errors += [f"{rwhere}: method {m!r}" for m in route.get("methods", []) if m not in METHODS]
            for k, plugin in enumerate(route.get("plugins", [])):
                errors += check_plugin(f"{rwhere}.plugins[{k}]", plugin)
            rplugins = [p.get("name") for p in route.get("plugins", [])]
            errors += [f"{rwhere}: plugin {n} twice" for n in set(rplugins) if rplugins.count(n) > 1]
        for k, plugin in enumerate(service.get("plugins", [])):
            errors += check_plugin(f"{where}.plugins[{k}]", plugin)
    for i, consumer in enumerate(doc.get("consumers", [])):
        where = f"consumers[{i}]"
        errors.extend(check_fields(where, consumer, CONSUMER))
        unique("consumer", consumer.get("username"), where)
        for j, secret in enumerate(consumer.get("jwt_secrets", [])):
            errors.extend(check_fields(f"{where}.jwt_secrets[{j}]", secret, JWT_SECRET))
            if secret.get("algorithm") not in JWT_ALGORITHMS:
                errors.append(f"{where}.jwt_secrets[{j}]: algorithm {secret.get('algorithm')!r}")
    global_plugins = [p.get("name") for p in doc.get("plugins", [])]
    errors += [f"plugins: {n} configured globally twice" for n in set(global_plugins) if global_plugins.count(n) > 1]
    for k, plugin in enumerate(doc.get("plugins", [])):
        errors += check_plugin(f"plugins[{k}]", plugin)
    return errors


@pytest.fixture(scope="module")
def kong() -> dict[str, Any]:
    return yaml.safe_load(KONG_YML.read_text())


def routes(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for service in doc["services"]:
        for route in service.get("routes", []):
            yield service, route


def plugin(entity: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((p for p in entity.get("plugins", []) if p["name"] == name), None)


def effective_plugin(doc: dict[str, Any], route: dict[str, Any], name: str) -> dict[str, Any] | None:
    """Kong's precedence without consumers: route, then service, then global."""
    service = next(s for s, r in routes(doc) if r is route)
    return plugin(route, name) or plugin(service, name) or plugin(doc, name)


def payload_limit(config: dict[str, Any]) -> int:
    return config["allowed_payload_size"] * UNITS[config.get("size_unit", "megabytes")]


# --- offline checks ----------------------------------------------------------------------------------


def test_the_schema_checker_rejects_what_kong_rejects(kong: dict[str, Any]) -> None:
    bad = yaml.safe_load(KONG_YML.read_text())
    bad["_format_version"] = 3.0
    bad["plugins"][0]["config"]["generatr"] = "uuid"
    rate = next(p for p in bad["plugins"] if p["name"] == "rate-limiting")
    rate["config"]["redis_host"] = "redis"
    rate["config"]["limit_by"] = "consumer-group"
    bad["services"][1]["routes"][0]["plugins"][1]["config"]["policy"] = "cluster"
    bad["services"][1]["routes"][0]["plugins"][1]["config"]["second"] = 0
    bad["services"][0]["routes"][0]["paths"].append("api")
    bad["plugins"].append({"name": "jwt-signer", "config": {}})
    errors = "\n".join(check_declarative(bad))
    for expected in ("_format_version", "generatr: unknown field", "redis_host: unknown field", "'api' must start",
                     "unknown plugin 'jwt-signer'",
                     "limit_by: 'consumer-group'", "policy: 'cluster'", "second: must be a number"):
        assert expected in errors


def test_kong_yml_follows_the_declarative_schema(kong: dict[str, Any]) -> None:
    assert check_declarative(kong) == []
    assert {s["name"] for s in kong["services"]} == {"control", "ingest-frames", "ingest-sensors", "live"}
    for _, route in routes(kong):
        assert route.get("strip_path") is False, f"{route['name']}: services expect the full path"


def test_global_plugins_are_the_issue_s(kong: dict[str, Any]) -> None:
    names = {p["name"] for p in kong["plugins"]}
    assert {"correlation-id", "prometheus", "request-size-limiting", "rate-limiting"} <= names
    prometheus = plugin(kong, "prometheus")
    assert prometheus is not None
    assert all(prometheus["config"][group] is True for group in (
        "per_consumer", "status_code_metrics", "latency_metrics", "bandwidth_metrics", "upstream_health_metrics"))
    for _, route in routes(kong):
        rate = effective_plugin(kong, route, "rate-limiting")
        assert rate is not None and rate["config"]["policy"] == "redis"
        assert rate["config"]["redis"]["host"] == "redis" and rate["config"]["redis"]["port"] == 6379
        size = effective_plugin(kong, route, "request-size-limiting")
        assert size is not None
        assert payload_limit(size["config"]) == (5 * MB if route["name"] == "frames" else 10 * MB), route["name"]


def test_jwt_guards_the_operator_api_and_live_with_control_s_issuer(kong: dict[str, Any]) -> None:
    guarded = {route["name"] for _, route in routes(kong) if effective_plugin(kong, route, "jwt")}
    # Device-token gateways and the login/JWKS endpoints cannot carry a user's JWT.
    assert guarded == {"control-api", "live-ws", "live-frames"}
    live_ws = next(r for _, r in routes(kong) if r["name"] == "live-ws")
    assert "token" in plugin(live_ws, "jwt")["config"]["uri_param_names"]  # type: ignore[index]
    for _, route in routes(kong):
        jwt = plugin(route, "jwt")
        if jwt is not None:
            assert jwt["config"].get("key_claim_name", "iss") == "iss"
            assert "exp" in jwt["config"]["claims_to_verify"]
    [consumer] = kong["consumers"]
    [secret] = consumer["jwt_secrets"]
    assert secret["algorithm"] == "RS256"
    assert secret["key"] == ControlSettings().jwt_issuer == LiveSettings(jwks_url="http://x").jwt_issuer


# --- against control's database: the consumer key ------------------------------------------------------


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with throwaway_database("vigia_edge_kong") as url:
        yield url


def render(database_url: str, out: Path, *extra: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(RENDER), "--out", str(out), *extra], cwd=ROOT,
                          env={**os.environ, "VIGIA_DATABASE_URL": database_url},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return yaml.safe_load(out.read_text())


def active_key(database_url: str) -> tuple[str, dict[str, Any]]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT kid, public_jwk FROM signing_keys WHERE retired_at IS NULL "
                           "ORDER BY created_at DESC LIMIT 1").fetchone()
    assert row is not None
    return row[0], row[1]


def numbers(pem: str) -> tuple[int, int]:
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    return public.public_numbers().n, public.public_numbers().e


def jwk_numbers(jwk: dict[str, Any]) -> tuple[int, int]:
    def uint(data: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)), "big")

    return uint(jwk["n"]), uint(jwk["e"])


def test_render_writes_control_s_current_key_and_follows_rotation(database_url: str, tmp_path: Path,
                                                                 kong: dict[str, Any]) -> None:
    first = render(database_url, tmp_path / "kong.yml")  # no key yet: created as control would
    kid, jwk = active_key(database_url)
    [consumer] = first["consumers"]
    [secret] = consumer["jwt_secrets"]
    assert secret == {"key": ControlSettings().jwt_issuer, "algorithm": "RS256",
                      "rsa_public_key": secret["rsa_public_key"]}
    assert numbers(secret["rsa_public_key"]) == jwk_numbers(jwk)
    assert consumer["custom_id"] == kid
    assert check_declarative(first) == []
    assert {k: v for k, v in first.items() if k != "consumers"} == {k: v for k, v in kong.items() if k != "consumers"}

    done = subprocess.run([sys.executable, "-m", "vigia.control", "rotate_signing_key"], cwd=ROOT,
                          env={**os.environ, "VIGIA_DATABASE_URL": database_url},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    new_kid, new_jwk = active_key(database_url)
    assert new_kid != kid
    second = render(database_url, tmp_path / "kong.yml")
    [secret] = second["consumers"][0]["jwt_secrets"]
    assert numbers(secret["rsa_public_key"]) == jwk_numbers(new_jwk) != jwk_numbers(jwk)


# --- against the running services ----------------------------------------------------------------------


@dataclass
class Upstreams:
    base: dict[str, str]  # Kong service name -> http://127.0.0.1:port
    paths: dict[str, set[str]]  # Kong service name -> paths its OpenAPI (and WebSocket routes) declare


def app_paths(app: Any) -> set[str]:
    """Paths of a FastAPI app's routes, included routers too (WebSocket routes are not in OpenAPI)."""
    found = set()

    def walk(items: list[Any]) -> None:
        for route in items:
            if getattr(route, "path", None):
                found.add(route.path)
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(app.routes)
    return found


@pytest.fixture(scope="module")
def upstreams(database_url: str) -> Iterator[Upstreams]:
    vhost = f"edge-kong-{uuid.uuid4().hex[:8]}"
    api = httpx.Client(base_url="http://127.0.0.1:15672/api", auth=("guest", "guest"), timeout=10)
    api.put(f"/vhosts/{vhost}").raise_for_status()
    api.put(f"/permissions/{vhost}/guest", json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    jwks = Echo("jwks")
    ports = {name: free_port() for name in ("control", "ingest-frames", "ingest-sensors", "live")}
    base_env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_REDIS_URL": "redis://127.0.0.1:6379/0",
                "VIGIA_AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{vhost}", "VIGIA_SHUTDOWN_GRACE_S": "2"}
    commands = {
        "control": ([sys.executable, "-m", "vigia.control", "serve", "--bind", f"127.0.0.1:{ports['control']}",
                     "--workers", "1"], {}),
        "ingest-frames": ([sys.executable, "-m", "vigia.ingest_frames"], {
            "VIGIA_INGEST_FRAMES_PORT": str(ports["ingest-frames"]), "VIGIA_INGEST_FRAMES_HOST": "127.0.0.1",
            "VIGIA_FRAME_DROP_POLL_S": "0"}),
        "ingest-sensors": ([sys.executable, "-m", "vigia.ingest_sensors"], {
            "VIGIA_INGEST_SENSORS_PORT": str(ports["ingest-sensors"]), "VIGIA_INGEST_SENSORS_HOST": "127.0.0.1",
            "VIGIA_SENSOR_SHARDS": "1"}),
        "live": ([sys.executable, "-m", "vigia.live"], {
            "VIGIA_LIVE_PORT": str(ports["live"]), "VIGIA_LIVE_HOST": "127.0.0.1",
            "VIGIA_JWKS_URL": f"http://{jwks.addr}/.well-known/jwks.json", "VIGIA_LIVE_SHUTDOWN_GRACE_S": "2"}),
    }
    procs = {name: subprocess.Popen(argv, env={**base_env, **env}, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
             for name, (argv, env) in commands.items()}
    try:
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name, proc in procs.items():
            wait_ready(f"{base[name]}/healthz", proc, name, within=60)
        schema = httpx.get(f"{base['control']}/api/schema", params={"format": "json"}, timeout=30)
        assert schema.status_code == 200, schema.text[:500]
        paths = {"control": set(schema.json()["paths"])}
        for name in ("ingest-frames", "ingest-sensors"):
            paths[name] = set(httpx.get(f"{base[name]}/api/openapi.json", timeout=10).json()["paths"])
        from vigia.ingest_sensors.app import create_app as sensors_app
        from vigia.live.app import create_app as live_app

        paths["ingest-sensors"] |= app_paths(sensors_app())  # + WS /api/v1/sensors/ws
        paths["live"] = app_paths(live_app(LiveSettings(jwks_url=f"http://{jwks.addr}/")))  # WS /api/v1/ws
        yield Upstreams(base, paths)
    finally:
        for proc in procs.values():
            stop(proc)
        jwks.shutdown()
        jwks.server_close()
        api.delete(f"/vhosts/{vhost}")
        api.close()


# Paths Kong routes that are deliberately outside the OpenAPI documents.
NOT_IN_OPENAPI = {"/api/schema": "the OpenAPI document itself", "/api/docs": "Swagger UI",
                  "/objects/": "signed object URLs (control's urls.py, verified by signature)"}


def test_every_route_path_names_paths_its_service_declares(kong: dict[str, Any], upstreams: Upstreams) -> None:
    assert "/api/v1/sensors/ws" in upstreams.paths["ingest-sensors"] and "/api/v1/ws" in upstreams.paths["live"]
    for service, route in routes(kong):
        for prefix in route["paths"]:
            if prefix in NOT_IN_OPENAPI:
                continue
            declared = upstreams.paths[service["name"]]
            matched = {p for p in declared if matches(prefix, p.replace("{", "x").replace("}", ""))}
            assert matched, f"route {route['name']} path {prefix} matches nothing {service['name']} declares"


def matches(route_path: str, path: str) -> bool:
    """Whether a route path (a prefix, or a regex after ``~``, anchored at the start) takes ``path``."""
    return bool(re.match(route_path[1:], path)) if route_path.startswith("~") else path.startswith(route_path)


def winner(kong: dict[str, Any], path: str) -> str | None:
    """The service of the route Kong picks for ``path``: a regex path first (the traditional
    router tries them before prefixes), else the longest prefix."""
    best: tuple[int, str] | None = None
    for service, route in routes(kong):
        for route_path in route["paths"]:
            if not matches(route_path, path):
                continue
            if route_path.startswith("~"):
                return str(service["name"])
            if best is None or len(route_path) > best[0]:
                best = (len(route_path), service["name"])
    return best[1] if best else None


def test_every_api_path_of_every_service_is_routed_to_that_service(kong: dict[str, Any],
                                                                    upstreams: Upstreams) -> None:
    checked = 0
    for name, paths in upstreams.paths.items():
        for path in paths:
            if path.startswith(("/api/v1/", "/.well-known/")):
                assert winner(kong, path.replace("{", "x").replace("}", "")) == name, (name, path)
                checked += 1
    assert checked > 30
    assert winner(kong, "/healthz") is None and winner(kong, "/metrics") is None  # ops endpoints stay internal


# Per route path: a request that only the right service answers this way (no credentials).
PROBES: dict[str, tuple[str, str, set[int]]] = {
    "/api/v1/auth/": ("GET", "/api/v1/auth/me", {401}),
    "/.well-known/jwks.json": ("GET", "/.well-known/jwks.json", {200}),
    "/api/schema": ("GET", "/api/schema", {200}),
    "/api/docs": ("GET", "/api/docs", {200}),
    "/objects/": ("GET", "/objects/probe", {400, 404}),
    "/api/v1/": ("GET", "/api/v1/cameras/", {401}),
    "/api/v1/frames": ("POST", "/api/v1/frames", {401}),
    "/api/v1/sensors": ("POST", "/api/v1/sensors:batch", {401}),
}


async def test_every_upstream_answers_as_its_service_through_each_route_path(kong: dict[str, Any],
                                                                             upstreams: Upstreams) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for service, route in routes(kong):
            base = upstreams.base[httpx.URL(service["url"]).host]
            assert httpx.URL(service["url"]).port == {"control": 8000, "ingest-frames": 8001,
                                                      "ingest-sensors": 8002, "live": 8003}[service["name"]]
            for prefix in route["paths"]:
                sockets = {"/api/v1/ws": "/api/v1/ws",
                           "~/api/v1/cameras/[^/]+/frames$": f"/api/v1/cameras/{uuid.uuid4()}/frames"}
                if prefix in sockets:  # live's sockets: its own 4401 for a bad token
                    assert winner(kong, sockets[prefix]) == "live"
                    async with websockets.connect(base.replace("http", "ws") + sockets[prefix] + "?token=bad") as ws:
                        with pytest.raises(websockets.ConnectionClosed) as closed:
                            await asyncio.wait_for(ws.recv(), 15)
                    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
                    continue
                method, path, statuses = PROBES[prefix]
                assert path.startswith(prefix) and winner(kong, path) == service["name"]
                response = await http.request(method, base + path)
                assert response.status_code in statuses, (route["name"], path, response.status_code,
                                                          response.text[:300])


def test_render_from_control_s_jwks_matches_the_database(database_url: str, upstreams: Upstreams,
                                                         tmp_path: Path) -> None:
    from_db = render(database_url, tmp_path / "db.yml")
    from_jwks = render(database_url, tmp_path / "jwks.yml", "--jwks-url",
                       f"{upstreams.base['control']}/.well-known/jwks.json")
    assert from_jwks == from_db
