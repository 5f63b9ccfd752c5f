"""Fault points: without a plan nothing happens; an armed point kills the process (SIGKILL) once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from convoc import faults

CODE = "from convoc import faults; faults.point('letters.render.mid_pdf'); print('went on')"


def run(env_plan: Path | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"} | ({faults.PLAN_ENV: str(env_plan)} if env_plan else {})
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, check=False)


def test_an_armed_point_kills_the_process_once(tmp_path: Path) -> None:
    assert run(None).stdout == "went on\n"  # no plan: nothing
    plan = tmp_path / "plan"
    faults.arm(plan, ["letters.render.mid_pdf"])
    first = run(plan)
    assert first.returncode == -signal.SIGKILL and first.stdout == ""
    assert faults.fired(plan) == {"letters.render.mid_pdf"}
    assert run(plan).stdout == "went on\n"  # the retry passes


def test_points_are_named_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(faults.PLAN_ENV, str(tmp_path))
    with pytest.raises(KeyError, match="unknown fault point"):
        faults.point("nowhere")
    source = "\n".join(p.read_text() for p in (Path(faults.__file__).parent).rglob("*.py"))
    for name in faults.POINTS:
        assert f'faults.point("{name}")' in source, f"{name} is listed but placed nowhere"
    readme = (Path(faults.__file__).parents[2] / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in faults.POINTS), "the README lists every fault point"
