"""Prometheus, Grafana, Loki and Alloy configuration (deploy/prometheus, deploy/grafana, deploy/loki,
deploy/alloy) checked against what the services really export.

* The metric inventory comes from a real exporter: a subprocess imports every module of every
  service that defines Prometheus metrics (found by scanning services/*/vigia) and serves them with
  the services' own ``vigia.common.observability.serve_metrics``; the test scrapes /metrics and
  parses the exposition. It also reports each metric's label names, so label matchers and
  ``by (...)`` clauses are checked too.
* Every PromQL expression (alert rules, dashboard targets, dashboard variables) may name only those
  metrics, RabbitMQ's ``rabbitmq_prometheus`` plugin metrics listed in RABBITMQ_PLUGIN_METRICS
  (scraped from its /metrics/per-object endpoint; the plugin is not enabled on the test machine)
  or Prometheus' own ``up``.
* promtool (Debian package ``prometheus``) checks the config, the rule files, the dashboard
  expressions (as recording rules) and runs the alert unit tests in deploy/prometheus/tests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
PROM_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
RULE_FILES = sorted((PROM_DIR / "rules").glob("*.yml"))
DASHBOARDS = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))

# From RabbitMQ's rabbitmq_prometheus plugin, endpoint /metrics/per-object (labels vhost, queue).
RABBITMQ_PLUGIN_METRICS = {
    "rabbitmq_queue_messages": {"vhost", "queue"},
    "rabbitmq_queue_messages_ready": {"vhost", "queue"},
    "rabbitmq_queue_messages_unacked": {"vhost", "queue"},
    "rabbitmq_queue_consumers": {"vhost", "queue"},
}
# Synthesised by Prometheus for every target.
PROMETHEUS_METRICS: dict[str, set[str]] = {"up": set()}
TARGET_LABELS = {"instance", "job"}

FUNCTIONS_AND_KEYWORDS = {
    # aggregation operators (may be followed by `by (...)` rather than a parenthesis)
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "limitk", "limit_ratio",
    # binary operators and modifiers
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "atan2", "inf", "nan",
}

EXPORTER = textwrap.dedent("""
    import importlib, json, os, pathlib, sys
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vigia.control.settings")
    import django
    django.setup()
    root = pathlib.Path(sys.argv[1])
    modules = []
    for path in sorted(root.glob("services/*/vigia/**/*.py")):
        if "tests" in path.parts or "prometheus_client" not in path.read_text():
            continue
        rel = path.relative_to(root / "services" / path.relative_to(root).parts[1])
        modules.append(".".join(rel.with_suffix("").parts))
    for name in modules:
        importlib.import_module(name)
    from prometheus_client import REGISTRY
    from vigia.common.observability import serve_metrics
    labels = {}
    for name, collector in REGISTRY._names_to_collectors.items():
        names = getattr(collector, "_labelnames", None)
        labels[name] = list(names) if names is not None else None
    server = serve_metrics(0, "127.0.0.1")
    print(json.dumps({"port": server.server_address[1], "modules": modules, "labels": labels}), flush=True)
    sys.stdin.read()
