"""The ingest stage against a real DuckDB file: publish, quarantine, refuse, and re-run idempotently."""

from __future__ import annotations

import csv
import hashlib
import os
import stat
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import REGISTER_HEADER, person, write_register

from convoc import ingest
from convoc.config import Settings
from convoc.errors import ConvocError, FileRefused, NoLandingFiles

LEGACY_COLUMNS = (
    "invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, booking_code, valid_from, "
    "valid_until, centre, language"
)
"""The invitation columns these rows give (channel and format take their defaults: paper, standard)."""

DAY = date(2021, 1, 29)


def _run(settings: Settings, day: date = DAY, accept: bool = False) -> list[ingest.Loaded]:
    extracted = ingest.extract_day(settings, day)
    verdicts = ingest.validate_day(settings, extracted, day, accept_row_count_change=accept)
    return ingest.load_day(settings, extracted, verdicts, day)


def _register(settings: Settings, rows: list[dict[str, str]], day: date = DAY, **kw: object) -> Path:
    return write_register(settings.landing / f"register_{day:%Y%m%d}.csv", rows, **kw)  # type: ignore[arg-type]


def _snapshot(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    tables = [
        "raw.register",
        "raw.load_log",
        "staging.register",
        "core.dim_resident",
        "quarantine.register_rejects",
        "core.fct_priority_group",
        "staging.priority_group",
        "quarantine.priority_vulnerable_rejects",
    ]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in tables}


