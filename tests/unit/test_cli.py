"""The convoc command line, as a data engineer types it."""

from __future__ import annotations

import os
import re
import stat
from datetime import date
from pathlib import Path

import duckdb
import pytest

from convoc.cli import main
from convoc.codes import make_code
from convoc.config import Settings
from convoc_dev.cli import main as dev_main

LEGACY_COLUMNS = (
    "invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, booking_code, valid_from, "
    "valid_until, centre, language"
)
"""The invitation columns these rows give (channel and format take their defaults: paper, standard)."""


def test_generate_ingest_waves_status(settings: Settings, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "c" * 40)
    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", "0.01")
    shop = tmp_path / "print_shop.yaml"  # 500 pieces at this scale: less than the first day's waves want
    shop.write_text("pieces_per_day: 50000\nworking_days: [mon, tue, wed, thu, fri, sat, sun]\n")
    monkeypatch.setenv("CONVOC_PRINT_SHOP", str(shop))
    assert dev_main(["generate", "--residents", "1500", "--seed", "3", "--out", str(settings.landing)]) == 0
    assert "wrote 6 landing files" in capsys.readouterr().out
    assert main(["ingest", "--day", "2021-01-29"]) == 0
    assert "register_20210129.csv: 1500 rows, 1500 staged, 0 quarantined" in capsys.readouterr().out
    assert main(["waves", "--day", "2021-01-29"]) == 0
    out = capsys.readouterr().out
    assert "vaccination 2021-01-29:" in out and "testing 2021-01-29:" in out
    # second doses and phases first: the sample's letters wait; its invitations by e-mail only need no paper
    deferred = re.search(r"testing 2021-01-29: (\d+) invitations \{[^}]*\}; (\d+) deferred by the print shop", out)
    assert deferred and int(deferred[2]) > 0, out
    assert dev_main(["simulate-bookings", "--day", "2021-02-02", "--uptake", "1"]) == 0
    assert "bookings_20210203.csv" in capsys.readouterr().out
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "core.fct_invitation (letters)" in out and "2021-01-29 vaccination" in out
    assert re.search(r"2021-01-29 +500 / +500 100\.0%  \(500 letters, 0 reprints\); (\d+) deferred", out), out


def test_generate_with_defects_then_ingest_quarantines_exactly_what_the_truth_file_names(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # The two commands a register team types to try the front door: every damage class in one register file,
    # each damaged line quarantined with its rule, every other line loaded, nothing lost.
    import csv

    from convoc_dev.synth.defects import RULES

    out = str(settings.landing)
    assert dev_main(["generate", "--residents", "2000", "--seed", "5", "--out", out, "--defects", "0.02"]) == 0
    capsys.readouterr()
    with (settings.landing / "_truth" / "defects_20210129.csv").open(newline="") as fh:
        truth = {(r["file"], int(r["line"]), r["column"] or None, r["rule"]) for r in csv.DictReader(fh)}
    assert {rule for *_, rule in truth} == set(RULES)
    assert main(["ingest", "--day", "2021-01-29"]) == 0
    damaged = {line for _, line, _, _ in truth}
    assert f"register_20210129.csv: 2000 rows, {2000 - len(damaged)} staged, {len(damaged)} quarantined" in (
        capsys.readouterr().out
    )
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rejects = set(
            con.execute(
                "select source_file, line_number, column_name, rule from quarantine.register_rejects"
            ).fetchall()
        )
        staged = {line for (line,) in con.execute("select line_number from staging.register").fetchall()}
    assert rejects == truth
    assert not staged & damaged and len(staged) + len(damaged) == 2000


def test_code_check(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code = make_code("vaccination:1:7:1", b"c" * 32)
    assert main(["code", "check", code.lower().replace("-", " ")]) == 0
    assert f"{code}: well-formed" in capsys.readouterr().out
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert main(["code", "check", bad]) == 1
    assert "check symbol does not match" in capsys.readouterr().out
    settings.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        from convoc import warehouse

        warehouse.ensure_schema(con)
        con.execute(
            "insert into core.fct_invitation ("
            + LEGACY_COLUMNS
            + ") values ('vaccination:1:7:1', 7, 'vaccination', 1, 1, "
            "date '2021-02-01', '2a', $c, date '2021-02-02', date '2021-02-15', 'mondorf', 'fr')",
            {"c": code},
        )
    assert main(["code", "check", code]) == 0
    out = capsys.readouterr().out
    assert "invitation vaccination:1:7:1: campaign vaccination, dose 1" in out and "not booked" in out
    assert main(["code", "check", make_code("vaccination:1:8:1", b"c" * 32)]) == 1
    assert "no invitation carries this code" in capsys.readouterr().out


def test_key_init_creates_a_private_file_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "secrets" / "signing.key"
    assert main(["key", "init", str(path)]) == 0
    first = path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert main(["key", "init", str(path)]) == 0
    assert path.read_text() == first


def test_waves_without_a_key_say_how_to_provide_one(settings: Settings, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.delenv("CONVOC_SIGNING_KEY", raising=False)
    monkeypatch.delenv("CONVOC_SIGNING_KEY_FILE", raising=False)
    assert main(["waves", "--day", str(date(2021, 2, 1))]) == 2
    err = capsys.readouterr().err
    assert "CONVOC_SIGNING_KEY" in err and "convoc_signing_key" in err
