"""
## housekeeping

Deletes personal data past its time, every day (`include/convoc/housekeeping.py`, retention
`CONVOC_RETENTION_DAYS`, default 30 days): a print job's batch files, PDFs and job folders once the print shop
has reported every piece mailed and the retention has passed since its last report (their manifests are kept
in `var/audit/jobs/`); landing files, raw rows and register staging partitions of days past the retention
(never the latest partition); old working folders and Data Docs. Each deletion is a row of
`audit.deletion_log`, committed before the files go (a run cut short leaves them logged, and its retry deletes
them). Trigger with `{"dry_run": true}` to see in the task log what would go, deleting nothing.

Created **paused**, whatever `dags_are_paused_at_creation` says: deleting is for good, so an operator unpauses it
once the retention is agreed (`airflow dags unpause housekeeping`). The retention counts from the run's day.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from convoc_airflow.defaults import DAG_DEFAULTS, DAY_PARAMS, WAREHOUSE_TASK, daily, limit


@dag(
    schedule=daily(),
    params={**DAY_PARAMS, "dry_run": Param(False, type="boolean", description="list, delete nothing")},
    tags=["convoc", "retention"],
    doc_md=__doc__,
    # Deleting is for good: the DAG waits, paused, until an operator who agreed the retention unpauses it.
    is_paused_upon_creation=True,
    **DAG_DEFAULTS,
)
def housekeeping() -> None:
    @task(**WAREHOUSE_TASK, **limit("housekeeping"), multiple_outputs=False)
    def sweep() -> dict:
        from convoc.housekeeping import remove, summary
        from convoc.housekeeping import sweep as sweep_day
        from convoc_airflow.tasks import stage

        with stage(warehouse="write") as run:  # rows deleted and every deletion logged, in one transaction
            dry_run = bool(run.context["params"].get("dry_run"))
            found = sweep_day(run.con, run.settings, run.day, dry_run=dry_run)
        if not dry_run:
            remove(found)  # the files, once their deletion is logged (a failure here: the retry completes it)
        return summary(found, dry_run=dry_run)

    sweep()


housekeeping()
