"""deploy/: containers cannot run here, so the artefacts are checked as far as this machine allows: they
parse, every NETRAL_* they set is a real setting, the image is multi-stage, non-root, with a health check and
no compilers in its last stage, and its entrypoint command works in a plain venv."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from app.core.config import Settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SETTINGS = {f"NETRAL_{name.upper()}" for name in Settings.model_fields}


def netral_names(text: str) -> set[str]:
    return set(re.findall(r"\bNETRAL_[A-Z0-9_]+", text))


def test_every_netral_variable_the_artefacts_set_is_a_setting() -> None:
    files = [
        *DEPLOY.glob("Dockerfile"),
        *DEPLOY.glob("*.yaml"),
        *DEPLOY.glob("k8s/*.yaml"),
        DEPLOY / "netral.env.example",
    ]
    named = set().union(*(netral_names(f.read_text()) for f in files))
    assert {"NETRAL_DATABASE_URL", "NETRAL_SECRET_KEY", "NETRAL_METRICS_PORT"} <= named
    assert named - SETTINGS == set()


def test_compose_has_database_one_shot_migration_and_service() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"] and services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["netral"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["netral"]["read_only"] is True


def test_kubernetes_manifests() -> None:
    docs = {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "k8s" / "netral.yaml").read_text()) if d}
    assert {"ConfigMap", "Job", "Deployment", "Service", "PodDisruptionBudget"} <= docs.keys()
    deployment = docs["Deployment"]["spec"]
    assert deployment["replicas"] == 3
    container = deployment["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"configMapRef", "secretRef"} <= {k for source in container["envFrom"] for k in source}
    assert docs["Job"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    assert "Secret" not in docs  # secrets are referenced, never committed
    for name in docs["ConfigMap"]["data"]:
        assert name in SETTINGS


def test_dockerfile_is_multi_stage_non_root_with_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) == 2
    final = stages[-1]
    assert "build-essential" not in final and "gcc" not in final
    assert re.search(r"^USER 10001", final, flags=re.M)
    assert "HEALTHCHECK" in final and "/healthz" in final


def test_nginx_example_forwards_the_client_address_and_terminates_tls() -> None:
    text = (DEPLOY / "nginx" / "netral.conf").read_text()
    assert text.count("{") == text.count("}")
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "ssl_certificate " in text and "ssl_verify_client" in text


def test_the_images_entrypoint_works_in_a_plain_venv(tmp_path: Path) -> None:
    """ENTRYPOINT ["python", "-m", "app.cli"] from the source directory, as the image runs it."""
    text = (DEPLOY / "Dockerfile").read_text()
    entrypoint = yaml.safe_load(re.search(r"^ENTRYPOINT (.*)$", text, flags=re.M)[1])  # type: ignore[index]
    assert entrypoint == ["python", "-m", "app.cli"]
    result = subprocess.run(  # noqa: S603
        [sys.executable, *entrypoint[1:], "serve", "--help"],
        cwd=DEPLOY.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--workers" in result.stdout
