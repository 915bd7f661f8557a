"""The compose files, as a real compose implementation (Debian's docker-compose) reads them."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
pytestmark = pytest.mark.skipif(
    COMPOSE is None, reason="Debian's docker-compose is not installed; `make tools` installs it"
)
SECRETS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "BNBENCH_DASHBOARD_PASSWORD", "FLOWER_BASIC_AUTH")


def env_file(tmp_path: Path, **extra: str) -> Path:
    """.env.example with each secret replaced by a distinct value, plus `extra`."""
    text = (ROOT / ".env.example").read_text()
    for name in SECRETS:
        text = re.sub(rf"^{name}=.*$", f"{name}={name.lower()}-value", text, flags=re.M)
    text += "".join(f"{k}={v}\n" for k, v in extra.items())
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def config(env: Path | None, *files: str, profiles: tuple[str, ...] = ()) -> dict:
    cmd = [COMPOSE, "--project-directory", str(ROOT)]
    if env is not None:
        cmd += ["--env-file", str(env)]
    for f in files:
        cmd += ["-f", str(ROOT / f)]
    for p in profiles:
        cmd += ["--profile", p]
    out = subprocess.run([*cmd, "config"], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return yaml.safe_load(out.stdout)


@pytest.fixture
def main(tmp_path):
    return config(env_file(tmp_path), "docker-compose.yml", profiles=("cpu", "monitoring"))


def test_the_main_file_has_every_service(main):
    assert set(main["services"]) == {
        "redis", "postgres", "migrate", "worker-gpu", "worker-cpu", "dashboard", "flower",
    }  # fmt: skip


def test_the_gpu_worker_reserves_every_gpu_of_the_node(main):
    w = main["services"]["worker-gpu"]
    (device,) = w["deploy"]["resources"]["reservations"]["devices"]
    assert device == {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}
    assert w["command"] == ["bnbench", "worker", "--gpus", "all"]


def test_redis_and_postgres_are_healthchecked_persisted_and_not_published(main):
    redis, pg = main["services"]["redis"], main["services"]["postgres"]
    assert "--appendonly yes" in " ".join(redis["command"])
    assert "pg_isready -h 127.0.0.1" in " ".join(pg["healthcheck"]["test"])
    assert redis["healthcheck"]["test"] and redis["volumes"] and pg["volumes"]
    assert "ports" not in redis and "ports" not in pg


def test_everything_waits_for_migrations_and_migrations_wait_for_postgres(main):
    s = main["services"]
    assert s["migrate"]["command"] == ["bnbench", "db", "upgrade"]
    assert s["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("worker-gpu", "worker-cpu", "dashboard"):
        assert s[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_dashboard_is_on_8501_behind_a_password_and_flower_behind_basic_auth(main):
    dash, flower = main["services"]["dashboard"], main["services"]["flower"]
    assert dash["ports"] == ["0.0.0.0:8501:8501/tcp"]
    assert dash["environment"]["BNBENCH_DASHBOARD_PASSWORD"] == "bnbench_dashboard_password-value"
    assert flower["profiles"] == ["monitoring"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == "flower_basic_auth-value"
    assert all(str(p).startswith("127.0.0.1:") for p in flower["ports"])


def test_secrets_come_from_the_env_file_and_none_is_written_in_the_compose_files(main):
    urls = main["services"]["worker-gpu"]["environment"]
    assert "postgres_password-value" in urls["BNBENCH_DATABASE_URL"]
    assert "redis_password-value" in urls["BNBENCH_BROKER_URL"]
    for f in ("docker-compose.yml", "docker-compose.gpu-node.yml", "docker-compose.cluster.yml"):
        text = (ROOT / f).read_text()
        for line in text.splitlines():
            m = re.match(r"\s*(\w*(PASSWORD|SECRET|TOKEN|AUTH)\w*):\s*(.+)$", line)
            if m:
                assert m.group(3).startswith("${"), f"{f}: {line.strip()} is not from the env"
        assert "change-me" not in text
        for userinfo in re.findall(r"://([^@\s/]*)@", text):  # credentials inside URLs too
            assert re.fullmatch(r"(\w*:)?\$\{[^}]+\}", userinfo), f"{f}: {userinfo}"


def test_an_extra_node_must_be_given_a_name_of_its_own(tmp_path):
    env = env_file(tmp_path, BNBENCH_MAIN_HOST="10.1.2.3")
    with pytest.raises(RuntimeError, match="BNBENCH_NODE_NAME"):
        config(env, "docker-compose.gpu-node.yml")


def test_workers_mount_certificates_and_datasets_read_only(main):
    for name in ("worker-gpu", "worker-cpu"):
        volumes = main["services"][name]["volumes"]
        assert {v.split(":")[-2] for v in volumes} == {
            "/var/lib/bnbench/data", "/var/lib/bnbench/certs"
        }  # fmt: skip
        assert all(v.endswith(":ro") for v in volumes)
        assert main["services"][name]["hostname"] == "bnbench-main"
        assert main["services"][name]["init"] is True  # reaps orphaned pool children


def test_a_missing_secret_stops_compose_with_the_variable_named(tmp_path):
    env = tmp_path / ".env"
    env.write_text("")
    with pytest.raises(RuntimeError, match=r"set (POSTGRES|REDIS)_PASSWORD in \.env"):
        config(env, "docker-compose.yml")


def test_an_extra_gpu_node_runs_only_workers_pointed_at_the_main_node(tmp_path):
    env = env_file(tmp_path, BNBENCH_MAIN_HOST="10.1.2.3", BNBENCH_NODE_NAME="gpu-node-2")
    node = config(env, "docker-compose.gpu-node.yml")
    assert set(node["services"]) == {"worker-gpu"}
    assert node["services"]["worker-gpu"]["hostname"] == "gpu-node-2"
    env = node["services"]["worker-gpu"]["environment"]
    assert "@10.1.2.3:5432/" in env["BNBENCH_DATABASE_URL"]
    assert "@10.1.2.3:6379/" in env["BNBENCH_BROKER_URL"]
    devices = node["services"]["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_the_cluster_overlay_publishes_redis_and_postgres_on_a_private_address_only(tmp_path):
    env = env_file(tmp_path, BNBENCH_PRIVATE_ADDRESS="10.1.2.3")
    both = config(env, "docker-compose.yml", "docker-compose.cluster.yml")
    for name, port in (("redis", 6379), ("postgres", 5432)):
        (published,) = both["services"][name]["ports"]
        assert published == f"10.1.2.3:{port}:{port}/tcp"


def test_every_variable_the_compose_files_read_is_in_env_example():
    used = set()
    for f in ROOT.glob("docker-compose*.yml"):
        used |= set(re.findall(r"\$\{(\w+)", f.read_text()))
    documented = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    per_node = {"BNBENCH_MAIN_HOST", "BNBENCH_PRIVATE_ADDRESS", "BNBENCH_NODE_NAME"}
    assert used - per_node <= documented


def test_the_images_the_compose_files_build_are_stages_of_the_dockerfile(main):
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.M))
    targets = {s["build"]["target"] for s in main["services"].values() if "build" in s}
    assert targets == {"dashboard", "worker"} and targets <= stages
    workers = {
        n: s for n, s in main["services"].items() if s.get("build", {}).get("target") == "worker"
    }
    indexes = {n: s["build"]["args"]["TORCH_INDEX_URL"] for n, s in workers.items()}
    assert indexes["worker-gpu"].endswith("/cu130") and indexes["worker-cpu"].endswith("/cpu")


def test_the_dashboard_image_installs_no_torch():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stage = dockerfile.split("AS dashboard")[1].split("\nFROM ")[0]
    stage = "\n".join(line for line in stage.splitlines() if not line.startswith("#"))
    assert "torch" not in stage and "[dashboard]" in stage
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any("torch" in d for d in extras["optional-dependencies"]["dashboard"])
    assert not any("torch" in d for d in extras["dependencies"])


def test_secrets_stay_out_of_git_and_out_of_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "certs"} <= set(ignored)
    for path in (".env", "certs/redis.key"):
        check = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert check.returncode == 0, f"git would commit {path}"
