"""
## print_handoff

Hands the day's letters to the print shop and plays back what it reported. `plan_jobs` lists the day's print
job (`JYYYYMMDD`: every released PDF of the day) and one reprint job per earlier job whose spoiled pieces are
pending (`JYYYYMMDD-Rn`: exactly those pieces, same piece ids and booking codes), writing the reprints' batch
files; one mapped `build_job` per job renders and verifies a reprint's batch, then builds the job folder
(PDFs, `manifest.json` and `manifest.csv`, inserter run file, job ticket; no warehouse access); one mapped
`deliver_job` delivers it atomically (built aside, checksums verified at the destination, renamed, `READY`
last) to the local outbox or the print shop's SFTP server (`CONVOC_PRINT_TRANSPORT`) and writes its receipt
the moment it is `READY`; `record_jobs` records every receipt in `core.fct_print_job` and
`core.fct_print_piece` even when another job of the day failed (then it fails, naming the jobs not delivered);
`plan_jobs` records first any receipt an earlier run left unrecorded, so a reprint's number follows what was
delivered; `export_address_checks` writes the register team's list of
letters that came back (returns loaded by `register_ingest` that day).

Runs for each day `letters_render` publishes (same partition key). Idempotent per day: the same jobs are
rebuilt byte for byte, found unchanged at the print shop, and their records replaced; a job whose content
changed is delivered as a new version (`JYYYYMMDD.v2`), never over the delivered one.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from convoc.runtime import HANDOFF_ASSET, LETTERS_ASSET
from convoc_airflow.defaults import DAG_DEFAULTS, DAY_PARAMS, MAP_LABEL, RETRY_DELAY, WAREHOUSE_TASK, after, limit


@dag(schedule=after(LETTERS_ASSET), params=DAY_PARAMS, tags=["convoc", "print"], doc_md=__doc__, **DAG_DEFAULTS)
def print_handoff() -> None:
    @task(**WAREHOUSE_TASK, **limit("record"))
    def plan_jobs() -> list[dict]:
        from convoc.handoff.daily import plan_handoff
        from convoc_airflow.tasks import stage

        with stage(warehouse="write") as run:  # records first what an earlier run delivered and did not record
            return plan_handoff(run.con, run.day, run.settings.print_root)

    @task(multiple_outputs=False, map_index_template=MAP_LABEL, **limit("build"))
    def build_job(plan: dict) -> dict:
        from convoc.handoff.daily import build_planned_job
        from convoc_airflow.tasks import stage

        with stage(label=str(plan["job_id"])) as run:  # a reprint failing verification, a job missing files: no retry
            s = run.settings
            return build_planned_job(plan, s.print_root, s.work / "handoff", run.day, templates=s.templates)

    @task(
        multiple_outputs=False, retries=3, retry_delay=2 * RETRY_DELAY, map_index_template=MAP_LABEL, **limit("deliver")
    )
    def deliver_job(built: dict) -> dict:
        from convoc.handoff.daily import deliver_planned_job
        from convoc_airflow.tasks import stage

        with stage(
            label=str(built["job_id"])
        ) as run:  # the print shop unreachable (TransportUnavailable) is retried below
            settings = run.settings
            return deliver_planned_job(built, settings.print_transport, settings.outbox, settings.print_root, run.day)

    # all_done: a job delivered is recorded even when another job of the day failed; then the task fails.
    @task(**WAREHOUSE_TASK, **limit("record"), trigger_rule="all_done", outlets=[Asset(HANDOFF_ASSET)])
    def record_jobs(plans: list[dict], delivered: list[dict]) -> int:
        from convoc.handoff.daily import check_delivered, record_deliveries
        from convoc_airflow.tasks import stage

        with stage(warehouse="write") as run:
            recorded = len(record_deliveries(run.con, run.settings.print_root))
        with stage():
            check_delivered(list(plans or []), list(delivered or []))
        return recorded

    @task(**WAREHOUSE_TASK, **limit("record"))
    def export_address_checks() -> int:
        from convoc.handoff.address_checks import write_address_checks
        from convoc_airflow.tasks import stage

        with stage(warehouse="read") as run:
            return write_address_checks(run.con, run.day, run.settings.reports / "address_check")[1]

    plans = plan_jobs()
    record_jobs(plans, deliver_job.expand(built=build_job.expand(plan=plans))) >> export_address_checks()


print_handoff()