""")


# --------------------------------------------------------------------------------------------
# The services' real metrics


def _sample_names(family_name: str, kind: str) -> set[str]:
    suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_sum", "_count", "_created"],
                "gaugehistogram": ["_bucket", "_gsum", "_gcount"], "summary": ["", "_sum", "_count", "_created"],
                "info": ["_info"]}.get(kind, [""])
    return {family_name + s for s in suffixes}


@pytest.fixture(scope="module")
def exported() -> dict[str, set[str] | None]:
    """Sample name -> label names (None: a custom collector whose labels are not declared)."""
    proc = subprocess.Popen([sys.executable, "-c", EXPORTER, str(ROOT)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line, f"metrics exporter failed (exit {proc.poll()})"
        info = json.loads(line)
        # Every service ships metrics: a module list missing one means the scan broke.
        packages = {m.split(".")[1] for m in info["modules"]}
        assert {"common", "control", "correlator", "fusion", "ingest_frames", "ingest_sensors", "live",
                "streamer", "vision", "watchdog"} <= packages
        text = httpx.get(f"http://127.0.0.1:{info['port']}/metrics", timeout=10).raise_for_status().text
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=10)
    out: dict[str, set[str] | None] = {}
    for family in text_string_to_metric_families(text):
        declared = info["labels"].get(family.name)
        if declared is None and family.type == "counter":
            declared = info["labels"].get(family.name + "_total")
        seen = {k for s in family.samples for k in s.labels} - {"le", "quantile"}
        labels = set(declared) if declared is not None else (seen or None)
        for name in _sample_names(family.name, family.type) | {s.name for s in family.samples}:
            out[name] = None if labels is None else labels | ({"le"} if name.endswith("_bucket") else set())
    return out


def test_inventory_has_what_the_dashboards_need(exported: dict[str, set[str] | None]) -> None:
    # The metrics issue #5 asks every service to export, by their real names.
    for name in ("vigia_http_request_duration_seconds_bucket", "vigia_messages_consumed_total",
                 "streamer_frames_dropped_total", "vigia_vision_inference_seconds_bucket",
                 "vigia_vision_ocr_seconds_bucket", "streamer_ffmpeg_restarts_total",
                 "watchdog_restarts_total", "vigia_sensor_packets_accepted_total",
                 "vigia_frames_queue_ready", "vigia_vision_frame_age_seconds_bucket",
                 "vigia_vision_detection_latency_seconds_bucket", "watchdog_devices",
                 "vigia_message_age_seconds_bucket", "vigia_http_requests_total"):
        assert name in exported, name
    assert exported["vigia_vision_detections_total"] == {"camera", "label"}


def test_running_watchdog_exports_only_inventoried_metrics(exported: dict[str, set[str] | None],
                                                           amqp_url: str, redis_url: str) -> None:
    """A real worker process (the watchdog, leader of its own Redis db and vhost; its database does
    not exist, so its checks fail and count failures) exports nothing the inventory misses."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "VIGIA_METRICS_PORT": str(port), "VIGIA_AMQP_URL": amqp_url, "VIGIA_REDIS_URL": redis_url,
           "VIGIA_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/vigia_observability_absent",
           "VIGIA_LOG_LEVEL": "ERROR"}
    proc = subprocess.Popen([sys.executable, "-m", "vigia.watchdog"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        families: dict[str, str] = {}
        for _ in range(300):
            assert proc.poll() is None, f"watchdog exited with {proc.returncode}"
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            families = {f.name: f.type for f in text_string_to_metric_families(text)}
            if "watchdog_check_failures" in families and "watchdog_is_leader" in families:
                break
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert "watchdog_devices" in families and "watchdog_restarts" in families
    missing = [name for name, kind in families.items() if not _sample_names(name, kind) <= set(exported)]
    assert not missing, missing


# --------------------------------------------------------------------------------------------
# Collecting PromQL


def _grafana_to_promql(expr: str) -> str:
    """Grafana's template variables replaced by values PromQL accepts."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1d")
    expr = re.sub(r"\[\$\{?\w+\}?\]", "[5m]", expr)
    return re.sub(r"\$\{?\w+(?::\w+)?\}?", ".*", expr)


def _panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in panels:
        out.append(p)
        out += _panels(p.get("panels", []))
    return out


def _dashboard_exprs(board: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(where, datasource uid, expression) of every panel target and query variable."""
    out = []
    for p in _panels(board["panels"]):
        for t in p.get("targets", []):
            uid = (t.get("datasource") or p.get("datasource") or {}).get("uid")
            out.append((f"{board['uid']} / {p['title']} / {t['refId']}", uid, t["expr"]))
    for v in board.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            assert m, f"{board['uid']} variable {v['name']}: unsupported query {query}"
            out.append((f"{board['uid']} / variable {v['name']}", v["datasource"]["uid"],
                        f"count by ({m.group(2)}) ({m.group(1)})"))
    return out


def _rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


def _all_promql() -> list[tuple[str, str]]:
    out = [(f"rule {r.get('alert') or r.get('record')}", r["expr"]) for r in _rules()]
    for path in DASHBOARDS:
        for where, uid, expr in _dashboard_exprs(json.loads(path.read_text())):
            if uid == "prometheus":
                out.append((where, _grafana_to_promql(expr)))
    return out


# --------------------------------------------------------------------------------------------
# A small PromQL tokenizer: enough to find metric names and label names


STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}")
TOKEN = re.compile(r"(?P<num>\d[\w.]*)|(?P<id>[A-Za-z_:][\w:]*)(?P<call>\s*\()?")


def referenced(expr: str) -> tuple[dict[str, set[str]], set[str]]:
    """Metric name -> label names used in its matchers; and the labels of by/on/... clauses."""
    expr = STRING.sub('""', expr)
    grouping = {label.strip() for m in GROUPING.finditer(expr) for label in m.group(2).split(",") if label.strip()}
    expr = GROUPING.sub(" ", expr)
    metrics: dict[str, set[str]] = {}
    for m in SELECTOR.finditer(expr):
        matchers = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", m.group(2)))
        name = m.group(1)
        if name is None:  # {__name__="..."} style selectors are not used here
            raise AssertionError(f"selector without a metric name in {expr!r}")
        metrics.setdefault(name, set()).update(matchers)
    expr = SELECTOR.sub(lambda m: f" {m.group(1)} ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    for m in TOKEN.finditer(expr):
        name = m.group("id")
        if name and not m.group("call") and name not in FUNCTIONS_AND_KEYWORDS:
            metrics.setdefault(name, set())
    return metrics, grouping


def test_tokenizer() -> None:
    metrics, grouping = referenced(
        'histogram_quantile(0.95, sum by (service, le) (rate(vigia_http_request_duration_seconds_bucket'
        '{route!~"/x|y", status=~"5.."}[5m] offset 1h))) > 1 and on (instance) (watchdog_is_leader == 1)'
        ' or sum(up) without (job) / 2e3')
    assert metrics == {"vigia_http_request_duration_seconds_bucket": {"route", "status"},
                       "watchdog_is_leader": set(), "up": set()}
    assert grouping == {"service", "le", "instance", "job"}


def test_expressions_name_only_exported_metrics_and_labels(exported: dict[str, set[str] | None]) -> None:
    known: dict[str, set[str] | None] = {**exported, **RABBITMQ_PLUGIN_METRICS, **PROMETHEUS_METRICS}
    exprs = _all_promql()
    assert len(exprs) > 40
    problems = []
    used = set()
    for where, expr in exprs:
        metrics, grouping = referenced(expr)
        assert metrics, f"{where}: no metric in {expr!r}"
        available: set[str] = set(TARGET_LABELS)
        unknown_labels = False
        for name, matchers in metrics.items():
            used.add(name)
            if name not in known:
                problems.append(f"{where}: {name} is not exported by any service")
                continue
            labels = known[name]
            if labels is None:
                unknown_labels = True
                continue
            available |= labels
            if missing := matchers - labels - TARGET_LABELS:
                problems.append(f"{where}: {name} has no label(s) {sorted(missing)}")
        if not unknown_labels and (missing := grouping - available):
            problems.append(f"{where}: grouping by {sorted(missing)} that no referenced metric has")
    assert not problems, "\n".join(problems)
    # The issue's list: each of these is on a dashboard or an alert.
    assert {"streamer_frames_published_total", "rabbitmq_queue_messages_ready", "rabbitmq_queue_messages",
            "watchdog_devices", "vigia_vision_detections_total", "vigia_sensor_packets_accepted_total",
            "vigia_vision_inference_seconds_bucket", "vigia_vision_detection_latency_seconds_bucket",
            "vigia_vision_frame_age_seconds_bucket"} <= used


# --------------------------------------------------------------------------------------------
# promtool


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool missing: deploy/local/bootstrap.sh must `apt-get install prometheus`"
    return path


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promtool_accepts_config_and_rules(promtool: str) -> None:
    assert RULE_FILES
    out = _run(promtool, "check", "rules", *map(str, RULE_FILES))
    assert "SUCCESS" in out
    out = _run(promtool, "check", "config", str(PROM_DIR / "prometheus.yml"))
    assert f"{len(RULE_FILES)} rule files found" in out


def test_alert_unit_tests(promtool: str) -> None:
    tests = sorted((PROM_DIR / "tests").glob("*.yml"))
    assert tests
    _run(promtool, "test", "rules", *map(str, tests))


def test_promtool_parses_dashboard_expressions(promtool: str, tmp_path: Path) -> None:
    exprs = [e for w, e in _all_promql() if w.split(" ", 1)[0] != "rule"]
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump(rules))
    out = _run(promtool, "check", "rules", str(path))
    assert f"{len(exprs)} rules found" in out


def test_alerts_cover_the_issue() -> None:
    rules = {r["alert"]: r for r in _rules() if "alert" in r}
    for name in ("VigiaCameraDown", "VigiaQueueBacklog", "VigiaDLQNotEmpty", "VigiaDevicesOfflineRatio",
                 "VigiaHighDetectionLatency", "VigiaHighHTTPLatency"):
        assert name in rules
    for rule in rules.values():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


# --------------------------------------------------------------------------------------------
# Scrape targets


def _procfile_services() -> set[str]:
    lines = (ROOT / "deploy" / "local" / "Procfile").read_text().splitlines()
    names = {line.split(":", 1)[0] for line in lines if ":" in line and not line.startswith("#")}
    return names - {"camsim", "phonesim"}


def test_every_service_is_scraped() -> None:
    config = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    hosts: dict[str, str] = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            for name in sd["names"]:
                hosts[name] = job["job_name"]
        for sc in job.get("static_configs", []):
            for target in sc["targets"]:
                hosts[target.rsplit(":", 1)[0]] = job["job_name"]
    assert _procfile_services() <= set(hosts), _procfile_services() - set(hosts)
    assert {"rabbitmq", "redis-exporter"} <= set(hosts)
    rabbit = next(j for j in config["scrape_configs"] if j["job_name"] == "rabbitmq")
    assert rabbit["metrics_path"] == "/metrics/per-object"  # per-queue series for the queue alerts
    compose_path = ROOT / "compose.yaml"
    compose = yaml.safe_load(compose_path.read_text()) if compose_path.exists() else {}
    services = set((compose or {}).get("services", {}))
    if "prometheus" in services:  # once compose runs Prometheus, every target is a compose service
        assert set(hosts) - {"localhost"} <= services, set(hosts) - {"localhost"} - services


# --------------------------------------------------------------------------------------------
# Grafana


def _datasources() -> dict[str, str]:
    doc = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "datasources.yml").read_text())
    return {d["uid"]: d["type"] for d in doc["datasources"]}


