"""deploy/k8s: every overlay renders with `kubectl kustomize`, validates against the
Kubernetes schemas (kubernetes-validate) and KEDA's vendored one, and keeps the invariants a
GPU fleet depends on. Each check is a function that returns what is wrong, run on the
rendered manifests (nothing wrong) and on a copy broken on purpose (the fault is named)."""

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from worker.queues import worker_queues

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
KUBERNETES = "1.33.0"
KEDA_SCHEMA = json.loads((K8S / "schemas" / "keda-scaledobject-v1alpha1.json").read_text())
MARGIN_S = 30  # the worker's own exit after its grace


def kustomize_major() -> int:
    """The major version of the kustomize built into kubectl; 0 without kubectl."""
    if not shutil.which("kubectl"):
        return 0
    out = subprocess.run(["kubectl", "version", "--client"], capture_output=True, text=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith("Kustomize Version")), "")
    return int(line.split("v")[-1].split(".")[0]) if "v" in line else 0


pytestmark = pytest.mark.skipif(
    kustomize_major() < 5,
    reason="needs kubectl with kustomize 5 or newer (labels with includeTemplates); "
    "`make tools` installs kubectl where it can",
)


def render(overlay: str) -> list[dict]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module", params=OVERLAYS)
def objects(request) -> list[dict]:
    return render(request.param)


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def workers(objects: list[dict]) -> list[dict]:
    return [
        d for d in of_kind(objects, "Deployment")
        if d["spec"]["template"]["metadata"]["labels"].get("bnbench.io/worker") == "true"
    ]  # fmt: skip


def config(objects: list[dict]) -> dict:
    [cm] = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"] == "bnbench-config"]
    return cm["data"]


# ------------------------------------------------------------------ the checks


def unknown_fields(value, schema, path="") -> list[str]:
    """Keys a structural schema does not declare: the API server would drop them silently."""
    found = []
    if isinstance(value, dict) and "properties" in schema:
        for k, v in value.items():
            if k not in schema["properties"]:
                found.append(f"{path}.{k}")
            else:
                found += unknown_fields(v, schema["properties"][k], f"{path}.{k}")
    elif isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            found += unknown_fields(v, schema["items"], f"{path}[{i}]")
    return found


