"""deploy/ holds what an operator copies: a compose file, systemd units and an env file.
No Docker engine or systemd runs the tests, so they check what can be checked here: the
compose file's structure, that every JOBMANAGER_* name is a real setting with a valid
value, that the commands are real `jobmanager` commands, and that docs/deploy.md explains
every setting deploy/ uses."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from jobmanager.api.schemas.configurations import ConfigurationCreate
from jobmanager.auth.keys import KeyRing
from jobmanager.auth.sealing import SecretBox
from jobmanager.cli import COMMANDS
from jobmanager.common.home import PRIVATE_FILE, PRIVATE_FOLDER
from jobmanager.jobrun.worker import HEARTBEAT_SECONDS
from jobmanager.service.runtime import SWEEP_SECONDS
from jobmanager.startup.settings import Settings
from jobmanager.store.outages import PATIENCE_SECONDS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DOCS = DEPLOY.parent / "docs" / "deploy.md"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SETTING = re.compile(r"\bJOBMANAGER_[A-Z_]+[A-Z]\b")


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def jobmanager_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose()["services"].items()
        if service.get("image") == "jobmanager:local"
    }


def commands() -> set[str]:
    return set(COMMANDS)


def env_file(path: Path) -> dict[str, str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {name: value for name, value in pairs}


def unit(path: Path) -> dict[str, list[str]]:
    """Each `Section.Key` of a systemd unit with its values (a key may repeat)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(f"{section}.{key}", []).append(value)
    return found


def unit_settings(path: Path, instance: str = "1") -> dict[str, str]:
    """The unit's JOBMANAGER_* variables, a template's for `instance` (its `%i`)."""
    values = [value.split("=", 1) for value in unit(path).get("Service.Environment", [])]
    return {
        name: value.replace("%i", instance)
        for name, value in values
        if name.startswith("JOBMANAGER_")
    }


def as_settings(variables: dict[str, str]) -> Settings:
    """The settings these variables make; a name or value that is not valid fails here."""
    fields = {name.removeprefix("JOBMANAGER_").lower(): v for name, v in variables.items()}
    unknown = set(fields) - set(Settings.model_fields)
    assert not unknown, f"not settings: {sorted(unknown)}"
    return Settings(**fields)  # type: ignore[arg-type]


def test_the_compose_file_has_the_whole_cluster() -> None:
    services = compose()["services"]
    assert {"postgres", "rabbitmq", "minio", "bucket"} <= set(services)
    roles = {name: service["command"][1] for name, service in jobmanager_services().items()}
    assert roles == {"api-1": "serve", "api-2": "serve", "worker-1": "worker", "worker-2": "worker"}
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose()["volumes"], (name, volume)


@pytest.mark.parametrize("name", ["api-1", "api-2", "worker-1", "worker-2"])
def test_each_jobmanager_service_runs_a_real_command_on_valid_settings(name: str) -> None:
    service = jobmanager_services()[name]
    assert service["command"][0] == "jobmanager"
    assert service["command"][1] in commands()
    settings = as_settings(service["environment"])
    assert settings.dispatch == "celery"
    assert settings.resolved_database_url.startswith("postgresql")
    assert settings.resolved_blob_url.startswith("s3://")
    assert (settings.job_slots == 0) == (service["command"][1] == "serve")
    assert settings.unguarded_metrics() is None  # it would refuse to start
    assert settings.unguarded_worker_metrics() is None


def test_the_replicas_share_the_signing_keys_and_start_one_after_the_other() -> None:
    services = jobmanager_services()
    assert services["api-1"]["volumes"] == services["api-2"]["volumes"]
    assert services["api-2"]["depends_on"]["api-1"] == {"condition": "service_healthy"}


def test_the_compose_bucket_and_credentials_match_minio() -> None:
    services = compose()["services"]
    minio = services["minio"]["environment"]
    settings = as_settings(jobmanager_services()["worker-1"]["environment"])
    secret = settings.blob_secret_access_key
    assert secret is not None
    assert settings.blob_access_key_id == minio["MINIO_ROOT_USER"]
    assert secret.get_secret_value() == minio["MINIO_ROOT_PASSWORD"]
    bucket = settings.resolved_blob_url.removeprefix("s3://").split("/")[0]
    assert f"store/{bucket}" in services["bucket"]["entrypoint"][-1]


