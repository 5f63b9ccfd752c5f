"""Great Expectations is imported without scipy.stats and altair, and nothing is lost by it: a real validation
runs without them, and anything that does ask for them gets the real modules. Each case runs in a fresh
interpreter (this one may have imported GX already). And GX's pandas engine does not fingerprint the frames."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sized
from pathlib import Path

import pytest
from conftest import person, write_register


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


LOADED = "sorted(m for m in sys.modules if m.startswith(('scipy.stats.', 'altair.')))"
"""The submodules of the deferred modules loaded in the child: none while only GX used them."""


def test_a_validation_runs_without_the_deferred_modules_and_asking_for_them_gives_the_real_ones(
    tmp_path: Path,
) -> None:
    rows = [person(i) for i in range(1, 6)]
    rows[2]["matricule"] = rows[2]["matricule"][:-1] + "X"
    write_register(tmp_path / "landing" / "register_20210129.csv", rows)
    out = _run(
        f"""
import sys
from datetime import date
from pathlib import Path
from convoc.quality.validate import validate_files
from convoc.sources.extract import extract, find_landing_files
tmp = Path({str(tmp_path)!r})
ex = [extract(f, tmp / "work") for f in find_landing_files(tmp / "landing", date(2021, 1, 29))]
[v] = validate_files(ex, day=date(2021, 1, 29), work_dir=tmp / "work", previous={{}}, max_row_change=0.05,
                     docs_dir=tmp / "docs")
print(v.rows, v.rejected_rows, v.refusals, type(sys.modules["scipy.stats"]).__name__, {LOADED})
from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
print(type(kl.stats).__name__, round(float(kl.stats.entropy([0.5, 0.5], [0.9, 0.1])), 4))
import scipy, scipy.stats
from scipy.stats import entropy
print(type(sys.modules["scipy.stats"]).__name__, scipy.stats is sys.modules["scipy.stats"], entropy.__module__)
print(kl.alt.Chart.__module__, type(sys.modules["altair"]).__name__)
"""
    )
    assert out.splitlines() == [
        "5 1 () Deferred []",  # validated (one bad matricule), Data Docs written, neither module loaded
        "Deferred 0.5108",  # GX's own reference: a stand-in, forwarding to scipy's entropy
        "module True scipy.stats._entropy",  # everyone else: the real module, in sys.modules and on its package
        "altair.vegalite.v6.api module",
    ]
    assert (tmp_path / "docs" / "index.html").exists()


def test_a_module_already_loaded_is_left_alone() -> None:
    out = _run(
        """
import sys, scipy.stats
from convoc.quality import gx
real = sys.modules["scipy.stats"]
for name in gx.DEFERRED:
    gx._defer(name)
print(sys.modules["scipy.stats"] is real, scipy.stats is real, type(sys.modules["altair"]).__name__)
"""
    )
    assert out.split() == ["True", "True", "Deferred"]


def test_frames_are_validated_without_being_fingerprinted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GX's pandas engine hashes every frame below 1 GB for a batch marker convoc never reads: not done."""
    from datetime import date

    from convoc.quality.gx import great_expectations
    from convoc.quality.validate import validate_files
    from convoc.sources.extract import extract, find_landing_files

    great_expectations()
    from great_expectations.execution_engine import pandas_execution_engine as engine

    hashed: list[int] = []

    def fingerprint(frame: Sized) -> str:
        hashed.append(len(frame))
        return "fingerprint"

    monkeypatch.setattr(engine, "hash_pandas_dataframe", fingerprint)
    rows = [person(i) for i in range(1, 6)]
    rows[2]["matricule"] = rows[2]["matricule"][:-1] + "X"
    write_register(tmp_path / "landing" / "register_20210129.csv", rows)
    day = date(2021, 1, 29)
    extracted = [extract(f, tmp_path / "work") for f in find_landing_files(tmp_path / "landing", day)]
    [verdict] = validate_files(extracted, day=day, work_dir=tmp_path / "work", previous={}, max_row_change=0.05)
    assert (verdict.rows, verdict.rejected_rows, verdict.refusals) == (5, 1, ())
    assert hashed == []


def test_importing_convoc_s_expectations_first_imports_gx_the_same_way() -> None:
    """Whichever module of convoc imports GX first, it is imported through ``great_expectations()``."""
    out = _run(
        """
import sys
import convoc.quality.expectations
from great_expectations.execution_engine import pandas_execution_engine as engine
print(type(sys.modules["scipy.stats"]).__name__, engine.HASH_THRESHOLD)
"""
    )
    assert out.split() == ["Deferred", "0"]


def test_gx_notes_at_info_stay_out_of_the_task_log_its_warnings_do_not(tmp_path: Path) -> None:
    rows = [person(i) for i in range(1, 4)]
    write_register(tmp_path / "landing" / "register_20210129.csv", rows)
    code = f"""
import logging
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
from datetime import date
from pathlib import Path
from convoc.quality.validate import validate_files
from convoc.sources.extract import extract, find_landing_files
tmp = Path({str(tmp_path)!r})
ex = [extract(f, tmp / "work") for f in find_landing_files(tmp / "landing", date(2021, 1, 29))]
validate_files(ex, day=date(2021, 1, 29), work_dir=tmp / "work", previous={{}}, max_row_change=0.05,
               docs_dir=tmp / "docs")
logging.getLogger("great_expectations.render").warning("a warning of GX's own")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    assert "convoc.quality.validate INFO register_20210129.csv: 3 rows, 0 rejected" in lines
    assert [line for line in lines if line.startswith("great_expectations")] == [
        "great_expectations.render WARNING a warning of GX's own"
    ]
    preset = "import logging; logging.getLogger('great_expectations').setLevel(logging.INFO)\n"
    done = subprocess.run(
        [sys.executable, "-c", preset + code], capture_output=True, text=True, timeout=300, check=False
    )
    assert "closure" in done.stderr  # a level the deployment set is left as it is