def schema_problems(objects: list[dict]) -> list[str]:
    import jsonschema
    import kubernetes_validate

    problems = []
    for o in objects:
        name = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] == "ScaledObject":
            errors = jsonschema.Draft7Validator(KEDA_SCHEMA).iter_errors(o)
            problems += [f"{name}: {e.message}" for e in errors]
            problems += [f"{name}: unknown field {f}" for f in unknown_fields(o, KEDA_SCHEMA)]
            continue
        try:
            kubernetes_validate.validate(o, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as e:
            problems.append(f"{name}: {e.message}")
    return problems


def gpu_problems(objects: list[dict]) -> list[str]:
    """Each GPU worker pod holds exactly one whole GPU and runs one Celery process on it."""
    problems = []
    for d in workers(objects):
        [c] = d["spec"]["template"]["spec"]["containers"]
        gpus = c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
        wants_gpu = "--gpus" in c["command"] and "none" not in c["command"]
        if wants_gpu and gpus != 1:
            problems.append(f"{d['metadata']['name']}: nvidia.com/gpu limit {gpus}, not 1")
        if not wants_gpu and gpus:
            problems.append(f"{d['metadata']['name']}: a CPU worker holds a GPU")
    return problems


def grace_problems(objects: list[dict]) -> list[str]:
    """A scale-down or rollout never kills a running job: the worker waits for it at least
    until the job's own hard time limit (Settings.hard_time_limit_s, from the same settings),
    the pod's grace covers that wait plus a margin, and a preStop hook holds the kubelet until
    the worker has exited."""
    from worker.settings import Settings

    cfg = config(objects)
    stop = float(cfg["BNBENCH_STOP_GRACE_S"])
    limit = float(cfg.get("BNBENCH_JOB_TIME_LIMIT_S", 21600))
    hard = Settings(**{**Settings.from_env().__dict__, "job_time_limit_s": limit}).hard_time_limit_s
    problems = []
    if stop < hard:
        problems.append(f"stop grace {stop:.0f} s < a job's hard time limit {hard:.0f} s: a "
                        "scale-down could kill a running job")  # fmt: skip
    for d in workers(objects):
        pod = d["spec"]["template"]["spec"]
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace < stop + MARGIN_S:
            problems.append(f"{d['metadata']['name']}: grace {grace} s < stop grace {stop:.0f} s "
                            f"+ {MARGIN_S} s")  # fmt: skip
        if "preStop" not in pod["containers"][0].get("lifecycle", {}):
            problems.append(f"{d['metadata']['name']}: no preStop hook")
    return problems


def secret_problems(objects: list[dict]) -> list[str]:
    """No secret in the manifests: no Secret with data, no password or URL set inline."""
    problems = [
        f"Secret/{s['metadata']['name']} carries data"
        for s in of_kind(objects, "Secret")
        if s.get("data") or s.get("stringData")
    ]
    for o in objects:
        spec = o.get("spec", {}).get("template", {}).get("spec", {})
        for c in spec.get("containers", []):
            for e in c.get("env", []):
                secretish = any(w in e["name"] for w in ("PASSWORD", "SECRET", "TOKEN", "_URL"))
                if secretish and "value" in e and not e["name"].endswith("_FILE"):
                    problems.append(f"{o['metadata']['name']}: {e['name']} set inline")
        for k, v in (o.get("data") or {}).items() if o["kind"] == "ConfigMap" else []:
            if "://" in v or any(w in k for w in ("PASSWORD", "SECRET", "TOKEN")):
                problems.append(f"ConfigMap/{o['metadata']['name']}: {k} holds a secret")
    return problems


def scaling_problems(objects: list[dict]) -> list[str]:
    """Each ScaledObject scales an existing GPU Deployment on the queue that Deployment's
    workers consume, as worker.queues names it for the node's GPU product label."""
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    problems = []
    for so in of_kind(objects, "ScaledObject"):
        name = so["metadata"]["name"]
        target = deployments.get(so["spec"]["scaleTargetRef"]["name"])
        if target is None:
            problems.append(f"{name}: scales {so['spec']['scaleTargetRef']['name']}, not found")
            continue
        product = target["spec"]["template"]["spec"]["nodeSelector"]["nvidia.com/gpu.product"]
        queue = worker_queues(product)[1]  # what the worker consumes besides `gpu`
        for t in so["spec"]["triggers"]:
            if t["type"] == "redis" and t["metadata"]["listName"] != queue:
                problems.append(f"{name}: lists {t['metadata']['listName']}, workers consume "
                                f"{queue}")  # fmt: skip
            if t["type"] == "postgresql" and f"queue = '{queue}'" not in t["metadata"]["query"]:
                problems.append(f"{name}: counts another queue than {queue}")
    if of_kind(objects, "ScaledObject") and of_kind(objects, "HorizontalPodAutoscaler"):
        problems.append("an HPA beside KEDA: two controllers would drive one workload")
    return problems


def exposure_problems(objects: list[dict]) -> list[str]:
    """Only the dashboard takes connections from anywhere."""
    problems = []
    for np in of_kind(objects, "NetworkPolicy"):
        selects = np["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name")
        for rule in np["spec"].get("ingress", []):
            if "from" not in rule and selects != "bnbench-dashboard":
                problems.append(f"NetworkPolicy/{np['metadata']['name']} opens {selects}")
    if not any(np["spec"]["podSelector"] == {} for np in of_kind(objects, "NetworkPolicy")):
        problems.append("no default-deny policy")
    return problems


CHECKS = [schema_problems, gpu_problems, grace_problems, secret_problems, scaling_problems,
          exposure_problems]  # fmt: skip


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_rendered_overlay_keeps_the_invariant(objects, check):
    assert check(objects) == []


def gpu_deployment(objects):
    return next(d for d in workers(objects) if "gpu" in d["metadata"]["name"])


def _grace(o):
    gpu_deployment(o)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 60


def _longer_jobs(o):
    config(o)["BNBENCH_JOB_TIME_LIMIT_S"] = "21600"


def _two_gpus(o):
    gpu_deployment(o)["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"][
        "nvidia.com/gpu"
    ] = 2


def _inline_password(o):
    gpu_deployment(o)["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "REDIS_PASSWORD", "value": "hunter2"}
    )


def _other_list(o):
    so = of_kind(o, "ScaledObject")[0]
    next(t for t in so["spec"]["triggers"] if t["type"] == "redis")["metadata"]["listName"] = "gpu"


def _typo(o):
    of_kind(o, "ScaledObject")[0]["spec"]["minReplicas"] = 1  # minReplicaCount, misspelt


def _open_redis(o):
    o.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "open"},
              "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "bnbench-redis"}},
                       "ingress": [{}]}})  # fmt: skip


@pytest.mark.parametrize(
    ("check", "break_it", "named"),
    [
        (grace_problems, _grace, "grace 60 s < stop grace"),
        (grace_problems, _longer_jobs, "a scale-down could kill a running job"),
        (gpu_problems, _two_gpus, "nvidia.com/gpu limit 2, not 1"),
        (secret_problems, _inline_password, "REDIS_PASSWORD set inline"),
        (scaling_problems, _other_list, "lists gpu, workers consume gpu."),
        (schema_problems, _typo, "unknown field .spec.minReplicas"),
        (exposure_problems, _open_redis, "opens bnbench-redis"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_a_manifest_that_breaks_it_is_named(check, break_it, named):
    broken = copy.deepcopy(render(OVERLAYS[0]))
    break_it(broken)
    assert any(named in p for p in check(broken)), check(broken)


def test_the_workers_take_one_message_at_a_time():
    """Prefetch 1 with late acks: a worker holds no waiting job that the queue's length,
    which KEDA reads, would miss."""
    from worker.app import app

    assert app.conf.worker_prefetch_multiplier == 1 and app.conf.task_acks_late
