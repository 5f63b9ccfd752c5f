"""
## dispatch_stats

Builds the analysts' marts from the warehouse only, checks them, and publishes the read-only copy analysts
query. `build_marts` refreshes `marts.fct_dispatch_daily` (wave day × campaign × dose × canton × commune ×
age band × language × phase: invited, printed, mailed, returned, booked, vaccinated, reprinted),
`marts.fct_postage_daily` (letters mailed and postage by mailing day, price by date from
`convoc/stats/postage.yaml`), `marts.fct_returns_by_reason` and `marts.fct_print_spoilage` for every day up to
the run's day, and the day's snapshot of `marts.fct_campaign_progress` (cumulative coverage by age band and
canton against the eligible population). `reconcile` (read-only) fails the run loudly, naming each violated
rule with its numbers: invited = sum of dispatch rows; mailed ≤ printed ≤ invited + reprints; booked ≤
invited; every mailed piece belongs to exactly one invitation. `publish` copies the marts into
`var/warehouse/published/convoc.duckdb` atomically (written aside, fsynced, renamed), so analysts' queries
(`make sql`) never block, nor wait for, the pipeline. `render_reports` renders the summary report from that
copy: daily, and weekly on Sundays and on the last day of data, in French and English, under
`var/reports/summary/` (every count under 5 people suppressed).

Runs for each day `print_handoff` publishes (same partition key); backfillable. Idempotent: a run replaces
the rows of the days it covers, and given the same warehouse any order of days yields the same marts.
Marts hold counts only — no names, addresses, matricules or booking codes. See `docs/warehouse.md`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, PartitionedAssetTimetable, dag, get_current_context, task

from convoc.runtime import HANDOFF_ASSET, MARTS_ASSET


@dag(
    schedule=PartitionedAssetTimetable(assets=Asset(HANDOFF_ASSET)),
    start_date=pendulum.datetime(2021, 1, 29, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "convoc", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={"day": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD, manual runs")},
    tags=["convoc", "stats"],
    doc_md=__doc__,
)
def dispatch_stats() -> None:
    @task(multiple_outputs=False, pool="warehouse")
    def build_marts() -> dict[str, int]:
        from convoc import warehouse
        from convoc.config import Settings
        from convoc.runtime import resolve_day
        from convoc.stats.marts import build_marts

        with warehouse.connect(Settings.from_env().warehouse) as con, warehouse.transaction(con):
            return build_marts(con, resolve_day(get_current_context()))

    @task(multiple_outputs=False, pool="warehouse")
    def reconcile() -> dict[str, int]:
        from airflow.sdk.exceptions import AirflowFailException

        from convoc import warehouse
        from convoc.config import Settings
        from convoc.errors import ConvocError
        from convoc.runtime import resolve_day
        from convoc.stats.reconcile import reconcile

        with warehouse.connect(Settings.from_env().warehouse, read_only=True) as con:
            try:
                return reconcile(con, resolve_day(get_current_context()))
            except ConvocError as exc:  # the numbers disagree: retrying will not mend them
                raise AirflowFailException(str(exc)) from exc

    @task(multiple_outputs=False, pool="warehouse", outlets=[Asset(MARTS_ASSET)])
    def publish() -> dict[str, int]:
        from convoc import warehouse
        from convoc.config import Settings
        from convoc.stats.publish import publish

        settings = Settings.from_env()
        with warehouse.connect(settings.warehouse, read_only=True) as con:
            return publish(con, settings.published)

    @task(multiple_outputs=False)
    def render_reports() -> list[str]:
        from convoc import warehouse
        from convoc.config import Settings
        from convoc.report import render_reports
        from convoc.runtime import resolve_day

        settings = Settings.from_env()  # the published copy: marts only, never blocks the pipeline
        with warehouse.connect(settings.published, read_only=True) as con:
            return [str(p) for p in render_reports(con, resolve_day(get_current_context()), settings.reports)]

    build_marts() >> reconcile() >> publish() >> render_reports()


dispatch_stats()
