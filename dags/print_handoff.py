"""
## print_handoff

Hands the day's letters to the print shop and plays back what it reported. `plan_jobs` lists the day's print
job (`JYYYYMMDD`: every released PDF of the day) and one reprint job per earlier job whose spoiled pieces are
pending (`JYYYYMMDD-Rn`: exactly those pieces, same piece ids and booking codes), writing the reprints' batch
files; one mapped `build_job` per job renders and verifies a reprint's batch, then builds the job folder
(PDFs, `manifest.json` and `manifest.csv`, inserter run file, job ticket; no warehouse access); one mapped
`deliver_job` delivers it atomically (built aside, checksums verified at the destination, renamed, `READY`
last) to the local outbox or the print shop's SFTP server (`CONVOC_PRINT_TRANSPORT`); `record_jobs` records
`core.fct_print_job` and `core.fct_print_piece`; `export_address_checks` writes the register team's list of
letters that came back (returns loaded by `register_ingest` that day).

Runs for each day `letters_render` publishes (same partition key). Idempotent per day: the same jobs are
rebuilt byte for byte, found unchanged at the print shop, and their records replaced; a job whose content
changed is delivered as a new version (`JYYYYMMDD.v2`), never over the delivered one.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, PartitionedAssetTimetable, dag, get_current_context, task

from convoc.runtime import HANDOFF_ASSET, LETTERS_ASSET


@dag(
    schedule=PartitionedAssetTimetable(assets=Asset(LETTERS_ASSET)),
    start_date=pendulum.datetime(2021, 1, 29, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "convoc", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={"day": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD, manual runs")},
    tags=["convoc", "print"],
    doc_md=__doc__,
)
def print_handoff() -> None:
    @task(pool="warehouse")
    def plan_jobs() -> list[dict]:
        from convoc import warehouse
        from convoc.config import Settings
        from convoc.handoff.daily import plan_handoff
        from convoc.runtime import resolve_day

        settings = Settings.from_env()
        with warehouse.connect(settings.warehouse, read_only=True) as con:
            return plan_handoff(con, resolve_day(get_current_context()), settings.print_root)

    @task(multiple_outputs=False)
    def build_job(plan: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from convoc.config import Settings
        from convoc.errors import ConvocError
        from convoc.handoff.daily import build_planned_job
        from convoc.runtime import resolve_day

        settings = Settings.from_env()
        try:
            return build_planned_job(
                plan, settings.print_root, settings.work / "handoff", resolve_day(get_current_context())
            )
        except ConvocError as exc:  # a reprint failing verification, a job missing files: retrying will not mend it
            raise AirflowFailException(str(exc)) from exc

    @task(multiple_outputs=False, retries=3, retry_delay=timedelta(minutes=2))
    def deliver_job(built: dict) -> dict:
        from convoc.config import Settings
        from convoc.handoff.daily import deliver_built_job

        settings = Settings.from_env()
        return deliver_built_job(built, settings.print_transport, settings.outbox)

    @task(pool="warehouse", trigger_rule="none_failed", outlets=[Asset(HANDOFF_ASSET)])
    def record_jobs(delivered: list[dict]) -> int:
        from convoc import warehouse
        from convoc.config import Settings
        from convoc.handoff.daily import record_deliveries
        from convoc.runtime import resolve_day

        settings = Settings.from_env()
        with warehouse.connect(settings.warehouse) as con, warehouse.transaction(con):
            day = resolve_day(get_current_context())
            return record_deliveries(con, day, settings.print_root, list(delivered or []))

    @task(pool="warehouse")
    def export_address_checks() -> int:
        from convoc import warehouse
        from convoc.config import Settings
        from convoc.handoff.address_checks import write_address_checks
        from convoc.runtime import resolve_day

        settings = Settings.from_env()
        with warehouse.connect(settings.warehouse, read_only=True) as con:
            day = resolve_day(get_current_context())
            return write_address_checks(con, day, settings.reports / "address_check")[1]

    record_jobs(deliver_job.expand(built=build_job.expand(plan=plan_jobs()))) >> export_address_checks()


print_handoff()