def _query(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_valid_rows_published_and_bad_rows_quarantined(settings: Settings) -> None:
    _register(settings, [person(1), person(2, postcode="L-0000"), person(3)])
    [loaded] = _run(settings)
    assert (loaded.rows, loaded.staged_rows, loaded.rejected_rows) == (3, 2, 1)
    assert _query(settings, "select line_number, rule from quarantine.register_rejects") == [(3, "unknown_postcode")]
    assert _query(settings, "select count(*) from staging.register") == [(2,)]
    assert _query(settings, "select resident_id, canton, is_current from core.dim_resident order by 1") == [
        (1, "Luxembourg", True),
        (2, "Luxembourg", True),
    ]
    assert _query(settings, "select file_name, rows, rejected_rows, encoding from raw.load_log") == [
        ("register_20210129.csv", 3, 1, "utf-8")
    ]


def test_loading_the_same_file_again_changes_nothing(settings: Settings) -> None:
    _register(settings, [person(1), person(2, birth_date="2030-01-01"), person(3)])
    _run(settings)
    before = _snapshot(settings)
    [loaded] = _run(settings)
    assert loaded.already_loaded
    assert _snapshot(settings) == before


def test_warehouse_is_private(settings: Settings) -> None:
    _register(settings, [person(1)])
    _run(settings)
    assert stat.S_IMODE(os.stat(settings.warehouse).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(settings.warehouse.parent).st_mode) == 0o700


def test_no_files_for_the_day(settings: Settings) -> None:
    with pytest.raises(NoLandingFiles, match=r"no landing file for 2021-01-29 .*register_20210129\.csv"):
        ingest.extract_day(settings, DAY)


def test_a_marker_setting_naming_no_source_is_refused(convoc_home: Path) -> None:
    with pytest.raises(ConvocError, match="CONVOC_READY_MARKERS names no source: regsiter"):
        ingest.extract_day(
            Settings.from_env({"CONVOC_HOME": str(convoc_home), "CONVOC_READY_MARKERS": "regsiter"}), DAY
        )


def test_refused_file_publishes_nothing_and_previous_snapshot_stays_current(settings: Settings) -> None:
    _register(settings, [person(i) for i in range(1, 21)])
    _run(settings)
    before = _snapshot(settings)
    next_day = DAY + timedelta(days=1)
    # The next day's extract lost a column and most rows: both are named, nothing is written.
    _register(
        settings, [person(i) for i in range(1, 5)], day=next_day, header=[c for c in REGISTER_HEADER if c != "commune"]
    )
    with pytest.raises(FileRefused) as err:
        _run(settings, next_day)
    assert "register_20210130.csv: column(s) commune missing" in str(err.value)
    assert "Data Docs:" in str(err.value)
    assert _snapshot(settings) == before


def test_row_count_change_accepted_once_by_param(settings: Settings) -> None:
    _register(settings, [person(i) for i in range(1, 21)])
    _run(settings)
    next_day = DAY + timedelta(days=1)
    _register(settings, [person(i) for i in range(1, 11)], day=next_day)
    with pytest.raises(FileRefused, match=r"10 rows, -50.0% against the previous snapshot register_20210129.csv"):
        _run(settings, next_day)
    _run(settings, next_day, accept=True)
    assert _query(settings, "select count(*) from staging.register where snapshot_date = '2021-01-30'") == [(10,)]


def test_address_change_opens_a_new_version(settings: Settings) -> None:
    _register(settings, [person(1), person(2)])
    _run(settings)
    next_day = DAY + timedelta(days=1)
    _register(
        settings,
        [person(1), person(2, street="route d'Arlon", postcode="L-8209", locality="Mamer", commune="Mamer")],
        day=next_day,
    )
    _run(settings, next_day)
    rows = _query(
        settings,
        "select resident_id, street, canton, valid_from, valid_to, is_current "
        "from core.dim_resident order by resident_id, valid_from",
    )
    assert rows == [
        (1, "rue de la Gare", "Luxembourg", DAY, None, True),
        (2, "rue de la Gare", "Luxembourg", DAY, next_day, False),
        (2, "route d'Arlon", "Capellen", next_day, None, True),
    ]


def test_quarantined_resident_keeps_current_version(settings: Settings) -> None:
    _register(settings, [person(1), person(2)])
    _run(settings)
    next_day = DAY + timedelta(days=1)
    _register(settings, [person(1), person(2, street="route d'Arlon", postcode="L-0000")], day=next_day)
    _run(settings, next_day)
    assert _query(settings, "select resident_id, street, is_current from core.dim_resident order by 1") == [
        (1, "rue de la Gare", True),
        (2, "rue de la Gare", True),
    ]


def test_priority_list_checked_against_the_register(settings: Settings) -> None:
    _register(settings, [person(1), person(2)])
    known, unknown = person(1)["matricule"], person(9)["matricule"]
    (settings.landing / "priority_vulnerable_20210129.csv").write_text(
        "matricule,level,condition,registered_on,doctor_code\n"
        f"{known},high,dialysis,2021-01-10,D123456\n"
        f"{unknown},significant,copd,2021-01-11,D123456\n"
        f"{known},extreme,copd,2021-01-11,D123456\n"
    )
    loaded = _run(settings)
    assert [(x.source, x.staged_rows, x.rejected_rows) for x in loaded] == [
        ("register", 2, 0),
        ("priority_vulnerable", 1, 2),
    ]
    assert _query(
        settings, "select line_number, rule, value_masked from quarantine.priority_vulnerable_rejects order by 1"
    ) == [(3, "unknown_resident", "9999999999999"), (4, "invalid_value", "extreme")]
    assert _query(settings, "select resident_id, group_code, detail from core.fct_priority_group") == [
        (1, "vulnerable_high", "dialysis")
    ]


@pytest.mark.parametrize(
    ("encoding", "newline"), [("latin-1", "\n"), ("utf-8-sig", "\r\n"), ("cp1252", "\r\n")], ids=str
)
def test_other_encodings_are_loaded_not_rejected(settings: Settings, encoding: str, newline: str) -> None:
    names = ["Gonçalves", "Müller", "Lefèvre", "Ibáñez"]
    _register(
        settings, [person(i, family_name=n) for i, n in enumerate(names, start=1)], encoding=encoding, newline=newline
    )
    [loaded] = _run(settings)
    assert (loaded.staged_rows, loaded.rejected_rows) == (4, 0)
    assert _query(settings, "select family_name, status from staging.register order by line_number") == [
        (n, "resident") for n in names
    ]
    # The load log's SHA-256 is of the exact bytes read, whatever their encoding and line ends.
    expected_sha = hashlib.sha256((settings.landing / "register_20210129.csv").read_bytes()).hexdigest()
    assert _query(settings, "select encoding, sha256 from raw.load_log") == [
        (encoding.replace("latin-1", "cp1252"), expected_sha)
    ]


def _invite(settings: Settings, code: str) -> None:
    """Resident 1's invitation vaccination:1:1:1 under ``code``, as the waves would have written it."""
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "insert into core.fct_invitation ("
            + LEGACY_COLUMNS
            + ") values ('vaccination:1:1:1', 1, 'vaccination', 1, 1, date '2021-01-29', "
            "'2a', $c, date '2021-01-30', date '2021-02-12', 'victor_hugo', 'pt')",
            {"c": code},
        )


