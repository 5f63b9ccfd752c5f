"""
## register_ingest

Loads the day's landing files (`register_YYYYMMDD.csv`, `priority_*_YYYYMMDD.csv` in `var/landing/`)
into the warehouse:

1. **extract_and_validate_files**, first the extract, in a child process while the task imports Great
   Expectations (the two overlap on two cores): it reads each file once (the SHA-256 is of the bytes parsed; a
   file changing meanwhile, or whose readiness marker is missing, fails the task for a retry), decodes it, cuts
   it into records (malformed lines are quarantined, the rest goes on), normalises every value (NFC, blanks,
   canonical identifiers) and parks it as Parquet. Then the validation: the Great Expectations suites refuse a
   file with a missing column, no rows, a row count far from the previous snapshot, or a check that could not
   be evaluated (the run fails, nothing is published); failing rows are listed for quarantine. Data Docs go to
   `var/reports/quality/<day>/<run>/`;
2. **load_files** writes `raw.*` (the validated values, once per file content, see `raw.load_log`),
   `quarantine.*_rejects`, `staging.*` and the versioned `core.dim_resident`, in one transaction; then the
   register team's list of rejected rows (`var/reports/register_checks/`) and removes the working copies.

Daily, partitioned by day (backfill with `airflow backfill create`). Idempotent per day.
Params: `day` (for manual triggers), `accept_row_count_change` (accept a large row-count change once).
"""

from __future__ import annotations

from airflow.sdk import Asset, Param, dag, task

from convoc.runtime import REGISTER_ASSET
from convoc_airflow.defaults import DAG_DEFAULTS, DAY_PARAMS, WAREHOUSE_TASK, daily, limit


@dag(
    schedule=daily(),
    params={
        **DAY_PARAMS,
        "accept_row_count_change": Param(False, type="boolean", description="accept a large change once"),
    },
    tags=["convoc", "ingest"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def register_ingest() -> None:
    # Two retries: a landing file still being written (or a crash) in the extract, and again in the validation.
    @task(**WAREHOUSE_TASK, multiple_outputs=False, retries=2, **limit("extract_validate"))
    def extract_and_validate_files() -> dict[str, list[dict]]:
        from convoc.ingest import extract_and_validate_day
        from convoc_airflow.tasks import stage

        with stage() as run:
            extracted, verdicts = extract_and_validate_day(
                run.settings,
                run.day,
                accept_row_count_change=bool(run.context["params"]["accept_row_count_change"]),
                run_id=run.context["run_id"],
            )
        return {"extracted": [e.as_dict() for e in extracted], "verdicts": [v.as_dict() for v in verdicts]}

    @task(**WAREHOUSE_TASK, **limit("load"), outlets=[Asset(REGISTER_ASSET)])
    def load_files(checked: dict[str, list[dict]]) -> list[dict]:
        from convoc.ingest import load_day
        from convoc.quality.validate import Verdict
        from convoc.sources.extract import Extracted
        from convoc_airflow.tasks import stage

        with stage() as run:
            loaded = load_day(
                run.settings,
                [Extracted.from_dict(e) for e in checked["extracted"]],
                [Verdict.from_dict(v) for v in checked["verdicts"]],
                run.day,
            )
        return [item.as_dict() for item in loaded]

    load_files(extract_and_validate_files())


register_ingest()