def test_grafana_provisioning() -> None:
    assert _datasources() == {"prometheus": "prometheus", "loki": "loki"}
    doc = yaml.safe_load((GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml").read_text())
    (provider,) = doc["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_dashboards_are_valid_and_use_provisioned_datasources() -> None:
    datasources = _datasources()
    assert len(DASHBOARDS) >= 4
    uids = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        uids.append(board["uid"])
        assert board["title"] and board["schemaVersion"] >= 36 and "id" not in board
        panels = _panels(board["panels"])
        assert len({p["id"] for p in panels}) == len(panels), f"{path.name}: duplicate panel ids"
        for p in panels:
            assert p["gridPos"]["x"] >= 0 and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
            ds = p["datasource"]
            assert datasources.get(ds["uid"]) == ds["type"], f"{path.name} / {p['title']}: {ds}"
            assert p["targets"], f"{path.name} / {p['title']}: no query"
            for t in p["targets"]:
                assert datasources.get(t["datasource"]["uid"]) == t["datasource"]["type"]
                assert t["expr"].strip()
        for v in board["templating"]["list"]:
            assert datasources.get(v["datasource"]["uid"]) == v["datasource"]["type"]
    assert len(set(uids)) == len(uids), f"duplicate dashboard uids: {uids}"


def test_dashboards_cover_the_issue() -> None:
    exprs = {path.stem: [e for _, _, e in _dashboard_exprs(json.loads(path.read_text()))] for path in DASHBOARDS}
    text = "\n".join(e for es in exprs.values() for e in es)
    assert re.search(r"avg_over_time\(.*streamer_frames_published_total.*\[24h:", text)  # uptime per camera 24 h
    for q in ("0.5", "0.95", "0.99"):  # streaming and detection latency quantiles
        assert f"histogram_quantile({q}, sum by (le) (rate(vigia_vision_frame_age_seconds_bucket" in text
        assert f"histogram_quantile({q}, sum by (le) (rate(vigia_vision_detection_latency_seconds_bucket" in text
    assert 'rabbitmq_queue_messages_ready{queue=~"vision.frames' in text  # AI queue length
    assert "vigia_vision_inference_seconds_bucket" in text  # processing time
    assert "sum by (camera) (increase(vigia_vision_detections_total" in text and "[1h]" in text
    assert "vigia_sensor_packets_accepted_total" in text  # sensor ingest rate
    assert "sum by (status) (watchdog_devices" in text  # device status


def test_generated_dashboards_are_current(tmp_path: Path) -> None:
    """The JSON files are what generate_dashboards.py writes (edit the generator, not the JSON)."""
    script = (GRAFANA_DIR / "generate_dashboards.py").read_text()
    namespace: dict[str, Any] = {"__name__": "generate_dashboards", "__file__": str(tmp_path / "x.py")}
    exec(compile(script, "generate_dashboards.py", "exec"), namespace)
    namespace["main"]()
    for path in DASHBOARDS:
        assert (tmp_path / "dashboards" / path.name).read_text() == path.read_text(), path.name
    assert len(list((tmp_path / "dashboards").iterdir())) == len(DASHBOARDS)


# --------------------------------------------------------------------------------------------
# Loki and Alloy (no binaries here: structure checked on paper)


def test_loki_config() -> None:
    doc = yaml.safe_load((ROOT / "deploy" / "loki" / "loki.yml").read_text())
    assert doc["auth_enabled"] is False and doc["server"]["http_listen_port"] == 3100
    (schema,) = doc["schema_config"]["configs"]
    assert schema["store"] == "tsdb" and schema["schema"] == "v13" and schema["index"]["period"] == "24h"
    assert doc["compactor"]["retention_enabled"] is True and doc["limits_config"]["retention_period"] == "720h"
    assert doc["compactor"]["delete_request_store"] == schema["object_store"]


def test_alloy_config_references_resolve() -> None:
    text = (ROOT / "deploy" / "alloy" / "config.alloy").read_text()
    code = re.sub(r"//[^\n]*", "", STRING.sub('""', text))
    assert code.count("{") == code.count("}")
    declared = {f"{kind}.{label}" for kind, label in re.findall(r"^([a-z_.]+)\s+\"(\w+)\"\s*\{", text, re.M)}
    assert {"discovery.docker.containers", "loki.source.docker.containers", "loki.write.default"} <= declared
    refs = re.findall(r"=\s*\[?\s*([a-z_]+(?:\.[a-z_]+)+)\.(receiver|targets|rules)\b", code)
    assert refs
    for component, _export in refs:
        assert component in declared, component
    assert "http://loki:3100/loki/api/v1/push" in text
    assert "__meta_docker_container_label_com_docker_compose_service" in text
