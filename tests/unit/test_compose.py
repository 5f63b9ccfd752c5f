"""No Docker engine runs here: docker-compose.yaml and the Dockerfile must parse and agree with the code.

Service names and the URLs between them, the settings the code reads, the init step (the pools and the
connection the DAGs use), and the image's install step (the lock, installed as `make install` does).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from convoc import deploy
from convoc.codes import AIRFLOW_CONNECTION, KEY_ENV
from convoc.letters import layout

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-worker-warehouse",
    "flower",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def dockerfile() -> str:
    # continuation lines joined: one instruction per line
    return (ROOT / "Dockerfile").read_text().replace("\\\n", " ")


def _dockerfile_env(dockerfile: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in dockerfile.splitlines():
        if line.startswith("ENV "):
            env.update(item.split("=", 1) for item in shlex.split(line[4:]))
    return env


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_the_stack_has_every_component(services: dict[str, Any]) -> None:
    assert {"postgres", "redis", *AIRFLOW_SERVICES} <= set(services)
    commands = {name: _command(services[name])[:3] for name in AIRFLOW_SERVICES - {"airflow-init", "flower"}}
    assert commands == {
        "airflow-apiserver": ["airflow", "api-server", "--port"],
        "airflow-scheduler": ["airflow", "scheduler"],
        "airflow-dag-processor": ["airflow", "dag-processor"],
        "airflow-triggerer": ["airflow", "triggerer"],
        "airflow-worker": ["airflow", "celery", "worker"],
        "airflow-worker-warehouse": ["airflow", "celery", "worker"],
    }
    assert _command(services["flower"])[:2] == ["bash", "-c"]
    assert _command(services["flower"])[2].endswith("exec airflow celery flower --port 5555")
    assert services["flower"]["profiles"] == ["flower"]  # optional
    # scalable: nothing a second worker would clash on
    assert not {"container_name", "ports", "hostname"} & set(services["airflow-worker"])
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}


def test_every_airflow_service_shares_one_configuration(services: dict[str, Any], dockerfile: str) -> None:
    image_env = _dockerfile_env(dockerfile)
    workdir = re.search(r"^WORKDIR (\S+)", dockerfile, re.MULTILINE)
    assert workdir is not None
    envs = {name: dict(services[name]["environment"]) for name in AIRFLOW_SERVICES}
    envs["airflow-init"].pop(KEY_ENV)
    envs["flower"].pop("AIRFLOW__CELERY__FLOWER_BASIC_AUTH")
    assert all(env == envs["airflow-worker"] for env in envs.values())
    env = envs["airflow-worker"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == f"{workdir.group(1)}/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == f"{workdir.group(1)}/plugins"
    # var/ on the shared volume, where the image says it is
    assert env["CONVOC_HOME"] == image_env["CONVOC_HOME"]
    for name in AIRFLOW_SERVICES:
        assert f"convoc-var:{image_env['CONVOC_HOME']}" in services[name]["volumes"]
        assert services[name]["image"] == "convoc:latest" and services[name]["build"] == "."
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"].startswith(image_env["CONVOC_HOME"] + "/")


def test_the_warehouse_lives_on_one_workers_local_disk(services: dict[str, Any], dockerfile: str) -> None:
    from convoc_airflow.defaults import WAREHOUSE_QUEUE

    # Only the warehouse worker mounts the warehouse volume and serves its queue; the others serve `default`.
    mounts = {
        name: [v.split(":")[0] for v in s.get("volumes", []) if isinstance(v, str)] for name, s in services.items()
    }
    assert [name for name, volumes in mounts.items() if "convoc-warehouse" in volumes] == ["airflow-worker-warehouse"]
    # The API server (the control room) sees the published copy's folder alone, read-only.
    [published] = [v for v in services["airflow-apiserver"]["volumes"] if isinstance(v, dict)]
    assert published["source"] == "convoc-warehouse" and published["read_only"] is True
    assert published["volume"]["subpath"] == "published"
    assert published["target"] == str(
        Path(services["airflow-worker"]["environment"]["CONVOC_WAREHOUSE"]).parent / "published"
    )
    assert _command(services["airflow-worker-warehouse"])[-2:] == ["--queues", WAREHOUSE_QUEUE]
    assert _command(services["airflow-worker"])[-2:] == ["--queues", "default"]
    assert "deploy" not in services["airflow-worker-warehouse"]  # exactly one: never scaled
    env = services["airflow-worker"]["environment"]
    home = _dockerfile_env(dockerfile)["CONVOC_HOME"]
    warehouse = env["CONVOC_WAREHOUSE"]
    assert not warehouse.startswith(home + "/")  # not on the share
    assert any(
        f"convoc-warehouse:{Path(warehouse).parent}" == v for v in services["airflow-worker-warehouse"]["volumes"]
    )


def test_urls_point_at_the_services(services: dict[str, Any]) -> None:
    env = services["airflow-worker"]["environment"]
    hosts = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgres",
        "AIRFLOW__CELERY__RESULT_BACKEND": "postgres",
        "AIRFLOW__CELERY__BROKER_URL": "redis",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "airflow-apiserver",
    }
    for setting, service in hosts.items():
        url = re.sub(r"\$\{[^}]*\}", "secret", env[setting])  # ${POSTGRES_PASSWORD:?...} as compose fills it
        assert urlsplit(url).hostname == service, setting
        assert service in services
    assert (
        urlsplit(re.sub(r"\$\{[^}]*\}", "secret", env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])).path
        == "/" + services["postgres"]["environment"]["POSTGRES_DB"]
    )
    api_port = _command(services["airflow-apiserver"])[3]
    assert urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).port == int(api_port)
    assert services["airflow-apiserver"]["ports"] == [f"${{AIRFLOW_API_BIND:-127.0.0.1}}:{api_port}:{api_port}"]


def _settings_read_by_code() -> set[str]:
    names: set[str] = set()
    for path in [*(ROOT / "include" / "convoc").rglob("*.py"), *(ROOT / "dags").glob("*.py")]:
        names |= set(re.findall(r"\b(CONVOC_[A-Z_]+)\b", path.read_text(encoding="utf-8")))
    return names


def _convoc_options() -> set[str]:
    """The options of the ``[convoc]`` section the Airflow side reads (``conf.get("convoc", "...")``)."""
    code = "\n".join(p.read_text() for p in (ROOT / "include" / "convoc_airflow").glob("*.py"))
    return set(re.findall(r'conf\.get\w*\(\s*"convoc",\s*"(\w+)"', code))


def test_settings_are_ones_the_code_and_airflow_read(services: dict[str, Any]) -> None:
    from airflow.configuration import conf

    described = conf.configuration_description
    env = {**services["airflow-worker"]["environment"], **services["airflow-init"]["environment"]}
    for name in env:
        if name.startswith("AIRFLOW__"):
            section, option = name[len("AIRFLOW__") :].lower().split("__")
            if section == "convoc":  # convoc's own section of the Airflow configuration
                assert option in _convoc_options(), f"{name}: convoc_airflow does not read it"
                continue
            assert option in described.get(section, {}).get("options", {}), f"{name}: no such Airflow option"
        else:
            assert name in _settings_read_by_code(), f"{name}: convoc does not read it"
    # the signing key only where the connection is made
    assert KEY_ENV in services["airflow-init"]["environment"]
    assert KEY_ENV not in services["airflow-worker"]["environment"]


def test_required_secrets_are_documented(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yaml").read_text()
    header = text.split("x-airflow-common")[0]
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required == {
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_API_SECRET_KEY",
        "CONVOC_SIGNING_KEY",
        "POSTGRES_PASSWORD",
    }
    assert all(name in header for name in required)
    # no secret has a default: every ${NAME...} that names a password, key or secret is required
    for name, default in re.findall(r"\$\{(\w+):-([^}]*)\}", text):
        assert not re.search("PASSWORD|SECRET|KEY|AUTH", name) or (default == "" and name == "FLOWER_BASIC_AUTH"), name


def test_nothing_is_published_beyond_this_host_or_without_a_login(services: dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in services.items() if service.get("ports")}
    assert set(published) == {"airflow-apiserver", "flower"}
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    assert published["airflow-apiserver"][0].startswith("${AIRFLOW_API_BIND:-127.0.0.1}:")
    flower = services["flower"]
    assert flower["environment"]["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"] == "${FLOWER_BASIC_AUTH:-}"
    # Flower will not start without the login it is given
    script = _command(flower)[2]
    assert script.startswith('test -n "$$AIRFLOW__CELERY__FLOWER_BASIC_AUTH" || {') and "exit 1" in script


def test_init_creates_the_pools_and_connections_the_dags_use(services: dict[str, Any]) -> None:
    assert _command(services["airflow-init"]) == ["python", "-m", "convoc.deploy", "init"]
    from airflow.dag_processing.dagbag import DagBag

    dags = DagBag(dag_folder=str(ROOT / "dags")).dags.values()
    used = {t.pool for dag in dags for t in dag.tasks} - {"default_pool"}
    assert used and used <= set(deploy.POOLS)
    assert deploy.POOLS["warehouse"][0] == 1  # DuckDB takes one writer process
    assert deploy.SIGNING_KEY_CONNECTION == AIRFLOW_CONNECTION


def _makefile() -> str:
    return (ROOT / "Makefile").read_text()


def test_image_installs_the_lock_as_make_install_does(dockerfile: str, compose: dict[str, Any]) -> None:
    makefile = _makefile()
    uv_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert uv_version is not None
    assert f'pip install --no-cache-dir "uv=={uv_version.group(1)}"' in dockerfile
    # the install recipe of make install, without its venv prefix and -q: the same commands in the image
    recipe = makefile.split("$(VENV)/.synced:")[1].split("\n\n")[0]
    steps = [
        line.strip().replace("VIRTUAL_ENV=$(VENV) $(UV) ", "uv ").replace(" -q", "")
        for line in recipe.splitlines()
        if "pip " in line
    ]
    assert len(steps) == 2
    runs = [line for line in dockerfile.splitlines() if line.startswith("RUN ")]
    for step in steps:
        assert any(step in run for run in runs), step
    # the interpreter and platform the lock is resolved for
    python_version = re.search(r"--python-version (\S+)", makefile)
    assert python_version is not None
    assert re.search(rf"^FROM python:{re.escape(python_version.group(1))}-", dockerfile, re.MULTILINE)
    assert "--python-platform x86_64-" in makefile
    assert compose["x-airflow-common"]["platform"] == "linux/amd64"
    # everything the package reads at run time is in the image, and the development tools are not
    for folder in ("include/convoc", "include/convoc_airflow", "dags", "plugins", "sql"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert "convoc_dev" not in dockerfile.replace("include/convoc_dev: ", "")
    imports_dev = re.compile(r"^\s*(from|import) convoc_dev\b", re.MULTILINE)
    assert not [p for p in (ROOT / "include" / "convoc").rglob("*.py") if imports_dev.search(p.read_text())]


def test_image_has_the_letters_fonts(dockerfile: str) -> None:
    from convoc.fonts import FILES

    # the fonts ship inside the package, which the image copies: no Debian font package, no system folder
    assert "fonts-dejavu" not in dockerfile and "/usr/share/fonts" not in dockerfile
    assert "COPY include/convoc ./include/convoc" in dockerfile
    assert layout.FONT_DIR == ROOT / "include" / "convoc" / "fonts"
    assert all((layout.FONT_DIR / file).is_file() for file in FILES)
    assert (layout.FONT_DIR / "LICENSE").is_file()  # the licence travels with the fonts
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert not [line for line in ignored if "font" in line or "ttf" in line]