def test_the_env_file_example_holds_valid_settings() -> None:
    settings = as_settings(env_file(DEPLOY / "jobmanager.env.example"))
    assert settings.dispatch == "celery"
    assert settings.broker_url is not None


@pytest.mark.parametrize("path", UNITS, ids=[path.name for path in UNITS])
def test_each_systemd_unit_runs_a_real_command_on_valid_settings(path: Path) -> None:
    found = unit(path)
    (exec_start,) = found["Service.ExecStart"]
    program, command, *_ = exec_start.split()
    assert program.endswith("/jobmanager")
    assert command in commands()
    assert found["Service.EnvironmentFile"] == ["/etc/jobmanager/jobmanager.env"]
    shared = env_file(DEPLOY / "jobmanager.env.example")
    assert as_settings({**shared, **unit_settings(path)}).unguarded_metrics() is None
    assert "Install.WantedBy" in found


def test_the_units_are_an_api_replica_and_a_worker_template() -> None:
    assert [path.name for path in UNITS] == [
        "jobmanager-api.service",
        "jobmanager-worker@.service",
    ]
    worker = unit(DEPLOY / "systemd" / "jobmanager-worker@.service")
    assert worker["Service.Delegate"] == ["yes"]  # environments' cgroups
    shared = env_file(DEPLOY / "jobmanager.env.example")
    one, two = (
        as_settings(
            {**shared, **unit_settings(DEPLOY / "systemd" / "jobmanager-worker@.service", n)}
        )
        for n in ("1", "2")
    )
    assert one.home != two.home  # a home and a metrics port of each its own
    assert (one.worker_metrics_port, two.worker_metrics_port) == (9461, 9462)
    assert one.worker_metrics_host == "127.0.0.1" and one.unguarded_worker_metrics() is None


def test_docs_explain_every_setting_deploy_uses() -> None:
    used = {
        name
        for path in DEPLOY.rglob("*")
        if path.is_file()
        for name in SETTING.findall(path.read_text())
    }
    assert len(used) > 10
    documented = set(SETTING.findall(DOCS.read_text()))
    assert used <= documented, sorted(used - documented)


# Kubernetes: no cluster runs here, so every manifest is validated against the Kubernetes
# API's own schemas (the `kubernetes-validate` package ships them), strictly (no field the
# API does not know), for the oldest version the manifests need (1.30: appArmorProfile)
# and the newest the package knows.
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
KEY_COMMANDS = [
    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out signing.pem",
    "openssl rand -base64 32 | tr '+/' '-_' > webhook-secrets.key",
]
KEY_FILES = ["signing.pem", "webhook-secrets.key"]