def test_bookings_feed_loads_known_codes_and_quarantines_the_rest(settings: Settings) -> None:
    from convoc.codes import make_code

    _register(settings, [person(1)])
    _run(settings)
    key = b"k" * 32
    known, forged = make_code("vaccination:1:1:1", key), make_code("vaccination:1:999:1", key)
    _invite(settings, known)
    day = DAY + timedelta(days=1)
    mistyped = known[:-1] + ("0" if known[-1] != "0" else "1")
    (settings.landing / "bookings_20210130.csv").write_text(
        "booking_code,booked_at,centre,slot,administered_at\n"
        f"{known},2021-01-29 10:15,victor_hugo,2021-02-02 09:30,\n"
        f"{forged},2021-01-29 11:00,victor_hugo,2021-02-02 10:00,\n"
        f"{mistyped},2021-01-29 11:00,victor_hugo,2021-02-02 10:00,\n"
        f"{known.lower()},2021-01-29 11:00,victor_hugo,2021-02-02 10:00,\n"
        f"{make_code('x', key)},29/01/2021,nowhere,2021-02-02 10:00,\n"
    )
    _register(settings, [person(1)], day=day)
    loaded = {x.source: x for x in _run(settings, day)}
    assert (loaded["bookings"].staged_rows, loaded["bookings"].rejected_rows) == (1, 4)
    assert _query(settings, "select line_number, rule from quarantine.bookings_rejects order by 1, 2") == [
        (3, "unknown_code"), (4, "invalid_code"), (5, "invalid_code"), (6, "booked_at_unparseable"),
        (6, "unknown_centre")]  # fmt: skip
    assert _query(settings, "select invitation_id, booked_at, administered_at from core.fct_booking") == [
        ("vaccination:1:1:1", datetime(2021, 1, 29, 10, 15), None)
    ]
    # the same booking seen again with its dose administered replaces the first row
    (settings.landing / "bookings_20210203.csv").write_text(
        "booking_code,booked_at,centre,slot,administered_at\n"
        f"{known},2021-01-29 10:15,victor_hugo,2021-02-02 09:30,2021-02-02 09:41\n"
    )
    _run(settings, date(2021, 2, 3))
    assert _query(settings, "select count(*), max(administered_at) from core.fct_booking") == [
        (1, datetime(2021, 2, 2, 9, 41))
    ]


def test_empty_bookings_file_is_normal(settings: Settings) -> None:
    _register(settings, [person(1)])
    (settings.landing / "bookings_20210129.csv").write_text("booking_code,booked_at,centre,slot,administered_at\n")
    loaded = {x.source: x for x in _run(settings)}
    assert loaded["bookings"].rows == 0


# --- the front door: what is validated is what is stored, nothing else is kept ------------------------------


def test_every_column_stored_is_exactly_the_value_validated(settings: Settings) -> None:
    """Each column's value in staging equals the normalised value validation saw, cast and nothing else."""
    m = person(1)["matricule"]
    rows = [
        person(
            1, matricule=f"{m[:4]} {m[4:8]} {m[8:11]} {m[11:]}", family_name=" Zoe\u0308 ", street="rue\tde  la Gare"
        ),
        person(2, postcode="l 1009", given_name="Anne\u00a0Marie", house_number=" 12A ", language=""),
        person(3, locality="Luxembourg ", commune=" Luxembourg", nationality=" PT"),
    ]
    _register(settings, rows)
    extracted = ingest.extract_day(settings, DAY)
    verdicts = ingest.validate_day(settings, extracted, DAY)
    validated = pl.read_parquet(extracted[0].parquet)  # what GX checked
    ingest.load_day(settings, extracted, verdicts, DAY)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        staged = con.sql("select * from staging.register order by line_number").pl()
    assert staged["line_number"].to_list() == validated["_line"].to_list() == [2, 3, 4]
    for column in REGISTER_HEADER:
        stored = staged[column].cast(pl.String).to_list()
        assert stored == validated[column].to_list(), column
    assert staged["matricule"][0] == m
    assert staged["family_name"][0] == "Zoë" and staged["street"][0] == "rue de la Gare"
    assert staged["postcode"][1] == "L-1009" and staged["given_name"][1] == "Anne Marie"


