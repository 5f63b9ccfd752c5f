"""register_ingest end to end with dag.test() on generated populations with every kind of damage.

The quarantine must match the generator's truth file exactly (no valid row rejected, no defect missed),
every benign variant must be stored in its canonical form, nothing may be lost, and no log line, exception or
XCom value may carry a name, matricule or booking code of the files.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path

import duckdb
import pendulum
import polars as pl
import pytest
from conftest import SmtpSink, run_dag

from convoc.config import Settings
from convoc_dev.synth import generate
from convoc_dev.synth.defects import RULES

pytestmark = pytest.mark.slow

D1, D2 = date(2021, 1, 29), date(2021, 1, 30)
RESIDENTS = 6_000


@pytest.fixture(scope="module")
def dag(dagbag):  # type: ignore[no-untyped-def]
    return dagbag["register_ingest"]


def query(settings: Settings, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.sql(sql).pl()


def warehouse_state(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = [
            f"{s}.{t}"
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables order by 1, 2"
            ).fetchall()
        ]
        return {
            t: sorted(
                con.execute(
                    f"select * exclude (loaded_at) from {t}" if t == "raw.load_log" else f"select * from {t}"
                ).fetchall(),
                key=repr,
            )
            for t in tables
            if t != "audit.writer_fence"  # the attempts that wrote: Airflow's bookkeeping, not the data
        }


def test_every_damage_class_quarantined_every_variant_canonical_nothing_lost(dag, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    result = generate(residents=RESIDENTS, seed=7, out=settings.landing, start_date=D1, days=2, defects=0.01)
    assert run_dag(dag, D1) == "success"

    truth = pl.read_csv(settings.landing / "_truth" / "defects_20210129.csv", infer_schema=False)
    assert set(truth["rule"]) == set(RULES)  # every defect class is in this one register file
    assert {"malformed_row", "bad_encoding", "invisible_character", "too_long", "unprintable_character"} <= set(RULES)
    rejects = query(
        settings,
        "select source_file as file, line_number as line, column_name as column, rule from quarantine.register_rejects",
    )
    expected = truth.select("file", pl.col("line").cast(pl.Int64), "column", "rule")
    assert sorted(rejects.rows(), key=repr) == sorted(expected.rows(), key=repr)

    # Nothing lost: every record of the file is either staged or quarantined, none both.
    staged = query(settings, "select line_number from staging.register")["line_number"]
    quarantined = set(rejects["line"])
    assert not quarantined & set(staged)
    assert staged.len() + len(quarantined) == result.residents
    assert query(settings, "select rows, rejected_rows from raw.load_log where source = 'register'").rows() == [
        (result.residents, len(quarantined))
    ]
    assert query(settings, "select count(*) as n from core.dim_resident where is_current")["n"][0] == staged.len()

    # Benign variants are stored in their canonical form.
    variants = pl.read_csv(settings.landing / "_truth" / "variants_20210129.csv", infer_schema=False)
    assert variants.height >= 40 and set(variants["variant"]) == {
        "matricule_separators",
        "nfd_name",
        "inner_whitespace",
        "postcode_forms",
    }
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for _, line, column, variant, canonical in variants.rows():
            stored = con.execute(f"select {column} from staging.register where line_number = ?", [int(line)]).fetchall()
            assert stored == [(canonical,)], (line, variant)

    # No stored text anywhere in staging or core carries what the rules refuse.
    texts = query(
        settings,
        "select family_name || given_name || street || coalesce(house_number, '') || locality as t "
        "from core.dim_resident",
    )["t"]
    assert not texts.str.contains(r"[\p{Cc}\p{Cf}\p{Co}\p{Zl}\p{Zp}]").any()
    assert query(settings, "select max(length(street)) as n from core.dim_resident")["n"][0] <= 80
    assert (
        query(
            settings, "select count(*) as n from core.dim_resident where not regexp_full_match(matricule, '[0-9]{13}')"
        )["n"][0]
        == 0
    )

    # Priority rows are only quarantined when their resident's register row was.
    priority_rejects = query(
        settings,
        """
        select rule, count(*) as n from (
            select rule from quarantine.priority_carehomes_rejects union all
            select rule from quarantine.priority_healthworkers_rejects union all
            select rule from quarantine.priority_vulnerable_rejects union all
            select rule from quarantine.priority_conditions_rejects) group by rule""",
    )
    assert set(priority_rejects["rule"]) <= {"unknown_resident"}

    # The contact preferences: exactly the damaged rows quarantined, each with its rule; the rest versioned.
    contact_truth = pl.read_csv(result.contact_truth_files[0], infer_schema=False)
    assert contact_truth["rule"].n_unique() == 6
    contact_rejects = query(
        settings,
        "select source_file as file, line_number as line, column_name as column, rule "
        "from quarantine.contact_preferences_rejects",
    )
    expected_contacts = contact_truth.select("file", pl.col("line").cast(pl.Int64), "column", "rule")
    assert sorted(contact_rejects.rows(), key=repr) == sorted(expected_contacts.rows(), key=repr)
    declared = pl.read_csv(settings.landing / "contact_preferences_20210129.csv", infer_schema=False).height
    assert query(settings, "select count(*) as n from core.dim_contact_preference")["n"][0] == (
        declared - contact_truth.height
    )
    assert query(settings, "select count(*) as n from core.fct_priority_group")["n"][0] > RESIDENTS * 0.05

    assert list((settings.quality_docs / "20210129").glob("*/index.html"))
    assert not (settings.work / "register_ingest" / "20210129").exists()  # working copies removed

    assert run_dag(dag, D2) == "success"
    changed = query(settings, "select count(*) as n from core.dim_resident where valid_from = '2021-01-30'")["n"][0]
    assert changed > 0
    assert (
        query(
            settings,
            """select count(*) as n from (select resident_id from core.dim_resident where is_current
                              group by 1 having count(*) > 1)""",
        )["n"][0]
        == 0
    )

    before = warehouse_state(settings)
    assert run_dag(dag, D1) == "success"
    assert run_dag(dag, D2) == "success"
    assert warehouse_state(settings) == before


def _personal_values(landing: Path) -> set[str]:
    """Every matricule, name, street and booking code the day's files hold (distinctive enough to search for)."""
    values: set[str] = set()
    for path in landing.glob("*.csv"):
        text = path.read_bytes().decode("utf-8", "replace")
        values |= set(re.findall(r"(?<![0-9])[0-9]{13}(?![0-9])", text))  # matricules
        values |= set(re.findall(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", text))  # booking codes
        if path.name.startswith("register"):
            for row in text.splitlines()[1:]:
                fields = row.split(",")
                if len(fields) >= 6:
                    values |= {v for v in (fields[1], fields[2], fields[5]) if len(v) >= 6 and v.strip() == v}
    return values


def test_no_personal_value_in_any_log_exception_or_xcom(
    dag,  # type: ignore[no-untyped-def]
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    smtp_sink: SmtpSink,
) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from convoc.codes import make_code

    caplog.set_level(logging.DEBUG)
    generate(residents=2_000, seed=5, out=settings.landing, start_date=D1, days=2, defects=0.03)
    key = b"k" * 32
    codes = [make_code(f"vaccination:1:{i}:1", key) for i in range(4)]
    (settings.landing / "bookings_20210129.csv").write_text(
        "booking_code,booked_at,centre,slot,administered_at\n"
        f"{codes[0]},2021-01-28 10:15,victor_hugo,2021-02-02 09:30,\n"  # well-formed, issued to nobody
        f"{codes[1]},2021-01-28 10:15,victor_hugo\n"  # malformed
        f'"{codes[2]},2021-01-28 10:15,victor_hugo,2021-02-02 09:30,\n'  # broken quoting
        f"{codes[3].lower()},28/01/2021,nowhere,2021-02-02 09:30,\n"  # not canonical, bad date, unknown centre
    )
    assert run_dag(dag, D1) == "success"
    # The next day's register has lost its header: its first row is read as one, and the file is refused.
    register = settings.landing / "register_20210130.csv"
    register.write_bytes(b"\n".join(register.read_bytes().split(b"\n")[1:]))
    assert run_dag(dag, D2) == "failed"

    with create_session() as session:
        xcoms = [str(x.value) for x in session.query(XComModel).filter(XComModel.dag_id == "register_ingest")]
    # The failure alerted once, by e-mail to a real SMTP server: the DAG, the task, the day and the reason.
    [(_, mail)] = smtp_sink.messages
    assert mail["Subject"] == "[convoc] register_ingest.extract_and_validate_files failed for 2021-01-30"
    alert = mail.get_body(("html",)).get_content()
    assert "register_20210130.csv" in alert and "missing_column" in alert and "/dags/register_ingest/runs/" in alert
    out, err = capfd.readouterr()
    logs = "\n".join([caplog.text, out, err, *xcoms, str(mail)])
    assert "register_20210130.csv" in logs and "missing_column" in logs  # the refusal was reported…
    assert "malformed_row" in logs or "quarantined" in logs
    # A value as a word of its own (GX's debug log names an "AuroraDatasource": not a resident called Aurora).
    leaked = sorted(
        v
        for v in _personal_values(settings.landing) | set(codes)
        if re.search(rf"(?<![^\W_]){re.escape(v)}(?![^\W_])", logs)
    )
    assert leaked == []  # …and nothing personal with it


def test_refused_file_fails_the_run_and_param_accepts_it(dag, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    generate(residents=2_000, seed=3, out=settings.landing, start_date=D1, days=1)
    assert run_dag(dag, D1) == "success"
    # The next day's register lost a fifth of its rows.
    rows = (settings.landing / "register_20210129.csv").read_text().splitlines()
    (settings.landing / "register_20210130.csv").write_text("\n".join(rows[: int(len(rows) * 0.8)]) + "\n")
    assert run_dag(dag, D2) == "failed"
    assert query(settings, "select count(*) as n from staging.register where snapshot_date = '2021-01-30'")["n"][0] == 0
    assert run_dag(dag, D2, accept_row_count_change=True) == "success"
    assert query(settings, "select count(*) as n from staging.register where snapshot_date = '2021-01-30'")["n"][0] > 0


def test_day_without_files_is_skipped(dag, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    settings.landing.mkdir(parents=True)
    dag_run = dag.test(logical_date=pendulum.datetime(2021, 3, 1, tz="UTC"))
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["extract_and_validate_files"] == "skipped"


def test_a_file_still_being_written_is_retried_not_refused(dag, settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    generate(residents=500, seed=3, out=settings.landing, start_date=D1, days=1)
    monkeypatch.setenv("CONVOC_READY_MARKERS", "register")
    extract = dag.get_task("extract_and_validate_files")
    monkeypatch.setattr(extract, "retry_delay", timedelta(seconds=1))  # dag.test() waits out the delay
    dag_run = dag.test(logical_date=pendulum.datetime(2021, 1, 29, tz="UTC"))
    [ti] = [ti for ti in dag_run.get_task_instances() if ti.task_id == "extract_and_validate_files"]
    assert (str(ti.state), ti.try_number) == ("failed", 3)  # retried (not AirflowFailException), still not ready
    (settings.landing / "register_20210129.csv.done").write_text("")
    assert run_dag(dag, D1) == "success"
