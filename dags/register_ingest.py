"""
## register_ingest

Loads the day's landing files (`register_YYYYMMDD.csv`, `priority_*_YYYYMMDD.csv` in `var/landing/`)
into the warehouse:

1. **extract_files** reads each file once (the SHA-256 is of the bytes parsed; a file changing meanwhile,
   or whose readiness marker is missing, fails the task for a retry), decodes it, cuts it into records
   (malformed lines are quarantined, the rest goes on), normalises every value (NFC, blanks, canonical
   identifiers) and parks it as Parquet;
2. **validate_files** runs the Great Expectations suites: a file with a missing column, no rows, a row
   count far from the previous snapshot, or a check that could not be evaluated is refused (the run
   fails, nothing is published); failing rows are listed for quarantine. Data Docs go to
   `var/reports/quality/<day>/<run>/`;
3. **load_files** writes `raw.*` (the validated values, once per file content, see `raw.load_log`),
   `quarantine.*_rejects`, `staging.*` and the versioned `core.dim_resident`, in one transaction; then the
   register team's list of rejected rows (`var/reports/register_checks/`) and removes the working copies.

Daily, partitioned by day (backfill with `airflow backfill create`). Idempotent per day.
Params: `day` (for manual triggers), `accept_row_count_change` (accept a large row-count change once).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronPartitionTimetable, Param, dag, get_current_context, task

from convoc.runtime import REGISTER_ASSET


@dag(
    schedule=CronPartitionTimetable("0 0 * * *", timezone="UTC", key_format="%Y-%m-%d"),
    start_date=pendulum.datetime(2021, 1, 29, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "convoc", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "day": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD, manual runs"),
        "accept_row_count_change": Param(False, type="boolean", description="accept a large change once"),
    },
    tags=["convoc", "ingest"],
    doc_md=__doc__,
)
def register_ingest() -> None:
    @task
    def extract_files() -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

        from convoc.config import Settings
        from convoc.errors import ConvocError, FileNotSettled, NoLandingFiles
        from convoc.ingest import extract_day
        from convoc.runtime import resolve_day

        try:
            return [e.as_dict() for e in extract_day(Settings.from_env(), resolve_day(get_current_context()))]
        except NoLandingFiles as exc:
            raise AirflowSkipException(str(exc)) from None
        except FileNotSettled:  # being written or replaced: a retry reads it again
            raise
        except ConvocError as exc:  # a refused file: retrying will not mend it
            raise AirflowFailException(str(exc)) from None

    @task(pool="warehouse")
    def validate_files(extracted: list[dict]) -> list[dict]:
        from airflow.sdk.exceptions import AirflowFailException

        from convoc.config import Settings
        from convoc.errors import FileRefused
        from convoc.ingest import validate_day
        from convoc.runtime import resolve_day
        from convoc.sources.extract import Extracted

        context = get_current_context()
        try:
            verdicts = validate_day(
                Settings.from_env(),
                [Extracted.from_dict(e) for e in extracted],
                resolve_day(context),
                accept_row_count_change=bool(context["params"]["accept_row_count_change"]),
                run_id=context["run_id"],
            )
        except FileRefused as exc:
            raise AirflowFailException(str(exc)) from None
        return [v.as_dict() for v in verdicts]

    @task(pool="warehouse", outlets=[Asset(REGISTER_ASSET)])
    def load_files(extracted: list[dict], verdicts: list[dict]) -> list[dict]:
        from convoc.config import Settings
        from convoc.ingest import load_day
        from convoc.quality.validate import Verdict
        from convoc.runtime import resolve_day
        from convoc.sources.extract import Extracted

        loaded = load_day(
            Settings.from_env(),
            [Extracted.from_dict(e) for e in extracted],
            [Verdict.from_dict(v) for v in verdicts],
            resolve_day(get_current_context()),
        )
        return [item.as_dict() for item in loaded]

    extracted = extract_files()
    load_files(extracted, validate_files(extracted))


register_ingest()
