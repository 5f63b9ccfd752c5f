"""Row rules quarantine exactly the damaged row under the named rule; file rules refuse the file; a check that
cannot run refuses the file, never passes it."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import REGISTER_HEADER, matricule, person, write_register

from convoc.quality import conditions
from convoc.quality.validate import Previous, Verdict, validate_files
from convoc.sources.extract import extract, find_landing_files

DAY = date(2021, 1, 29)
GOOD = matricule("19500314", 7)
BAD_CHECK = GOOD[:-1] + str((int(GOOD[-1]) + 1) % 10)
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


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


# (override, column, rule, value as shown in the quarantine); the person's matricule varies by row.
CASES = [
    ({"matricule": BAD_CHECK}, "matricule", "matricule_check_digit", "9999999999999"),
    ({"matricule": "1950031400"}, "matricule", "matricule_check_digit", "9999999999"),
    # non-ASCII digits: a check that raised on them once passed every bad matricule of the file
    ({"matricule": GOOD.translate(ARABIC)}, "matricule", "matricule_check_digit", "9999999999999"),
    ({"matricule": GOOD.translate(FULLWIDTH)}, "matricule", "matricule_check_digit", "9999999999999"),
    ({"matricule": GOOD[:6] + "O" + GOOD[7:]}, "matricule", "matricule_check_digit", "999999X999999"),
    ({"birth_date": "31/02/1950"}, "birth_date", "birth_date_unparseable", "99/99/9999"),
    ({"birth_date": "1950-02-31"}, "birth_date", "birth_date_unparseable", "9999-99-99"),
    ({"birth_date": "1950-03-14".translate(ARABIC)}, "birth_date", "birth_date_unparseable", "9999-99-99"),
    ({"birth_date": "2021-01-30"}, "birth_date", "birth_date_future", "9999-99-99"),
    ({"birth_date": "1850-03-14"}, "birth_date", "birth_date_too_early", "9999-99-99"),
    ({"postcode": "L-0000"}, "postcode", "unknown_postcode", "L-0000"),
    ({"postcode": "D-1009"}, "postcode", "unknown_postcode", "D-1009"),
    ({"postcode": "L-1009".translate(ARABIC)}, "postcode", "unknown_postcode", "L-١٠٠٩"),
    ({"commune": "Luxemburg-Stadt"}, "commune", "unknown_commune", "Luxemburg-Stadt"),
    ({"family_name": ""}, "family_name", "missing_required", None),
    ({"status": ""}, "status", "missing_required", None),
    ({"given_name": "Jo\x07ão"}, "given_name", "control_character", "Xx\\x07xx"),
    ({"family_name": "Mül\x1bler"}, "family_name", "control_character", "Xxx\\x1bxxx"),
    ({"street": "rue de la\nGare"}, "street", "control_character", "xxx xx xx\\x0aXxxx"),
    ({"given_name": "Anne\u2028Marie"}, "given_name", "control_character", "Xxxx\\u2028Xxxxx"),
    ({"family_name": "Mül\u200bler"}, "family_name", "invisible_character", "Xxx\\u200bxxx"),
    ({"given_name": "In\u202eês"}, "given_name", "invisible_character", "Xx\\u202exx"),
    ({"street": "rue\ue000 Haute"}, "street", "invisible_character", "xxx\\ue000 Xxxxx"),
    ({"family_name": "Παπαδόπουλος"}, "family_name", "unprintable_character", "Xxxxxxxxxxxx"),
    ({"given_name": "王小明"}, "given_name", "unprintable_character", "xxx"),
    ({"street": "שדרות רוטשילד"}, "street", "unprintable_character", "xxxxx xxxxxxx"),
    # NFC makes u + acute one letter; three diacritics stacked on it remain
    ({"locality": "Lu\u0301\u0301\u0301\u0301x"}, "locality", "unprintable_character", "L\u00fa\u0301\u0301\u0301x"),
    ({"family_name": "X" * 61}, "family_name", "too_long", "X" * 61),
    ({"street": "r" * 20_000}, "street", "too_long", "x" * 64 + "…"),
    ({"house_number": "12345678901"}, "house_number", "too_long", "99999999999"),
    ({"status": "alive"}, "status", "invalid_value", "alive"),
    ({"sex": "f"}, "sex", "invalid_value", "f"),
    ({"language": "FR"}, "language", "invalid_value", "FR"),
    ({"nationality": "Luxembourgish"}, "nationality", "invalid_value", "Luxembourgish"),
]
DETAILS = {
    "family_name/unprintable_character": "U+03A0 GREEK CAPITAL LETTER PI; U+03B1 GREEK SMALL LETTER ALPHA; "
    "U+03C0 GREEK SMALL LETTER PI",
    "family_name/invisible_character": "U+200B ZERO WIDTH SPACE",
    "street/too_long": "20000 characters (at most 80)",
    "family_name/too_long": "61 characters (at most 60)",
}


# The physical line of each case: after the header and a good row, one line per row, and one more after a
# value with a line break (the CSV writer quotes it; the record spans two lines).
LINES = [3 + k + sum(v.count("\n") for c in CASES[:k] for v in c[0].values()) for k in range(len(CASES))]


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Verdict, pl.DataFrame]:
    """One register file: a good row, then one row per case, then a good row; validated once."""
    rows = [person(1)]
    for k, (override, *_) in enumerate(CASES):
        rows.append(person(100 + k, **({"matricule": matricule("19500314", 100 + k)} | override)))
    rows.append(person(2))
    return _validate(tmp_path_factory.mktemp("damaged"), rows)


@pytest.mark.parametrize(("case", "expected"), list(enumerate(CASES)), ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_each_row_rule_quarantines_only_the_damaged_row(
    damaged: tuple[Verdict, pl.DataFrame], case: int, expected: tuple[dict[str, str], str, str, str | None]
) -> None:
    _, column, rule, shown = expected
    _, rejects = damaged
    found = rejects.filter(pl.col("line_number") == LINES[case])
    assert found.select("column_name", "rule", "value_masked").rows() == [(column, rule, shown)]
    assert found["source_file"].to_list() == ["register_20210129.csv"]
    if f"{column}/{rule}" in DETAILS:
        assert found["detail"].to_list() == [DETAILS[f"{column}/{rule}"]]


def test_good_rows_of_the_damaged_file_pass(damaged: tuple[Verdict, pl.DataFrame]) -> None:
    verdict, rejects = damaged
    assert not verdict.refused
    assert verdict.rejected_rows == len(CASES)
    assert set(rejects["line_number"]) == set(LINES)  # line 2 and the last are clean


def test_duplicate_matricule_rejects_every_occurrence_on_the_canonical_form(tmp_path: Path) -> None:
    m = person(1)["matricule"]
    rows = [person(1), person(2), person(3, matricule=f"{m[:4]} {m[4:8]} {m[8:11]} {m[11:]}")]
    _, rejects = _validate(tmp_path, rows)
    assert rejects.select("line_number", "rule").rows() == [(2, "duplicate_matricule"), (4, "duplicate_matricule")]


def test_missing_language_and_house_number_are_allowed(tmp_path: Path) -> None:
    verdict, rejects = _validate(tmp_path, [person(1, language="", house_number="")])
    assert (verdict.rejected_rows, rejects.height) == (0, 0)


def test_unknown_month_and_day_in_matricule_are_valid(tmp_path: Path) -> None:
    _, rejects = _validate(tmp_path, [person(1, matricule=matricule("19500000", 1), birth_date="1950-01-01")])
    assert rejects.height == 0


# --- a check that cannot run is a failure -----------------------------------------------------------------


def test_a_check_that_raises_refuses_the_file_without_quoting_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(values: pl.Series) -> pl.Series:
        raise ValueError(f"invalid literal for int(): {values[0]!r}")  # an error that quotes a value

    monkeypatch.setattr(conditions, "is_matricule", broken)
    verdict, rejects = _validate(tmp_path, [person(1), person(2, matricule=BAD_CHECK)])
    assert verdict.refusals == (
        "register_20210129.csv: check matricule_check_digit on column matricule could not be evaluated "
        "(it raised) [rule check_failed]",
    )
    assert rejects.height == 0
    assert person(1)["matricule"] not in " ".join(verdict.refusals)


def test_a_check_that_returns_no_result_refuses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import great_expectations as gx

    run = gx.ValidationDefinition.run

    def dropping(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = run(self, *args, **kwargs)
        result.results = [r for r in result.results if r.expectation_config.meta["rule"] != "unknown_postcode"]
        return result

    monkeypatch.setattr(gx.ValidationDefinition, "run", dropping)
    verdict, _ = _validate(tmp_path, [person(1), person(2, postcode="L-0000")])
    assert verdict.refusals == ("register_20210129.csv: check unknown_postcode returned no result [rule check_failed]",)


# --- file rules -----------------------------------------------------------------------------------------------


def test_missing_column_refuses_the_file_naming_it(tmp_path: Path) -> None:
    header = [c for c in REGISTER_HEADER if c != "postcode"]
    verdict, rejects = _validate(tmp_path, [person(1)], header=header)
    assert verdict.refused
    assert (
        "register_20210129.csv: column(s) postcode missing from the header [rule missing_column]"
        in (verdict.refusals[0])
    )
    assert rejects.height == 0  # rows of a refused file are not listed


def test_file_without_header_is_refused_with_a_hint_and_no_value(tmp_path: Path) -> None:
    path = write_register(tmp_path / "landing" / "register_20210129.csv", [person(1), person(2)])
    path.write_text("\n".join(path.read_text().splitlines()[1:]) + "\n")
    extracted = [extract(f, tmp_path / "work") for f in find_landing_files(tmp_path / "landing", DAY)]
    [verdict] = validate_files(extracted, day=DAY, work_dir=tmp_path / "work", previous={}, max_row_change=0.05)
    assert "is the header line missing?" in verdict.refusals[0]
    assert "Gonçalves" not in " ".join(verdict.refusals)
    assert person(1)["matricule"] not in " ".join(verdict.refusals)


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
    # The run's results and their index (convoc.quality.docs): each expectation of the suite is on the file's page.
    [results] = [p for p in pages if "validations" in p.parts and "register" in p.parts]
    assert sorted(pages) == sorted([tmp_path / "docs" / "index.html", results])
    assert "expect_columns_to_be_printable_on_letters" in results.read_text()
    for page in pages:
        text = page.read_text()
        assert secret not in text
        assert person(1)["matricule"] not in text


def test_data_docs_templates_are_compiled_once_and_cached_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2

    from convoc.quality import docs

    _validate(tmp_path / "first", [person(1)], docs=True)  # the cache holds GX's templates from now on
    compiled: list[str | None] = []
    real = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        compiled.append(name)
        return real(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    _validate(tmp_path / "second", [person(1)], docs=True)
    assert (tmp_path / "second" / "docs" / "index.html").exists()
    assert compiled == []  # every page rendered from the cached templates
    folder = Path(docs._bytecode_cache().directory)
    assert folder.stat().st_uid == os.getuid()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_data_docs_are_written_when_the_template_cache_cannot_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import jinja2

    from convoc.quality import docs

    def unusable(self, directory=None, pattern="x"):  # type: ignore[no-untyped-def]
        raise RuntimeError("Short-circuiting: the cache folder is another user's")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "__init__", unusable)
    docs._bytecode_cache.cache_clear()
    try:
        _validate(tmp_path, [person(1)], docs=True)
    finally:
        docs._bytecode_cache.cache_clear()
    assert (tmp_path / "docs" / "index.html").exists()
    assert "templates compiled without a cache (Short-circuiting" in caplog.text


def test_a_validation_run_that_fails_refuses_the_file_naming_only_the_error_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import great_expectations as gx

    def failing(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot handle value 'Gonçalves'")

    monkeypatch.setattr(gx.ValidationDefinition, "run", failing)
    verdict, rejects = _validate(tmp_path, [person(1)])
    assert verdict.refusals == ("register_20210129.csv: validation could not run (RuntimeError) [rule check_failed]",)
    assert rejects.height == 0