def test_every_source_stores_raw_exactly_the_values_validated(settings: Settings) -> None:
    """Every landing file of a generated day, damaged rows included: each row that passed is stored in its raw table
    with, column for column, the value validation judged — nothing transformed in between."""
    from convoc_dev.synth import generate

    generate(residents=1500, seed=11, out=settings.landing, start_date=DAY, days=1, defects=0.02)
    extracted = ingest.extract_day(settings, DAY)
    verdicts = {v.file_name: v for v in ingest.validate_day(settings, extracted, DAY)}
    validated = {ex.file_name: pl.read_parquet(ex.parquet) for ex in extracted}  # what GX checked
    rejected = {name: pl.read_parquet(v.rejects)["line_number"].unique().to_list() for name, v in verdicts.items()}
    ingest.load_day(settings, extracted, list(verdicts.values()), DAY)  # the working copies go
    assert len(extracted) == 6
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for ex in extracted:
            passed = validated[ex.file_name].filter(~pl.col("_line").is_in(rejected[ex.file_name])).sort("_line")
            cols = ", ".join(f'"{c}"' for c in ex.columns)
            stored = con.sql(
                f"select _line, {cols} from {ex.spec.raw_table} where _file = $f order by _line",
                params={"f": ex.file_name},
            ).pl()
            assert passed.height > 0 and stored.height == passed.height, ex.file_name
            for column in ("_line", *ex.columns):
                assert stored[column].to_list() == passed[column].to_list(), (ex.file_name, column)


def test_the_same_person_typed_two_ways_is_one_resident(settings: Settings) -> None:
    m = person(1)["matricule"]
    _register(settings, [person(1), person(2)])
    _run(settings)
    next_day = DAY + timedelta(days=1)
    _register(settings, [person(1, matricule=f"{m[:4]}.{m[4:8]}.{m[8:]}"), person(2)], day=next_day)
    _run(settings, next_day)
    assert _query(
        settings, "select resident_id, matricule, valid_from, is_current from core.dim_resident order by resident_id"
    ) == [
        (1, m, DAY, True),
        (2, person(2)["matricule"], DAY, True),
    ]


def test_values_that_once_made_a_check_raise_are_quarantined_not_loaded(settings: Settings) -> None:
    arabic = person(2)["matricule"].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    _register(
        settings,
        [
            person(1),
            person(2, matricule=arabic),
            person(3, matricule="1950031400x73"),
            person(4, birth_date="１９５０-03-14"),
        ],
    )
    [loaded] = _run(settings)
    assert (loaded.staged_rows, loaded.rejected_rows) == (1, 3)
    assert _query(settings, "select line_number, rule from quarantine.register_rejects order by 1") == [
        (3, "matricule_check_digit"),
        (4, "matricule_check_digit"),
        (5, "birth_date_unparseable"),
    ]
    assert _query(settings, "select count(*) from raw.register") == [(1,)]  # refused rows are not stored at all