def manifests() -> list[dict[str, Any]]:
    return [
        document
        for path in sorted(KUBERNETES.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
    ]


def manifest(kind: str, name: str) -> dict[str, Any]:
    (found,) = [m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def container_settings(deployment: dict[str, Any]) -> dict[str, str]:
    """The JOBMANAGER_* variables its container gets: the ConfigMap, the Secret, its own."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    variables: dict[str, str] = {}
    for source in container["envFrom"]:
        if "configMapRef" in source:
            variables |= manifest("ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            variables |= manifest("Secret", source["secretRef"]["name"])["stringData"]
    variables |= {each["name"]: each["value"] for each in container["env"]}
    return {name: value for name, value in variables.items() if name.startswith("JOBMANAGER_")}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_is_valid_for_the_kubernetes_api(version: str) -> None:
    kinds = set()
    for document in manifests():
        kubernetes_validate.validate(document, version, strict=True)
        kinds.add(document["kind"])
    assert kinds == {"ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler"}


def test_the_validator_refuses_a_field_kubernetes_does_not_know() -> None:
    worker = manifest("Deployment", "jobmanager-worker")
    worker["spec"]["template"]["spec"]["hostUser"] = False  # a typo of hostUsers
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(worker, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("name", ["jobmanager-api", "jobmanager-worker"])
def test_each_deployment_runs_a_real_command_on_valid_settings(name: str) -> None:
    deployment = manifest("Deployment", name)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    program, command, *_ = container["command"]
    assert (program, command) == ("jobmanager", "serve" if name.endswith("api") else "worker")
    settings = as_settings(container_settings(deployment))
    assert settings.dispatch == "celery"
    assert settings.resolved_database_url.startswith("postgresql")
    assert settings.resolved_blob_url.startswith("s3://")
    assert (settings.job_slots == 0) == (command == "serve")
    assert settings.unguarded_metrics() is None  # it would refuse to start
    assert settings.unguarded_worker_metrics() is None
    assert (
        container["image"]
        == manifest("Deployment", "jobmanager-api")["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
    )  # replicas and workers of one version


def test_the_api_replicas_share_the_signing_keys_and_probe_readiness() -> None:
    pod = manifest("Deployment", "jobmanager-api")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    home = re.search(r"JOBMANAGER_HOME=(\S+)", (DEPLOY / "Dockerfile").read_text())
    assert home is not None
    keys = next(m for m in container["volumeMounts"] if m["name"] == "keys")
    assert keys["mountPath"] == f"{home.group(1)}/keys"
    volume = next(v for v in pod["volumes"] if v["name"] == "keys")
    assert volume["secret"]["secretName"] == "jobmanager-keys"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_the_worker_pod_gives_the_sandbox_what_it_needs_and_no_privilege() -> None:
    pod = manifest("Deployment", "jobmanager-worker")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["hostUsers"] is False  # procMount: Unmasked needs a user namespace
    assert pod["securityContext"]["seccompProfile"] == {"type": "Unconfined"}
    assert pod["securityContext"]["appArmorProfile"] == {"type": "Unconfined"}
    assert container["securityContext"]["procMount"] == "Unmasked"
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert "privileged" not in container["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    tun = next(v for v in pod["volumes"] if v["name"] == "tun")
    assert tun["hostPath"] == {"path": "/dev/net/tun", "type": "CharDevice"}
    assert {"name": "tun", "mountPath": "/dev/net/tun"} in container["volumeMounts"]
    settings = as_settings(container_settings(manifest("Deployment", "jobmanager-worker")))
    assert settings.worker_metrics_port == 9464
    assert {"name": "metrics", "containerPort": 9464} in container["ports"]


def test_the_services_reach_the_pods_they_name() -> None:
    for service, deployment in [
        ("jobmanager-api", "jobmanager-api"),
        ("jobmanager-worker-metrics", "jobmanager-worker"),
    ]:
        spec = manifest("Service", service)["spec"]
        template = manifest("Deployment", deployment)["spec"]["template"]
        assert spec["selector"] == template["metadata"]["labels"]
        (container,) = template["spec"]["containers"]
        ports = {port["name"] for port in container["ports"]}
        assert {port["targetPort"] for port in spec["ports"]} <= ports


def test_the_workers_scale_on_the_queue_depth() -> None:
    autoscaler = manifest("HorizontalPodAutoscaler", "jobmanager-worker")["spec"]
    assert autoscaler["scaleTargetRef"]["name"] == "jobmanager-worker"
    (metric,) = autoscaler["metrics"]
    assert metric["external"]["metric"]["name"] == "jobmanager_queue_depth"
    assert "jobmanager_queue_depth" in (DEPLOY.parent / "docs" / "observability.md").read_text()


def test_the_key_commands_of_the_docs_make_keys_jobmanager_loads(tmp_path: Path) -> None:
    for command in KEY_COMMANDS:
        subprocess.run(command, shell=True, cwd=tmp_path, check=True, capture_output=True)
        assert command in DOCS.read_text()
    ring = KeyRing.load_or_create(tmp_path)
    box = SecretBox.load_or_create(tmp_path)
    assert box.open(box.seal("s3cret")) == "s3cret"
    assert ring.current.kid.startswith("key-")
    assert sorted(path.name for path in tmp_path.iterdir()) == KEY_FILES


# docs/deploy.md, "Defaults that matter": each row's default, as the code has it.
def defaults_table() -> dict[str, str]:
    """The table's rows: each `what` cell (and each setting it names) -> its default cell."""
    section = DOCS.read_text().split("## Defaults that matter", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 3 and not set(cells[0]) <= {"-"}:
            what, default, setting = cells
            rows[what] = default
            rows |= dict.fromkeys(SETTING.findall(setting), default)
    return rows


def settings_default(name: str) -> object:
    return Settings.model_fields[name.removeprefix("JOBMANAGER_").lower()].get_default(
        call_default_factory=True
    )


@pytest.mark.parametrize(
    ("setting", "value", "said"),
    [
        ("JOBMANAGER_HEARTBEAT_TIMEOUT_SECONDS", 15, "15 s"),
        ("JOBMANAGER_REAPER_INTERVAL_SECONDS", 5, "5 s"),
        ("JOBMANAGER_RETENTION_DAYS", 90, "90 days"),
        ("JOBMANAGER_DEFAULT_EXECUTION_SECONDS", 3600, "3600 s unless it asks"),
        ("JOBMANAGER_MAX_EXECUTION_SECONDS", 86400, "at most 86400 s"),
        ("JOBMANAGER_DEFAULT_MEMORY_MIB", 4096, "4096 MiB of memory"),
        ("JOBMANAGER_DEFAULT_MAX_PROCESSES", 512, "512 processes"),
        ("JOBMANAGER_DEFAULT_DISK_MIB", 4096, "4096 MiB of disk"),
        ("JOBMANAGER_TENANT_MAX_LIVE_JOBS", None, "no cap"),
        ("JOBMANAGER_MAX_UPLOAD_BYTES", 1024**3, "1 GiB"),
        ("JOBMANAGER_TOKEN_TTL_SECONDS", 1800, "1800 s"),
        ("JOBMANAGER_DISK_RESERVE_MIB", 8, "8 MiB"),
        ("JOBMANAGER_JOB_SLOTS", os.cpu_count(), "its CPUs"),
        ("JOBMANAGER_REDISPATCH_SECONDS", 60, "60 s"),
        ("JOBMANAGER_QUEUE_NAME", "jobmanager.jobs", "`jobmanager.jobs`"),
    ],
)
def test_the_docs_defaults_are_the_settings_defaults(
    setting: str, value: object, said: str
) -> None:
    assert settings_default(setting) == value
    assert said in defaults_table()[setting]


def test_the_docs_defaults_that_are_not_settings_are_the_code_s() -> None:
    table = defaults_table()
    assert Settings(job_slots=4).warm_pool_size == 6
    assert Settings(job_slots=0).warm_pool_size == 0
    assert "slots + 2" in table["JOBMANAGER_WARM_ENVIRONMENTS"]
    assert HEARTBEAT_SECONDS == 2
    assert table["a worker's heartbeat, for each job it runs"] == "every 2 s"
    assert SWEEP_SECONDS == 5
    assert table["API replicas look for lost messages (the sweep) every"] == "5 s"
    assert PATIENCE_SECONDS == 120
    assert table["a worker's writes a job needs wait for a database that is away"] == "up to 120 s"
    assert ConfigurationCreate.model_fields["maxEnvironments"].default == 1
    assert table["jobs of one configuration at once"].startswith("1 ")


MODES = re.compile(r"\(mode (0[0-7]{3}), owner (\w+), group (\w+)")
KEY_MODES = "keys (mode 0700, files 0600"


def test_the_env_example_and_the_docs_agree_on_file_modes() -> None:
    example = (DEPLOY / "jobmanager.env.example").read_text()
    docs = " ".join(DOCS.read_text().split())
    (env_mode,) = MODES.findall(" ".join(example.split()))
    assert env_mode == ("0640", "root", "jobmanager")
    assert "(`/etc/jobmanager/jobmanager.env`, mode 0640, owner root, group jobmanager" in docs
    assert KEY_MODES in " ".join(example.split())
    assert "`keys/` folder (mode 0700, files 0600)" in docs
    assert (PRIVATE_FOLDER, PRIVATE_FILE) == (0o700, 0o600)  # what `serve` sets
