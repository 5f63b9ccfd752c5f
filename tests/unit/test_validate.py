"""Row rules quarantine exactly the damaged row under the named rule; file rules refuse the file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import REGISTER_HEADER, matricule, person, write_register

from convoc.quality.validate import Previous, Verdict, validate_files
from convoc.sources.extract import extract, find_landing_files

DAY = date(2021, 1, 29)
GOOD = matricule("19500314", 7)
BAD_CHECK = GOOD[:-1] + str((int(GOOD[-1]) + 1) % 10)


def _validate(
    tmp_path: Path,
    rows: list[dict[str, str]],
    *,
    header: list[str] | None = None,
    previous: dict[str, Previous] | None = None,
    accept: bool = False,
    docs: bool = False,
) -> tuple[Verdict, pl.DataFrame]:
    write_register(tmp_path / "landing" / "register_20210129.csv", rows, header=header)
    extracted = [extract(f, tmp_path / "work") for f in find_landing_files(tmp_path / "landing", DAY)]
    [verdict] = validate_files(
        extracted,
        day=DAY,
        work_dir=tmp_path / "work",
        previous=previous or {},
        max_row_change=0.05,
        accept_row_count_change=accept,
        docs_dir=tmp_path / "docs" if docs else None,
    )
    return verdict, pl.read_parquet(verdict.rejects)


@pytest.mark.parametrize(
    ("override", "column", "rule", "shown"),
    [
        ({"matricule": BAD_CHECK}, "matricule", "matricule_check_digit", "9999999999999"),
        ({"matricule": "1950031400"}, "matricule", "matricule_check_digit", "9999999999"),
        ({"birth_date": "31/02/1950"}, "birth_date", "birth_date_unparseable", "99/99/9999"),
        ({"birth_date": "1950-02-31"}, "birth_date", "birth_date_unparseable", "9999-99-99"),
        ({"birth_date": "2021-01-30"}, "birth_date", "birth_date_future", "9999-99-99"),
        ({"postcode": "L-0000"}, "postcode", "unknown_postcode", "L-0000"),
        ({"postcode": "1009"}, "postcode", "unknown_postcode", "1009"),
        ({"commune": "Luxemburg-Stadt"}, "commune", "unknown_commune", "Luxemburg-Stadt"),
        ({"family_name": ""}, "family_name", "missing_required", None),
        ({"status": ""}, "status", "missing_required", None),
        ({"given_name": "Jo\x07ão"}, "given_name", "control_character", "Xx\\x07xx"),
        ({"family_name": "Mül\x1bler"}, "family_name", "control_character", "Xxx\\x1bxxx"),
        ({"status": "alive"}, "status", "invalid_value", "alive"),
    ],
)
def test_each_row_rule_quarantines_only_the_damaged_row(
    tmp_path: Path, override: dict[str, str], column: str, rule: str, shown: str | None
) -> None:
    rows = [person(1), person(2, **override), person(3)]
    verdict, rejects = _validate(tmp_path, rows)
    assert not verdict.refused
    assert verdict.rejected_rows == 1
    assert rejects.select("line_number", "column_name", "rule", "value_masked").rows() == [(3, column, rule, shown)]
    assert rejects["source_file"].to_list() == ["register_20210129.csv"]


def test_duplicate_matricule_rejects_every_occurrence(tmp_path: Path) -> None:
    rows = [person(1), person(2), person(3, matricule=person(1)["matricule"])]
    _, rejects = _validate(tmp_path, rows)
    assert rejects.select("line_number", "rule").rows() == [(2, "duplicate_matricule"), (4, "duplicate_matricule")]


def test_missing_language_and_house_number_are_allowed(tmp_path: Path) -> None:
    verdict, rejects = _validate(tmp_path, [person(1, language="", house_number="")])
    assert (verdict.rejected_rows, rejects.height) == (0, 0)


def test_unknown_month_and_day_in_matricule_are_valid(tmp_path: Path) -> None:
    _, rejects = _validate(tmp_path, [person(1, matricule=matricule("19500000", 1), birth_date="1950-01-01")])
    assert rejects.height == 0


def test_missing_column_refuses_the_file_naming_it(tmp_path: Path) -> None:
    header = [c for c in REGISTER_HEADER if c != "postcode"]
    verdict, rejects = _validate(tmp_path, [person(1)], header=header)
    assert verdict.refused
    assert (
        "register_20210129.csv: column(s) postcode missing from the header [rule missing_column]"
        in (verdict.refusals[0])
    )
    assert rejects.height == 0  # row rules are not run on a refused file


def test_header_only_file_is_refused_as_empty(tmp_path: Path) -> None:
    verdict, _ = _validate(tmp_path, [])
    assert verdict.refusals == ("register_20210129.csv: no data rows [rule empty_file]",)


def test_zero_byte_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "register_20210129.csv").write_bytes(b"")
    extracted = [extract(f, tmp_path / "work") for f in find_landing_files(tmp_path / "landing", DAY)]
    [verdict] = validate_files(extracted, day=DAY, work_dir=tmp_path / "work", previous={}, max_row_change=0.05)
    rules = sorted(r.split("[rule ")[1].rstrip("]").split("]")[0] for r in verdict.refusals)
    assert rules == ["empty_file", "missing_column"]


def test_row_count_change_refused_unless_accepted(tmp_path: Path) -> None:
    rows = [person(i) for i in range(1, 11)]
    previous = {"register": Previous("register_20210128.csv", 100)}
    verdict, _ = _validate(tmp_path, rows, previous=previous)
    assert verdict.refusals == (
        "register_20210129.csv: 10 rows, -90.0% against the previous snapshot register_20210128.csv (100 rows), "
        "more than the allowed ±5% [rule row_count_change]; if the change is real, re-run with the param "
        "accept_row_count_change=true",
    )
    verdict, _ = _validate(tmp_path, rows, previous=previous, accept=True)
    assert not verdict.refused


def test_row_count_within_share_passes(tmp_path: Path) -> None:
    rows = [person(i) for i in range(1, 21)]
    verdict, _ = _validate(tmp_path, rows, previous={"register": Previous("register_20210128.csv", 20)})
    assert not verdict.refused


def test_data_docs_are_written_without_row_values(tmp_path: Path) -> None:
    secret = "Zebulonne"
    rows = [person(1, family_name=secret + "\x07"), person(2, family_name=secret, postcode="L-0000")]
    _validate(tmp_path, rows, docs=True)
    pages = list((tmp_path / "docs").rglob("*.html"))
    assert (tmp_path / "docs" / "index.html") in pages
    assert any("register.rows" in p.read_text() or "register/rows" in str(p) for p in pages)
    for page in pages:
        text = page.read_text()
        assert secret not in text
        assert person(1)["matricule"] not in text