def test_working_copies_are_private_and_removed_after_the_load(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(settings, [person(1), person(2, family_name="Gon\u200bçalves")])
    extracted = ingest.extract_day(settings, DAY)
    work = ingest.work_dir(settings, DAY)
    assert stat.S_IMODE(os.stat(work).st_mode) == 0o700
    assert {stat.S_IMODE(os.stat(p).st_mode) for p in work.iterdir()} == {0o600}
    verdicts = ingest.validate_day(settings, extracted, DAY)
    docs = [p for p in settings.quality_docs.rglob("*") if p.is_file()]
    assert docs and {stat.S_IMODE(os.stat(p).st_mode) for p in docs} == {0o600}
    ingest.load_day(settings, extracted, verdicts, DAY)
    assert not work.exists()
    # a retry of the load after the copies went finds the day loaded and changes nothing
    before = _snapshot(settings)
    assert [x.already_loaded for x in ingest.load_day(settings, extracted, verdicts, DAY)] == [True]
    assert _snapshot(settings) == before
    monkeypatch.setenv("CONVOC_KEEP_WORK", "1")
    kept = Settings.from_env()
    _run(kept)
    assert sorted(p.name for p in ingest.work_dir(kept, DAY).iterdir()) == [
        "register.lines.parquet",
        "register.parquet",
        "register.rejects.parquet",
    ]


BAD = person(4)["matricule"][:-1] + str((int(person(4)["matricule"][-1]) + 1) % 10)


def test_register_team_gets_the_rejected_rows_in_a_safe_private_csv(settings: Settings) -> None:
    _register(
        settings,
        [
            person(1),
            person(2, family_name="王小明"),
            person(3, locality="=SUM(A1)\u200b"),
            person(4, matricule=BAD),
        ],
    )
    _run(settings)
    path = ingest.register_checks_path(settings, DAY)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["line"], r["matricule"], r["column_name"], r["rule"]) for r in rows] == [
        ("3", person(2)["matricule"], "family_name", "unprintable_character"),
        ("4", person(3)["matricule"], "locality", "invisible_character"),
        ("5", "", "matricule", "matricule_check_digit"),  # an invalid matricule is not repeated
    ]
    assert (
        rows[0]["detail"] == "U+738B CJK UNIFIED IDEOGRAPH-738B; U+5C0F CJK UNIFIED IDEOGRAPH-5C0F; "
        "U+660E CJK UNIFIED IDEOGRAPH-660E"
    )
    assert rows[1]["value_masked"] == "'=SUM(A1)\\u200b"  # a formula never reaches a spreadsheet as one
    assert BAD not in path.read_text()


def test_a_warehouse_error_is_reported_without_the_value_it_quotes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(settings, [person(1)])
    extracted = ingest.extract_day(settings, DAY)
    verdicts = ingest.validate_day(settings, extracted, DAY)
    real = ingest.warehouse.run_script

    def failing(con, relpath, params=None):  # type: ignore[no-untyped-def]
        if "dim_resident" in relpath:
            raise duckdb.ConversionException('Conversion Error: date field value out of range: "Gonçalves"')
        return real(con, relpath, params)

    monkeypatch.setattr(ingest.warehouse, "run_script", failing)
    with pytest.raises(ConvocError) as err:
        ingest.load_day(settings, extracted, verdicts, DAY)
    assert "Gonçalves" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert "(ConversionException); nothing was published" in str(err.value)
    assert _query(settings, "select count(*) from staging.register") == [(0,)]


def test_bookings_and_priority_values_stored_are_the_values_validated(settings: Settings) -> None:
    from convoc.codes import make_code

    _register(settings, [person(1), person(2)])
    (settings.landing / "priority_vulnerable_20210129.csv").write_text(
        "matricule,level,condition,registered_on,doctor_code\n"
        f" {person(1)['matricule'][:4]} {person(1)['matricule'][4:]},high, dialysis  weekly ,2021-01-10 , D123456\n"
    )
    _run(settings)
    code = make_code("vaccination:1:1:1", b"k" * 32)
    _invite(settings, code)
    day = DAY + timedelta(days=1)
    _register(settings, [person(1), person(2)], day=day)
    (settings.landing / "bookings_20210130.csv").write_text(
        "booking_code,booked_at,centre,slot,administered_at\n"
        f" {code} ,2021-01-29 10:15, victor_hugo,2021-02-02 09:30 ,\n"
    )
    extracted = ingest.extract_day(settings, day)
    verdicts = ingest.validate_day(settings, extracted, day)
    validated = {ex.source: pl.read_parquet(ex.parquet) for ex in extracted}
    ingest.load_day(settings, extracted, verdicts, day)
    booking = validated["bookings"].row(0, named=True)
    assert _query(settings, "select booking_code, booked_at, centre, slot, administered_at from staging.booking") == [
        (
            booking["booking_code"],
            datetime.strptime(booking["booked_at"], "%Y-%m-%d %H:%M"),
            booking["centre"],
            datetime.strptime(booking["slot"], "%Y-%m-%d %H:%M"),
            booking["administered_at"],
        )
    ]
    assert booking["booking_code"] == code and booking["centre"] == "victor_hugo"
    assert _query(settings, "select matricule, group_code, detail, registered_on from staging.priority_group") == [
        (person(1)["matricule"], "vulnerable_high", "dialysis weekly", date(2021, 1, 10))
    ]
