"""Static checks of the production deployment files (no Docker engine runs here).

What is checked, so nothing passes by being skipped silently:
* docker-compose.yml validates against the Compose Specification JSON schema (vendored in
  tests/data/compose-spec.json with its licence, from check-jsonschema 0.39.0's copy of
  compose-spec/compose-spec schema/compose-spec.json);
* every build context, Dockerfile, bind-mounted path and env_file it names exists (``.env`` is
  made by the operator from ``.env.example``);
* every service runs a program its image has, and the Airflow services run the Airflow 3
  components (api-server, scheduler, dag-processor, triggerer, celery worker);
* every source a Dockerfile COPY names exists; ``dags/`` comes with the DAG issue and is only
  allowed to be missing outside CI;
* every variable the compose file interpolates is documented in .env.example, and secrets are
  only ever interpolated, never written in;
* ``hadolint`` and ``docker compose config`` run too when they are installed.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from devtools import REPO_ROOT

ROOT = REPO_ROOT
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"

# Paths that another issue's branch adds; missing is tolerated only outside CI, and said so.
ADDED_WITH_THE_DAGS = {"dags"}
# Airflow 3 components as `airflow` subcommands (the image's entrypoint prefixes `airflow`).
AIRFLOW_COMMANDS = {"api-server", "scheduler", "dag-processor", "triggerer", "celery worker", "version"}
# The programs each third-party image ships that this compose file may run.
IMAGE_PROGRAMS = {
    "postgres": {"postgres"},
    "redis": {"redis-server"},
    "minio/minio": {"server"},  # the image's entrypoint runs `minio <command>`
    "minio/mc": {"/bin/sh", "mc"},
    "fundocker/ralph": {"/bin/sh", "ralph", "rm", "chown"},
}
RALPH_COMMANDS = {"runserver", "auth"}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _missing_ok(relative: str) -> bool:
    """True for a path another branch supplies, when not running under CI."""
    return relative.split("/")[0] in ADDED_WITH_THE_DAGS and not os.environ.get("CI")


def _check_exists(path: Path, what: str, missing: list[str]) -> None:
    relative = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    if not path.exists() and not _missing_ok(relative):
        missing.append(f"{what}: {relative}")


def test_compose_file_matches_the_compose_specification(compose):
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    # The validator is really engaged: a misspelt key is caught.
    broken = copy.deepcopy(compose)
    broken["services"]["postgres"]["restart_policy"] = "always"
    assert any("restart_policy" in e.message for e in validator.iter_errors(broken))


def test_every_referenced_file_exists(compose):
    missing: list[str] = []
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is not None:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            _check_exists(context, f"{name} build context", missing)
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            _check_exists(context / dockerfile, f"{name} dockerfile", missing)
        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            bind = volume.get("type") == "bind" if isinstance(volume, dict) else source.startswith((".", "/", "~"))
            if bind:
                _check_exists((ROOT / source).resolve(), f"{name} bind mount", missing)
        env_files = service.get("env_file", [])
        for entry in [env_files] if isinstance(env_files, str | dict) else env_files:
            path = entry["path"] if isinstance(entry, dict) else entry
            if path != ".env":  # made from .env.example by the operator
                _check_exists(ROOT / path, f"{name} env_file", missing)
    assert missing == []


def _image_programs(image: str) -> set[str]:
    repository = image.split(":")[0]
    return IMAGE_PROGRAMS.get(repository, set())


def _shell_programs(script: str) -> list[str]:
    """The program of each simple command in a `sh -c` script (kept simple in the compose file)."""
    return [shlex.split(part)[0] for part in re.split(r"&&|\|\||;|\|", script) if part.strip()]


def _tokens(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else list(value)


def test_every_service_runs_a_known_program(compose):
    unknown: list[str] = []
    components: dict[str, str] = {}
    for name, service in compose["services"].items():
        command, entrypoint = _tokens(service.get("command")), _tokens(service.get("entrypoint"))
        if "build" in service:  # the project image: the Airflow entrypoint runs `airflow <command>`
            assert not entrypoint, f"{name}: keep the Airflow image's entrypoint"
            subcommand = " ".join(command[:2]) if command[:1] == ["celery"] else " ".join(command[:1])
            if subcommand not in AIRFLOW_COMMANDS:
                unknown.append(f"{name}: airflow {subcommand}")
            components[subcommand] = name
            continue
        programs = _image_programs(service["image"])
        if entrypoint[:2] == ["/bin/sh", "-c"]:
            run = [*_shell_programs(" ".join(command)), "/bin/sh"]
        else:
            run = (entrypoint or command)[:1]
        unknown += [f"{name}: {program}" for program in run if program not in programs]
        if command[:1] == ["ralph"] and command[1] not in RALPH_COMMANDS:
            unknown.append(f"{name}: ralph {command[1]}")
    assert unknown == []
    assert {"api-server", "scheduler", "dag-processor", "triggerer", "celery worker"} <= set(components)


def test_the_cluster_is_celery_airflow_with_ralph_and_an_s3_lake(compose):
    services = compose["services"]
    worker = services["airflow-worker"]
    env = worker["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # `docker compose up --scale airflow-worker=N` needs copies that do not clash.
    assert "container_name" not in worker and "ports" not in worker
    assert {"postgres", "redis", "minio", "minio-init", "ralph", "airflow-init"} <= set(services)
    assert services["ralph"]["image"] == "fundocker/ralph:5.1.0"
    assert services["ralph"]["command"][:4] == ["ralph", "runserver", "--backend", "fs"]
    assert any(v.startswith("ralph-auth:") for v in services["ralph"]["volumes"])
    assert env["XAPI_LAKE"].startswith("s3://")
    # the lake's catalog is a database of the compose PostgreSQL, created by its init script
    assert re.sub(_VARIABLE, "x", env["XAPI_LAKE_CATALOG"]).endswith("@postgres/lake")
    init = next(v for v in services["postgres"]["volumes"] if v.endswith(":/docker-entrypoint-initdb.d:ro"))
    scripts = (ROOT / init.split(":")[0]).glob("*.sql")
    assert any("CREATE DATABASE lake" in script.read_text() for script in scripts)
    for variable in ("XAPI_SOURCES", "XAPI_REPORTS", "XAPI_PSEUDONYM_KEY"):
        assert variable in env
    for connection in ("AIRFLOW_CONN_LRS_RALPH", "AIRFLOW_CONN_XAPI_LAKE"):
        assert json.loads(re.sub(_VARIABLE, "x", env[connection]))["conn_type"]
    # sources.yaml names the LRS connection the compose file defines.
    sources = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text())["sources"]
    assert {s["auth"]["airflow_conn_id"] for s in sources} == {"lrs_ralph"}
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-worker"):
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def _env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}


def test_secrets_come_only_from_the_env_file(compose):
    lines = [line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#")]
    text = "\n".join(lines).replace("$$", "")  # `$$` escapes a `$` for the container's shell
    documented = _env_example()
    used = {match.group(1): match.group(2) or "" for match in _VARIABLE.finditer(text)}
    undocumented = sorted(name for name, default in used.items() if not default.startswith(":-") and name not in documented)
    assert undocumented == []
    assert sorted(set(documented) - set(used)) == []
    # A bare `$NAME` would be interpolated from the host's environment: container-side
    # variables must be written `$$NAME`.
    assert re.findall(r"\$[A-Za-z_]", text) == []
    # No secret is written into the file: every password, secret or key is interpolated.
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        for key, value in environment.items():
            if re.search(r"PASSWORD|SECRET|_KEY$", key):
                assert "${" in str(value), f"{name}: {key} must come from .env"
    assert all(value == "change-me" for key, value in documented.items() if re.search(r"PASSWORD|SECRET|_KEY$", key))
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()


def _dockerfile_instructions() -> list[tuple[str, list[str]]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split()[0].upper(), shlex.split(line)[1:]) for line in lines]


def test_dockerfile_builds_on_airflow_3_and_copies_existing_sources():
    instructions = _dockerfile_instructions()
    arguments = dict(arg[0].split("=", 1) for op, arg in instructions if op == "ARG" and "=" in arg[0])
    (base,) = [arg[0] for op, arg in instructions if op == "FROM"]
    image = re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], base)
    assert re.fullmatch(r"apache/airflow:3\.\d+\.\d+-python3\.11", image), image
    missing: list[str] = []
    copied = set()
    for op, arguments_ in instructions:
        if op not in ("COPY", "ADD") or any(a.startswith("--from") for a in arguments_):
            continue
        sources = [a for a in arguments_ if not a.startswith("--")][:-1]
        for source in sources:
            _check_exists(ROOT / source, "COPY source", missing)
            copied.add(source)
    assert missing == []
    assert {"xapi_ingest", "expectations", "config", "dags"} <= copied


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint is not installed (optional)")
def test_hadolint_accepts_the_dockerfile():
    result = subprocess.run(["hadolint", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _docker_compose_available() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _docker_compose_available(), reason="docker compose is not installed (optional)")
def test_docker_compose_config_accepts_the_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text(ENV_EXAMPLE.read_text())
    result = subprocess.run(["docker", "compose", "--env-file", str(env), "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
