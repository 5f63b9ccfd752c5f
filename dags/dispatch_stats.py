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
`var/reports/summary/` (every count under 5 people suppressed). `publish_shared` writes, from the same copy,
the one that may be shared beyond the analysts, `var/warehouse/published/convoc_shared.duckdb`: no commune,
language or phase, and the report's small-cell rule on every count (`include/convoc/report/shared.py`).

Runs for each day `print_handoff` publishes (same partition key); backfillable. Idempotent: a run replaces
the rows of the days it covers, and given the same warehouse any order of days yields the same marts.
Marts hold counts only — no names, addresses, matricules or booking codes. See `docs/warehouse.md`.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from convoc.runtime import HANDOFF_ASSET, MARTS_ASSET
from convoc_airflow.defaults import DAG_DEFAULTS, DAY_PARAMS, PUBLISHED_TASK, WAREHOUSE_TASK, after, limit


@dag(schedule=after(HANDOFF_ASSET), params=DAY_PARAMS, tags=["convoc", "stats"], doc_md=__doc__, **DAG_DEFAULTS)
def dispatch_stats() -> None:
    @task(multiple_outputs=False, **WAREHOUSE_TASK, **limit("marts"))
    def build_marts() -> dict[str, int]:
        from convoc.stats.marts import build_marts
        from convoc_airflow.tasks import stage

        with stage(warehouse="write") as run:
            return build_marts(run.con, run.day, campaigns_dir=run.settings.campaigns)

    @task(multiple_outputs=False, **WAREHOUSE_TASK, **limit("marts"))
    def reconcile() -> dict[str, int]:
        from convoc.stats.reconcile import reconcile
        from convoc_airflow.tasks import stage

        with stage(warehouse="read") as run:  # numbers that disagree fail the run, without retry
            return reconcile(run.con, run.day)

    @task(multiple_outputs=False, **WAREHOUSE_TASK, **limit("publish"), outlets=[Asset(MARTS_ASSET)])
    def publish() -> dict[str, int]:
        from convoc.stats.publish import publish
        from convoc_airflow.tasks import stage

        with stage(warehouse="read") as run:
            return publish(run.con, run.settings.published)

    @task(multiple_outputs=False, **PUBLISHED_TASK, **limit("report"))
    def render_reports() -> list[str]:
        from convoc.report import render_reports
        from convoc_airflow.tasks import stage

        with stage(warehouse="published") as run:  # marts only; never waits on the pipeline's writer
            return [str(p) for p in render_reports(run.con, run.day, run.settings.reports)]

    @task(multiple_outputs=False, **PUBLISHED_TASK, **limit("publish"))
    def publish_shared() -> dict[str, int]:
        from convoc.report.shared import publish_shared
        from convoc_airflow.tasks import stage

        with stage(warehouse="published") as run:  # from the analysts' copy: coarser, small cells suppressed
            return publish_shared(run.con, run.settings.shared)

    published = build_marts() >> reconcile() >> publish()
    published >> [render_reports(), publish_shared()]


dispatch_stats()
