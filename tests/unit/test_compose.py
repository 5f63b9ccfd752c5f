"""No Docker engine runs here: check docker-compose.yaml parses and agrees with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_stack_is_consistent() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert {
        "postgres",
        "redis",
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
    } <= set(services)
    worker = services["airflow-worker"]
    assert worker["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert worker["environment"]["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/convoc/dags"
    assert "convoc-var:/var/lib/convoc" in worker["volumes"]
    assert worker["environment"]["CONVOC_HOME"] == "/var/lib/convoc"
    assert "airflow pools set warehouse 1" in services["airflow-init"]["command"]


def test_image_installs_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv pip sync --compile-bytecode requirements.lock" in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    uv_version = next(line.split(":=")[1].strip() for line in makefile.splitlines() if line.startswith("UV_VERSION"))
    assert f'"uv=={uv_version}"' in dockerfile
