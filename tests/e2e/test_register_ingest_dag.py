"""register_ingest end to end with dag.test() on a generated population with injected defects.

The quarantine must match the generator's truth file exactly: no valid row rejected, no defect missed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pendulum
import polars as pl
import pytest

from convoc.config import Settings
from convoc.synth import generate
from convoc.synth.defects import RULES

pytestmark = pytest.mark.slow

D1, D2 = date(2021, 1, 29), date(2021, 1, 30)
RESIDENTS = 6_000


@pytest.fixture(scope="module")
def dag(airflow_db: Path):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags")).dags["register_ingest"]


def run(dag, day: date, **conf: object) -> str:  # type: ignore[no-untyped-def]
    dag_run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, tz="UTC"), run_conf=conf or None)
    return str(dag_run.state)


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
        }


def test_quarantine_matches_truth_and_reruns_change_nothing(dag, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    result = generate(residents=RESIDENTS, seed=7, out=settings.landing, start_date=D1, days=2, defects=0.01)
    assert run(dag, D1) == "success"

    truth = pl.read_csv(settings.landing / "_truth" / "defects_20210129.csv")
    assert set(truth["rule"]) == set(RULES)  # every defect class was injected
    rejects = query(
        settings,
        "select source_file as file, line_number as line, column_name as column, rule from quarantine.register_rejects",
    )
    assert sorted(rejects.rows()) == sorted(truth.select("file", "line", "column", "rule").rows())

    register_rows = pl.read_csv(settings.landing / "register_20210129.csv", infer_schema=False).height
    staged = query(settings, "select count(*) as n from staging.register")["n"][0]
    assert staged == register_rows - truth["line"].n_unique()
    assert query(settings, "select count(*) as n from core.dim_resident where is_current")["n"][0] == staged

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
    assert query(settings, "select count(*) as n from core.fct_priority_group")["n"][0] > RESIDENTS * 0.05

    # Data Docs of the run
    assert list((settings.quality_docs / "20210129").glob("*/index.html"))

    assert run(dag, D2) == "success"
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
    assert run(dag, D1) == "success"
    assert run(dag, D2) == "success"
    assert warehouse_state(settings) == before
    assert result.residents == register_rows


def test_refused_file_fails_the_run_and_param_accepts_it(dag, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    generate(residents=2_000, seed=3, out=settings.landing, start_date=D1, days=1)
    assert run(dag, D1) == "success"
    # The next day's register lost a fifth of its rows.
    rows = (settings.landing / "register_20210129.csv").read_text().splitlines()
    (settings.landing / "register_20210130.csv").write_text("\n".join(rows[: int(len(rows) * 0.8)]) + "\n")
    assert run(dag, D2) == "failed"
    assert query(settings, "select count(*) as n from staging.register where snapshot_date = '2021-01-30'")["n"][0] == 0
    assert run(dag, D2, accept_row_count_change=True) == "success"
    assert query(settings, "select count(*) as n from staging.register where snapshot_date = '2021-01-30'")["n"][0] > 0


def test_day_without_files_is_skipped(dag, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    settings.landing.mkdir(parents=True)
    dag_run = dag.test(logical_date=pendulum.datetime(2021, 3, 1, tz="UTC"))
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["extract_files"] == "skipped"
