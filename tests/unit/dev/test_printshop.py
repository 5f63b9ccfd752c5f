"""The simulated print shop: confirmations for every piece, seeded spoilage and returns, refusal of a
damaged job, never the same job twice; and its command line."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from print_jobs import JOB, REPRINT, copy_tree, make_reprint, print_root, rendered

from convoc.cli import main
from convoc.config import Settings
from convoc.handoff.deliver import READY, deliver
from convoc.handoff.job import FORMAT, build_job
from convoc.handoff.transport import LocalTransport
from convoc.sources.specs import PRINT_CONFIRM, RETURNS
from convoc_dev.cli import main as dev_main
from convoc_dev.printshop import REASONS, STATE_DIR, simulate

DAY = date(2021, 1, 29)


@pytest.fixture
def outbox(rendered: Path, tmp_path: Path) -> Path:
    """The drop folder with job J20210129 delivered."""
    print_root = copy_tree(rendered, tmp_path / "print")
    deliver(build_job(print_root, JOB, tmp_path / "staging").path, LocalTransport(tmp_path / "outbox"))
    return tmp_path / "outbox"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _fake_job(outbox: Path, job_id: str, pieces: int, handoff: date = DAY) -> None:
    """A delivered job of ``pieces`` pieces without PDFs: only what the print shop reads and checks."""
    folder = outbox / job_id
    folder.mkdir(parents=True)
    run = "envelope,piece_id\n" + "".join(f"{k},{k}\n" for k in range(1, pieces + 1))
    (folder / "inserter_run.csv").write_text(run)
    manifest = {
        "format": FORMAT, "job_id": job_id, "handoff_date": handoff.isoformat(), "wave_date": DAY.isoformat(),
        "files": [], "totals": {"pieces": pieces},
        "documents": [{"name": "inserter_run.csv", "sha256": hashlib.sha256(run.encode()).hexdigest()}],
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))
    ready = {"manifest_sha256": hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest(), "delivery": "x"}
    (folder / READY).write_text(json.dumps(ready))


def test_every_piece_is_confirmed_the_next_morning(outbox: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    result = simulate(outbox, landing)
    (job,) = result.jobs
    assert (job.name, job.job_id, job.status, job.pieces, job.mailed, job.spoiled) == (
        JOB, JOB, "processed", 9, 9, 0)  # fmt: skip
    assert job.mailed_on == DAY
    confirm = landing / "print_confirm_20210130.csv"
    assert job.files == (confirm,) and sorted(p.name for p in landing.iterdir()) == [confirm.name]
    assert confirm.read_text(encoding="utf-8").splitlines()[0] == ",".join(PRINT_CONFIRM.columns)
    assert [(r["job_id"], r["piece_id"], r["status"], r["event_date"]) for r in _rows(confirm)] == [
        (JOB, str(k), "mailed", "2021-01-29") for k in range(1, 10)
    ]
    assert PRINT_CONFIRM.file_pattern.match(confirm.name)
    record = json.loads((outbox / STATE_DIR / f"{JOB}.json").read_bytes())
    assert record["status"] == "processed" and record["delivery"] == json.loads((outbox / JOB / READY).read_bytes())[
        "delivery"]  # fmt: skip


def test_a_job_is_never_handled_twice_and_reprints_join_the_loop(outbox: Path, rendered: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    simulate(outbox, landing, spoilage=0.3, seed=3)
    confirm = landing / "print_confirm_20210130.csv"
    before = (confirm.read_bytes(), confirm.stat().st_mtime_ns)
    assert simulate(outbox, landing, spoilage=0.3, seed=3).jobs == ()
    assert simulate(outbox, landing, spoilage=0.9, seed=4).jobs == ()
    assert (confirm.read_bytes(), confirm.stat().st_mtime_ns) == before
    spoiled = [int(r["piece_id"]) for r in _rows(confirm) if r["status"] == "spoiled"]
    assert spoiled
    # The reprint of the spoiled pieces, handed off the next day.
    print_root = tmp_path / "print"
    make_reprint(print_root, tuple(spoiled))
    built = build_job(print_root, REPRINT, tmp_path / "staging", handoff_date=DAY + timedelta(days=1))
    deliver(built.path, LocalTransport(outbox))
    (job,) = simulate(outbox, landing, seed=3).jobs
    assert (job.job_id, job.status, job.mailed, job.mailed_on) == (
        REPRINT,
        "processed",
        len(spoiled),
        date(2021, 1, 30),
    )
    assert [(r["job_id"], int(r["piece_id"]), r["status"]) for r in _rows(landing / "print_confirm_20210131.csv")] == [
        (REPRINT, k, "mailed") for k in spoiled
    ]
    assert (confirm.read_bytes(), confirm.stat().st_mtime_ns) == before


def test_spoilage_and_returns_for_a_seed(tmp_path: Path) -> None:
    def run(name: str, seed: int) -> tuple[dict[str, bytes], int, int, int]:
        outbox = tmp_path / name / "outbox"
        _fake_job(outbox, "J20210129", 4_000)
        (job,) = simulate(outbox, tmp_path / name / "landing", spoilage=0.01, returns=0.05, seed=seed).jobs
        files = {p.name: p.read_bytes() for p in sorted((tmp_path / name / "landing").iterdir())}
        return files, job.spoiled, job.mailed, job.returned

    files, spoiled, mailed, returned = run("a", seed=7)
    assert spoiled + mailed == 4_000
    assert 20 <= spoiled <= 65 and 140 <= returned <= 260  # 1 % and 5 %, binomial bounds
    assert run("b", seed=7) == (files, spoiled, mailed, returned)  # deterministic
    assert run("c", seed=8)[0] != files

    landing = tmp_path / "a" / "landing"
    confirm = _rows(landing / "print_confirm_20210130.csv")
    assert sum(r["status"] == "spoiled" for r in confirm) == spoiled and len(confirm) == 4_000
    mailed_ids = {r["piece_id"] for r in confirm if r["status"] == "mailed"}
    back = []
    for path in sorted(landing.glob("returns_*.csv")):
        assert RETURNS.file_pattern.match(path.name)
        assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(RETURNS.columns)
        for row in _rows(path):
            returned_on = date.fromisoformat(row["returned_on"])
            assert date(2021, 1, 31) <= returned_on <= date(2021, 2, 5)  # 2 to 7 days after mailing
            assert path.name == f"returns_{returned_on + timedelta(days=1):%Y%m%d}.csv"  # reported the next day
            assert row["reason"] in {r for r, _ in REASONS} and row["job_id"] == "J20210129"
            back.append(row["piece_id"])
    assert len(back) == returned == len(set(back)) and set(back) <= mailed_ids
    assert {r["reason"] for p in landing.glob("returns_*.csv") for r in _rows(p)} == {r for r, _ in REASONS}


@pytest.mark.parametrize(("spoilage", "spoiled"), [(0.0, 0), (1.0, 9)])
def test_spoilage_bounds(outbox: Path, tmp_path: Path, spoilage: float, spoiled: int) -> None:
    (job,) = simulate(outbox, tmp_path / "landing", spoilage=spoilage, returns=1.0).jobs
    assert (job.spoiled, job.mailed, job.returned) == (spoiled, 9 - spoiled, 9 - spoiled)


def test_a_checksum_mismatch_refuses_the_job_with_an_alert(
    outbox: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pdf = outbox / JOB / f"{JOB}-0002.pdf"
    expected = hashlib.sha256(pdf.read_bytes()).hexdigest()
    pdf.write_bytes(pdf.read_bytes()[:-10])
    found = hashlib.sha256(pdf.read_bytes()).hexdigest()
    landing = tmp_path / "landing"
    with caplog.at_level(logging.ERROR, logger="convoc_dev.printshop"):
        result = simulate(outbox, landing)
    (job,) = result.refused
    assert result.processed == () and not landing.exists()
    (problem,) = job.problems
    assert (problem.file, problem.expected, problem.found) == (f"{JOB}-0002.pdf", expected, found)
    assert "ALERT" in caplog.text and f"{JOB}-0002.pdf" in caplog.text and expected in caplog.text
    record = json.loads((outbox / STATE_DIR / f"{JOB}.json").read_bytes())
    assert record["status"] == "refused" and record["problems"][0]["found"] == found
    assert simulate(outbox, landing).jobs == ()  # refused once, not again for the same delivery


@pytest.mark.parametrize("damage", ["manifest", "ready", "missing"])
def test_a_damaged_manifest_or_marker_is_refused(outbox: Path, tmp_path: Path, damage: str) -> None:
    folder = outbox / JOB
    if damage == "manifest":
        (folder / "manifest.json").write_text(
            (folder / "manifest.json").read_text().replace('"pieces": 5', '"pieces": 6')
        )
    elif damage == "ready":
        (folder / READY).write_text("")
    else:
        (folder / "inserter_run.csv").unlink()
    (job,) = simulate(outbox, tmp_path / "landing").refused
    assert job.problems[0].file == {"manifest": "manifest.json", "ready": READY, "missing": "inserter_run.csv"}[damage]


def test_only_ready_jobs_are_taken(outbox: Path, tmp_path: Path) -> None:
    (outbox / JOB / READY).rename(outbox / JOB / ".READY.partial")
    (outbox / f".partial-{JOB}-0123456789ab").mkdir()
    assert simulate(outbox, tmp_path / "landing").jobs == ()
    assert simulate(tmp_path / "no-outbox", tmp_path / "landing").jobs == ()


def test_rows_are_merged_into_the_days_file(tmp_path: Path) -> None:
    outbox, landing = tmp_path / "outbox", tmp_path / "landing"
    _fake_job(outbox, "J20210128", 3, handoff=DAY)
    _fake_job(outbox, "J20210129", 2, handoff=DAY)
    simulate(outbox, landing, day=date(2021, 2, 3))
    assert [(r["job_id"], r["piece_id"], r["event_date"]) for r in _rows(landing / "print_confirm_20210204.csv")] == [
        ("J20210128", "1", "2021-02-03"), ("J20210128", "2", "2021-02-03"), ("J20210128", "3", "2021-02-03"),
        ("J20210129", "1", "2021-02-03"), ("J20210129", "2", "2021-02-03")]  # fmt: skip


def test_command_line(outbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    landing = tmp_path / "landing"
    args = ["print-shop", "simulate", "--outbox", str(outbox), "--landing", str(landing), "--seed", "5",
            "--spoilage", "0.5", "--returns", "0.5", "--day", "2021-02-01"]  # fmt: skip
    assert dev_main(args) == 0
    out = capsys.readouterr().out
    assert f"{JOB}: 9 pieces" in out and "print_confirm_20210202.csv" in out
    assert dev_main(args) == 0 and "no new ready job" in capsys.readouterr().out

    _fake_job(outbox, "J20210130", 2)
    (outbox / "J20210130" / "inserter_run.csv").write_text("damaged\n")
    assert dev_main(args) == 1
    err = capsys.readouterr().err
    assert "ALERT" in err and "inserter_run.csv: checksum mismatch" in err


def test_command_line_rejects_bad_rates(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        dev_main(["print-shop", "simulate", "--spoilage", "1.5"])
    assert "a rate must lie in [0, 1]" in capsys.readouterr().err


def test_the_loop_from_the_command_line(rendered: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    copy_tree(rendered, settings.print_root)
    assert main(["handoff", "--day", "2021-01-29"]) == 0
    assert f"{JOB}: delivered as {settings.outbox / JOB} (2 PDFs, 9 pieces" in capsys.readouterr().out
    assert main(["handoff", "--day", "2021-01-29"]) == 0
    assert f"{JOB}: unchanged as" in capsys.readouterr().out
    assert dev_main(["print-shop", "simulate", "--spoilage", "0.4", "--seed", "2"]) == 0
    spoiled = [
        r["piece_id"] for r in _rows(settings.landing / "print_confirm_20210130.csv") if r["status"] == "spoiled"
    ]
    assert spoiled
    make_reprint(settings.print_root, tuple(int(p) for p in spoiled))
    assert main(["handoff", "--day", "2021-01-30", "--job", REPRINT]) == 0
    assert dev_main(["print-shop", "simulate", "--seed", "2"]) == 0
    assert f"{REPRINT}: {len(spoiled)} pieces, {len(spoiled)} mailed" in capsys.readouterr().out
    assert [r["piece_id"] for r in _rows(settings.landing / "print_confirm_20210131.csv")] == spoiled
