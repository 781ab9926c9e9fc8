"""k8s/: the kustomize base and its dev and prod overlays render, and every object they render is valid.

Rendering is ``kubectl kustomize`` (the kubectl of the machine image); Kubernetes objects are
validated strictly (unknown fields rejected) against the OpenAPI schemas that the
``kubernetes-validate`` package ships, for the newest Kubernetes it knows and for the oldest we
support. KEDA's custom resources are not in those schemas: they are checked against a schema of
our own written from KEDA's ScaledObject/TriggerAuthentication reference (``KEDA_SCHEMAS``), and
their queue names against :mod:`vigia.common.broker.topology`. The rest are the deployment rules
of issue #5 (probes, resources, security context, PDBs, autoscalers, GPU vision) checked on the
rendered objects, so that a patch in an overlay cannot silently undo them.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from vigia.common.broker import topology
from vigia.common.broker.settings import BrokerSettings
from vigia.common.settings import discover_settings_models, is_placeholder

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
#: Kubernetes versions validated: the newest the schemas know, and the oldest cluster supported
#: (topologySpreadConstraints.matchLabelKeys is beta from 1.27 on; autoscaling/v2 from 1.23).
K8S_VERSIONS = (kubernetes_validate.utils.latest_version(), "1.29.0")

#: Every Vigia Deployment: the named port its probes use and that port's number.
APPS = {
    "control": ("http", 8000),
    "ingest-frames": ("http", 8001),
    "ingest-sensors": ("http", 8002),
    "live": ("http", 8003),
    "streamer": ("metrics", 9101),
    "vision": ("metrics", 9102),
    "watchdog": ("metrics", 9103),
    "fusion": ("metrics", 9104),
    "correlator": ("metrics", 9105),
    "automation": ("metrics", 9106),
    "forecast": ("metrics", 9107),
    "trainer": ("metrics", 9113),
    "notifier": ("metrics", 9108),
    "outbox-relay": ("metrics", 9110),
    "recorder": ("metrics", 9111),
    "mediamtx-sync": ("metrics", 9112),
}
#: Third-party workloads of the base (every overlay): MediaMTX re-serving cameras as HLS.
MEDIA = ("mediamtx",)
#: One-shot Jobs of the control image and the command each runs.
JOBS = {"migrate": ["migrate", "--no-input"], "topology": ["declare_topology"]}
GATEWAYS = ("control", "ingest-frames", "ingest-sensors", "live")
QUEUE_SCALED = ("vision", "fusion", "automation", "notifier")
INFRA = ("postgres", "redis", "rabbitmq", "minio")
#: Secrets the prod overlay expects to exist in the cluster (created out of band, k8s/README.md).
PROD_EXTERNAL_SECRETS = {"vigia-secrets", "vigia-keda-rabbitmq", "vigia-tls"}
DEPRECATED_KUSTOMIZE_FIELDS = ("commonLabels", "patchesStrategicMerge", "patchesJson6902", "bases", "vars",
                               "imageTags", "crds")
UID = 10001

# --- KEDA: our own schema, from keda.sh/docs reference/scaledobject-spec and the rabbitmq scaler --

_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
    "namespace": {"type": "string"}, "labels": _STR_MAP, "annotations": _STR_MAP}, "additionalProperties": False}
_HPA_RULES = {"type": "object", "additionalProperties": False, "properties": {
    "stabilizationWindowSeconds": {"type": "integer", "minimum": 0, "maximum": 3600},
    "selectPolicy": {"enum": ["Max", "Min", "Disabled"]},
    "policies": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                            "required": ["type", "value", "periodSeconds"], "properties": {
                                                "type": {"enum": ["Pods", "Percent"]},
                                                "value": {"type": "integer", "minimum": 1},
                                                "periodSeconds": {"type": "integer", "minimum": 1,
                                                                  "maximum": 1800}}}}}}
_RABBITMQ_METADATA = {
    "type": "object", "additionalProperties": False, "required": ["queueName", "mode", "value"],
    "properties": {
        "protocol": {"enum": ["amqp", "http", "auto"]},
        "mode": {"enum": ["QueueLength", "MessageRate"]},
        "value": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
        "activationValue": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
        "queueName": {"type": "string", "minLength": 1},
        "vhostName": {"type": "string"},
        "useRegex": {"type": "string"}, "excludeUnacknowledged": {"type": "string"},
        "operation": {"enum": ["sum", "max", "avg"]}, "timeout": {"type": "string"},
        "unsafeSsl": {"type": "string"},
        # Credentials never inline: host comes from a TriggerAuthentication (or an env var).
        "hostFromEnv": {"type": "string"},
    }}
KEDA_SCHEMAS: dict[str, dict[str, Any]] = {
    "ScaledObject": {
        "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"}, "kind": {"const": "ScaledObject"}, "metadata": _METADATA,
            "spec": {
                "type": "object", "additionalProperties": False, "required": ["scaleTargetRef", "triggers"],
                "properties": {
                    "scaleTargetRef": {"type": "object", "additionalProperties": False, "required": ["name"],
                                       "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                                      "name": {"type": "string"},
                                                      "envSourceContainerName": {"type": "string"}}},
                    "pollingInterval": {"type": "integer", "minimum": 1},
                    "cooldownPeriod": {"type": "integer", "minimum": 0},
                    "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                    "idleReplicaCount": {"type": "integer", "minimum": 0},
                    "minReplicaCount": {"type": "integer", "minimum": 0},
                    "maxReplicaCount": {"type": "integer", "minimum": 1},
                    "fallback": {"type": "object", "additionalProperties": False,
                                 "required": ["failureThreshold", "replicas"],
                                 "properties": {"failureThreshold": {"type": "integer", "minimum": 1},
                                                "replicas": {"type": "integer", "minimum": 1},
                                                "behavior": {"enum": ["static", "currentReplicas",
                                                                      "currentReplicasIfHigher",
                                                                      "currentReplicasIfLower"]}}},
                    "advanced": {"type": "object", "additionalProperties": False, "properties": {
                        "restoreToOriginalReplicaCount": {"type": "boolean"},
                        "horizontalPodAutoscalerConfig": {
                            "type": "object", "additionalProperties": False, "properties": {
                                "name": {"type": "string"},
                                "behavior": {"type": "object", "additionalProperties": False,
                                             "properties": {"scaleUp": _HPA_RULES, "scaleDown": _HPA_RULES}}}},
                    }},
                    "triggers": {"type": "array", "minItems": 1, "items": {
                        "type": "object", "additionalProperties": False, "required": ["type", "metadata"],
                        "properties": {
                            "type": {"const": "rabbitmq"},
                            "name": {"type": "string"},
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            "metadata": _RABBITMQ_METADATA,
                            "authenticationRef": {"type": "object", "additionalProperties": False,
                                                  "required": ["name"],
                                                  "properties": {"name": {"type": "string"},
                                                                 "kind": {"enum": ["TriggerAuthentication",
                                                                                   "ClusterTriggerAuthentication"]}}},
                        }}},
                }},
        }},
    "TriggerAuthentication": {
        "type": "object", "additionalProperties": False, "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "keda.sh/v1alpha1"}, "kind": {"const": "TriggerAuthentication"},
            "metadata": _METADATA,
            "spec": {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
                "secretTargetRef": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "additionalProperties": False, "required": ["parameter", "name", "key"],
                    "properties": {"parameter": {"enum": ["host", "username", "password", "ca", "cert", "key"]},
                                   "name": {"type": "string"}, "key": {"type": "string"}}}},
                "env": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["parameter", "name"],
                    "properties": {"parameter": {"type": "string"}, "name": {"type": "string"},
                                   "containerName": {"type": "string"}}}},
            }}}},
}


# --- rendering ---------------------------------------------------------------------------------

@functools.cache
def render(path: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing (the machine image ships it; see deploy/local/bootstrap.sh)"
    result = subprocess.run([kubectl, "kustomize", str(K8S / path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in render(f"overlays/{overlay}") if o["kind"] == kind}


def pod_template(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def vigia_deployments(overlay: str) -> dict[str, dict[str, Any]]:
    return {name: d for name, d in objects(overlay, "Deployment").items() if name in APPS}


def kustomizations() -> Iterator[Path]:
    yield from sorted(K8S.rglob("kustomization.yaml"))


# --- render and validate -----------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_every_service_into_one_namespace(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    assert set(vigia_deployments(overlay)) == set(APPS)
    assert set(objects(overlay, "Job")) == set(JOBS)
    namespaces = [o["metadata"]["name"] for o in docs if o["kind"] == "Namespace"]
    assert len(namespaces) == 1
    for obj in docs:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespaces[0], obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "vigia"


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kubernetes_object_validates_strictly(overlay: str, version: str) -> None:
    checked = 0
    for obj in render(f"overlays/{overlay}"):
        if obj["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} ({version}): {exc.message} at "
                        f"{'.'.join(map(str, exc.path))}")
        checked += 1
    assert checked > 40


def test_strict_validation_rejects_an_unknown_field() -> None:
    """The validator really is strict: a misspelt field would not slip through."""
    deployment = yaml.safe_load(yaml.safe_dump(vigia_deployments("prod")["control"]))
    pod_template(deployment)["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/", "port": 80}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_objects_validate_against_their_schema(overlay: str) -> None:
    keda = [o for o in render(f"overlays/{overlay}") if o["apiVersion"].startswith("keda.sh/")]
    assert {o["kind"] for o in keda} == {"ScaledObject", "TriggerAuthentication"}
    for obj in keda:
        jsonschema.Draft202012Validator(KEDA_SCHEMAS[obj["kind"]]).validate(obj)


def test_keda_schema_rejects_an_unknown_trigger_field() -> None:
    scaled = yaml.safe_load(yaml.safe_dump(objects("prod", "ScaledObject")["vision"]))
    scaled["spec"]["triggers"][0]["metadata"]["queueLength"] = "20"  # KEDA 2.0's name, removed since
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(KEDA_SCHEMAS["ScaledObject"]).validate(scaled)


def test_kustomizations_use_no_deprecated_fields() -> None:
    files = list(kustomizations())
    assert {f.relative_to(K8S).as_posix() for f in files} >= {
        "base/kustomization.yaml", "overlays/dev/kustomization.yaml", "overlays/prod/kustomization.yaml"}
    for path in files:
        spec = yaml.safe_load(path.read_text())
        assert spec["apiVersion"] == "kustomize.config.k8s.io/v1beta1", path
        assert spec["kind"] == "Kustomization", path
        used = sorted(set(spec) & set(DEPRECATED_KUSTOMIZE_FIELDS))
        assert not used, f"{path}: deprecated {used}"
        for patch in spec.get("patches", []):
            assert "path" in patch or "patch" in patch, path
    assert "labels" in yaml.safe_load((K8S / "base/kustomization.yaml").read_text())
    assert "patches" in yaml.safe_load((K8S / "overlays/prod/kustomization.yaml").read_text())


# --- the queue autoscalers point at real queues -------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_scales_vision_and_fusion_on_the_topologys_queues(overlay: str) -> None:
    shards = BrokerSettings.model_fields["sensor_shards"].default
    frame_shards = BrokerSettings.model_fields["frame_shards"].default
    config = objects(overlay, "ConfigMap")["vigia-config"]["data"]
    assert int(config["VIGIA_SENSOR_SHARDS"]) == shards
    assert int(config["VIGIA_FRAME_SHARDS"]) == frame_shards
    broker = BrokerSettings(sensor_shards=shards, frame_shards=frame_shards)
    declared = {q.name for q in topology.build_topology(broker).queues}
    scaled = objects(overlay, "ScaledObject")
    assert set(scaled) == set(QUEUE_SCALED)
    queues = {name: [t["metadata"]["queueName"] for t in so["spec"]["triggers"]] for name, so in scaled.items()}
    # Vision: one trigger summing every queue its regex matches, which are exactly the frame shards.
    (vision_trigger,) = scaled["vision"]["spec"]["triggers"]
    assert vision_trigger["metadata"]["useRegex"] == "true" and vision_trigger["metadata"]["operation"] == "sum"
    assert vision_trigger["metadata"]["protocol"] == "http"  # KEDA's regex needs the management API
    pattern = re.compile(vision_trigger["metadata"]["queueName"])
    assert {q for q in declared if pattern.search(q)} == set(topology.frame_shard_queues(broker))
    assert not pattern.search(topology.frame_shard_queue(frame_shards) + ".dlq")
    assert queues["fusion"] == [topology.sensor_shard_queue(i) for i in range(shards)]
    assert set(queues["fusion"]) <= declared
    # One consumer per shard: replicas beyond the shard count would only stand by.
    assert scaled["fusion"]["spec"]["maxReplicaCount"] <= shards
    automation_shards = BrokerSettings.model_fields["automation_shards"].default
    assert int(config["VIGIA_AUTOMATION_SHARDS"]) == automation_shards
    assert queues["automation"] == topology.automation_shard_queues(
        BrokerSettings(automation_shards=automation_shards))
    assert set(queues["automation"]) <= declared
    assert scaled["automation"]["spec"]["maxReplicaCount"] <= automation_shards
    assert scaled["vision"]["spec"]["maxReplicaCount"] <= frame_shards
    # The notifier: the actions' backlog only (the delay queues hold retries waiting on purpose).
    assert queues["notifier"] == [topology.NOTIFIER_ACTIONS] and topology.NOTIFIER_ACTIONS in declared
    auths = objects(overlay, "TriggerAuthentication")
    deployments = objects(overlay, "Deployment")
    for name, so in scaled.items():
        target = so["spec"]["scaleTargetRef"]
        assert target["name"] == name and target.get("kind", "Deployment") == "Deployment"
        assert "replicas" not in deployments[name]["spec"], f"{name}: KEDA owns the replica count"
        assert so["spec"]["minReplicaCount"] >= 1
        for trigger in so["spec"]["triggers"]:
            assert trigger["type"] == "rabbitmq"
            assert trigger["authenticationRef"]["name"] in auths
            assert "host" not in trigger["metadata"], "credentials belong in the TriggerAuthentication"
    secrets = objects(overlay, "Secret")
    for auth in auths.values():
        for ref in auth["spec"]["secretTargetRef"]:
            if overlay == "prod":
                assert ref["name"] in PROD_EXTERNAL_SECRETS
            else:
                assert ref["key"] in secrets[ref["name"]].get("data", {})


# --- the deployment rules ----------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_probes_resources_and_a_locked_down_security_context(overlay: str) -> None:
    workloads = {**vigia_deployments(overlay), **objects(overlay, "Job")}
    for name, workload in workloads.items():
        pod = pod_template(workload)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == UID, name
        assert pod["automountServiceAccountToken"] is False, name
        tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == UID, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), where
            assert any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in container["volumeMounts"]), \
                f"{where}: a read-only root needs a writable /tmp"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{where} {kind}"
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env["VIGIA_SERVICE_NAME"] == name, where
            if name in JOBS:
                assert container["args"] == JOBS[name], where
                continue
            port_name, port = APPS[name]
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports == {port_name: port}, where
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port_name}, where
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port_name}, where
            # The service listens where its probes look: its own port setting agrees.
            port_settings = [v.rpartition(":")[2] for k, v in env.items()
                             if k.startswith("VIGIA_") and k.endswith(("_PORT", "_BIND"))]
            assert port_settings == [str(port)], where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pdb_selects_exactly_one_deployment_and_every_service_has_one(overlay: str) -> None:
    deployments = objects(overlay, "Deployment")
    covered = set()
    for name, pdb in objects(overlay, "PodDisruptionBudget").items():
        selector = pdb["spec"]["selector"]["matchLabels"]
        selected = [d for d, dep in deployments.items() if matches(selector, pod_template(dep)["metadata"]["labels"])]
        assert selected == [name], f"PDB {name} selects {selected}"
        assert "maxUnavailable" in pdb["spec"] or "minAvailable" in pdb["spec"]
        covered.add(name)
    assert covered == set(APPS) | set(MEDIA)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateways_have_hpas_and_no_fixed_replica_count(overlay: str) -> None:
    deployments = objects(overlay, "Deployment")
    hpas = objects(overlay, "HorizontalPodAutoscaler")
    assert set(hpas) == set(GATEWAYS)
    for name, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert "replicas" not in deployments[name]["spec"], f"{name}: the HPA owns the replica count"
    if overlay == "prod":
        assert all(h["spec"]["minReplicas"] >= 2 for h in hpas.values()), "one node lost must not take a route"


#: Services beside a workload's own (named as it): MediaMTX's WebRTC media, UDP from outside the cluster.
SECOND_SERVICES = {"mediamtx-webrtc": "mediamtx"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_and_ingress_reach_real_pods(overlay: str) -> None:
    workloads = {**objects(overlay, "Deployment"), **objects(overlay, "StatefulSet")}
    services = objects(overlay, "Service")
    service_ports: dict[str, set[str]] = {}
    for name, svc in services.items():
        selector = svc["spec"]["selector"]
        selected = [w for w, obj in workloads.items() if matches(selector, pod_template(obj)["metadata"]["labels"])]
        workload = SECOND_SERVICES.get(name, name)
        assert selected == [workload], f"Service {name} selects {selected}"
        containers = pod_template(workloads[workload])["spec"]["containers"]
        container_ports = {p["name"] for c in containers for p in c["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in container_ports, f"{name}: {port}"
        service_ports[name] = {p["name"] for p in svc["spec"]["ports"]}
    ingresses = objects(overlay, "Ingress")
    assert set(ingresses) == {"vigia", "vigia-stream", "vigia-live-frames"}
    routed = {}
    for ingress in ingresses.values():
        assert {h for rule in ingress["spec"]["rules"] for h in [rule["host"]]} == \
            {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}, "every host is served over TLS"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"]["name"] in service_ports[backend["name"]], path
                routed[path["path"]] = backend["name"], backend["port"]["name"]
    assert routed == {"/api/v1/frames": ("ingest-frames", "http"), "/api/v1/sensors": ("ingest-sensors", "http"),
                      "/api/v1/sensors:batch": ("ingest-sensors", "http"), "/api/v1/ws": ("live", "http"),
                      "/": ("control", "http"), "/stream(/|$)(.*)": ("mediamtx", "hls"),
                      "/webrtc(/|$)(.*)": ("mediamtx", "webrtc"),
                      "/api/v1/cameras/[^/]+/frames$": ("live", "http")}
    frames = re.compile(ingresses["vigia-live-frames"]["spec"]["rules"][0]["http"]["paths"][0]["path"])
    assert frames.match("/api/v1/cameras/4f8e/frames") and not frames.match("/api/v1/cameras/4f8e/")
    assert "nginx.ingress.kubernetes.io/rewrite-target" not in ingresses["vigia-live-frames"]["metadata"]["annotations"]
    # ingress-nginx rewrites /stream/<camera>/index.m3u8 to MediaMTX's /<camera>/index.m3u8 (the
    # second group), and only on the stream Ingress: the API paths keep theirs.
    stream = ingresses["vigia-stream"]["metadata"]["annotations"]
    assert stream["nginx.ingress.kubernetes.io/use-regex"] == "true"
    asked = {"/stream/4f8e/index.m3u8": "/4f8e/index.m3u8", "/webrtc/4f8e/whep": "/4f8e/whep"}
    for path, (asked_for, upstream) in zip(ingresses["vigia-stream"]["spec"]["rules"][0]["http"]["paths"],
                                           asked.items(), strict=True):
        match = re.compile(path["path"]).match(asked_for)
        assert match and stream["nginx.ingress.kubernetes.io/rewrite-target"].replace("$2", match[2]) == upstream
    assert "nginx.ingress.kubernetes.io/rewrite-target" not in ingresses["vigia"]["metadata"]["annotations"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_and_secrets_hold_only_known_settings_and_secrets_stay_out_of_the_configmap(overlay: str) -> None:
    fields = {}
    for model in discover_settings_models():
        prefix = str(model.model_config.get("env_prefix", "")).upper()
        for name, info in model.model_fields.items():
            fields[prefix + name.upper()] = "SecretStr" in repr(info.annotation)
    config = objects(overlay, "ConfigMap")["vigia-config"]["data"]
    unknown = sorted(set(config) - set(fields))
    assert not unknown, f"vigia-config sets unknown settings {unknown}"
    assert not [k for k in config if fields[k] or ("URL" in k and k != "VIGIA_JWKS_URL")], "secrets in a ConfigMap"
    templates = {o["metadata"]["name"]: o for o in render("base") if o["kind"] == "Secret"}
    secret_keys = set(templates["vigia-secrets"]["stringData"])
    assert not secret_keys - set(fields), "vigia-secrets sets unknown settings"
    assert {k for k, is_secret in fields.items() if is_secret} <= secret_keys | {"VIGIA_EASYOCR_DIR"}
    # Every configMapRef/secretRef resolves, in dev to a rendered object, in prod to an external Secret.
    configmaps, secrets = objects(overlay, "ConfigMap"), objects(overlay, "Secret")
    for workload in [*objects(overlay, "Deployment").values(), *objects(overlay, "StatefulSet").values(),
                     *objects(overlay, "Job").values()]:
        for container in pod_template(workload)["spec"]["containers"]:
            refs = [("configMap", s["configMapRef"]["name"]) if "configMapRef" in s
                    else ("secret", s["secretRef"]["name"]) for s in container.get("envFrom", [])]
            refs += [("secret", e["valueFrom"]["secretKeyRef"]["name"]) for e in container.get("env", [])
                     if "secretKeyRef" in e.get("valueFrom", {})]
            for kind, ref in refs:
                if kind == "configMap":
                    assert ref in configmaps, ref
                elif overlay == "prod":
                    assert ref in PROD_EXTERNAL_SECRETS, ref
                else:
                    assert ref in secrets, ref


def test_secret_templates_hold_only_placeholders_and_prod_renders_no_secret() -> None:
    """The base Secrets are templates the services refuse in production; prod never renders them
    (so `kubectl apply -k` cannot overwrite the real ones) and dev replaces them."""
    assert objects("prod", "Secret") == {}
    assert objects("dev", "ConfigMap")["vigia-config"]["data"]["VIGIA_ENV"] == "development"
    assert objects("prod", "ConfigMap")["vigia-config"]["data"]["VIGIA_ENV"] == "production"
    templates = {o["metadata"]["name"]: o for o in render("base") if o["kind"] == "Secret"}
    assert set(templates) == {"vigia-secrets", "vigia-keda-rabbitmq"}
    for template in templates.values():
        for key, value in template["stringData"].items():
            if "://" in value:
                assert "@" not in value or ":change-me@" in value, key
            else:
                assert is_placeholder(value), key
    dev = objects("dev", "Secret")
    for name, template in templates.items():
        assert set(dev[name]["data"]) == set(template["stringData"]), f"dev {name} misses a key"


# --- overlays: infrastructure, images, GPU -----------------------------------------------------

def test_dev_runs_infrastructure_in_cluster_and_prod_does_not() -> None:
    dev = {**objects("dev", "Deployment"), **objects("dev", "StatefulSet")}
    assert set(INFRA) <= set(dev)
    for name in INFRA:
        assert dev[name]["spec"]["replicas"] == 1, name
        assert dev[name]["metadata"]["labels"]["app.kubernetes.io/component"] == "infrastructure"
    assert pod_template(dev["postgres"])["spec"]["containers"][0]["image"].startswith("timescale/timescaledb:")
    prod = {**objects("prod", "Deployment"), **objects("prod", "StatefulSet")}
    assert not set(INFRA) & set(prod)
    assert set(prod) == set(APPS) | set(MEDIA)


def test_prod_images_are_released_tags_and_vision_runs_the_cuda_image_on_gpu_nodes() -> None:
    images = {}
    for workload in [*objects("prod", "Deployment").values(), *objects("prod", "Job").values()]:
        for container in pod_template(workload)["spec"]["containers"]:
            repo, _, tag = container["image"].rpartition(":")
            assert re.fullmatch(r"\d+\.\d+\.\d+(-cuda)?", tag), container["image"]
            images[workload["metadata"]["name"]] = (repo, tag)
    assert images["vision"][1].endswith("-cuda")
    control_image = ("outbox-relay", "recorder", "mediamtx-sync", *JOBS)
    assert all(images[name] == images["control"] for name in control_image), images
    pod = pod_template(objects("prod", "Deployment")["vision"])["spec"]
    assert pod["nodeSelector"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    (container,) = pod["containers"]
    assert str(container["resources"]["limits"]["nvidia.com/gpu"]) == "1"
    assert any(m["mountPath"] == "/models" and m.get("readOnly") for m in container["volumeMounts"])
    config = objects("prod", "ConfigMap")["vigia-config"]["data"]
    assert config["VIGIA_VISION_DEVICE"].startswith("cuda")
    assert config["VIGIA_VISION_MODEL"].startswith("/models/")
    # Development keeps vision off GPU nodes: the CPU image, no GPU request.
    dev_pod = pod_template(objects("dev", "Deployment")["vision"])["spec"]
    assert "nodeSelector" not in dev_pod
    assert "nvidia.com/gpu" not in dev_pod["containers"][0]["resources"]["limits"]


def test_prod_fixes_worker_replicas_and_keeps_one_correlator() -> None:
    deployments = objects("prod", "Deployment")
    for name in ("streamer", "recorder", "outbox-relay", "watchdog"):
        assert deployments[name]["spec"]["replicas"] >= 2, name
    assert deployments["correlator"]["spec"]["replicas"] == 1
    assert deployments["correlator"]["spec"]["strategy"]["type"] == "Recreate"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_mediamtx_serves_the_repositorys_config_and_mediamtx_sync_reaches_its_api(overlay: str) -> None:
    deployments = objects(overlay, "Deployment")
    pod = pod_template(deployments["mediamtx"])["spec"]
    (container,) = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    mediamtx_yml = yaml.safe_load((ROOT / "mediamtx/mediamtx.yml").read_text())
    # Every listener of mediamtx.yml is a named container port (and nothing else is).
    assert ports == {name: int(mediamtx_yml[key].rpartition(":")[2]) for name, key in (
        ("rtsp", "rtspAddress"), ("hls", "hlsAddress"), ("webrtc", "webrtcAddress"),
        ("webrtc-udp", "webrtcLocalUDPAddress"), ("api", "apiAddress"), ("metrics", "metricsAddress"))}
    # The config file passed on the command line is the repository's mediamtx.yml, byte for byte.
    (config_arg,) = container["args"]
    mount = next(m for m in container["volumeMounts"] if config_arg.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    configmap = objects(overlay, "ConfigMap")[volume["configMap"]["name"]]
    assert configmap["data"][config_arg.rpartition("/")[2]] == (ROOT / "mediamtx/mediamtx.yml").read_text()
    # MediaMTX asks control, at the Service and port of the control Deployment, about every
    # authentication; control and mediamtx-sync read the API password from the same Secret.
    assert mediamtx_yml["authMethod"] == "http"
    control_port = next(p["port"] for p in objects(overlay, "Service")["control"]["spec"]["ports"])
    assert mediamtx_yml["authHTTPAddress"] == f"http://control:{control_port}/internal/mediamtx/auth"
    assert "VIGIA_MEDIAMTX_API_PASSWORD" in objects("dev", "Secret")["vigia-secrets"]["data"]
    for name in ("control", "mediamtx-sync"):
        refs = {s["secretRef"]["name"] for s in pod_template(deployments[name])["spec"]["containers"][0]["envFrom"]
                if "secretRef" in s}
        assert "vigia-secrets" in refs, name
    (sync_container,) = pod_template(deployments["mediamtx-sync"])["spec"]["containers"]
    sync = {e["name"]: e.get("value") for e in sync_container["env"]}
    service = objects(overlay, "Service")["mediamtx"]
    api_port = next(p["port"] for p in service["spec"]["ports"] if p["targetPort"] == "api")
    assert sync["VIGIA_MEDIAMTX_API_URL"] == f"http://mediamtx:{api_port}"
    # Scraped where it serves metrics; locked down like Vigia's own pods.
    annotations = pod_template(deployments["mediamtx"])["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert container["livenessProbe"]["tcpSocket"]["port"] in ports
    assert container["readinessProbe"]["tcpSocket"]["port"] in ports
