"""
## letters_render

Renders the letters of the day's invitation waves: `cut_batches` writes the letters in postal presort order
as batch files (5,000 letters each, `var/print/<day>/batches/`), one mapped `render_batch` task per batch
renders one PDF (`var/print/<day>/rendered/`) without opening the warehouse, one mapped `verify_batch` task
per PDF checks it and releases it, and `record_batches` records the released PDFs in `core.fct_print_batch`
and the batch and piece ids on each invitation.

**Verification** (issue 4): the page count must equal pieces × pages per piece, and the first, last and a
seeded sample of 8 other pages are rasterized and their QR codes decoded: each page must hold exactly its
booking URL and its piece code. A PDF that passes is moved atomically into `var/print/<day>/pdf/`, the only
folder handed off; one that fails goes to `var/print/<day>/rejected/` with a `<batch>.reason.txt`, its task
fails without retry (the message names the file, the pages, what was expected and found) and the day is
not recorded.

Runs for each day `invitation_waves` publishes (same partition key). Idempotent per day: re-running
replaces that day's batches, rendered, released and rejected PDFs, and records.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, PartitionedAssetTimetable, dag, get_current_context, task

from convoc.runtime import LETTERS_ASSET, WAVES_ASSET


@dag(
    schedule=PartitionedAssetTimetable(assets=Asset(WAVES_ASSET)),
    start_date=pendulum.datetime(2021, 1, 29, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "convoc", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={"day": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD, manual runs")},
    tags=["convoc", "letters"],
    doc_md=__doc__,
)
def letters_render() -> None:
    @task(pool="warehouse")
    def cut_batches() -> list[str]:
        from convoc import warehouse
        from convoc.campaigns import load_centres
        from convoc.config import Settings
        from convoc.letters.batches import cut_batches
        from convoc.runtime import resolve_day

        settings = Settings.from_env()
        with warehouse.connect(settings.warehouse) as con:
            paths = cut_batches(con, resolve_day(get_current_context()), settings.print_root, load_centres())
        return [str(p) for p in paths]

    @task(multiple_outputs=False)
    def render_batch(batch_path: str) -> dict:
        from pathlib import Path

        from convoc.letters.batches import render_batch_file
        from convoc.runtime import resolve_day

        return render_batch_file(Path(batch_path), resolve_day(get_current_context())).as_dict()

    @task(multiple_outputs=False)
    def verify_batch(result: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from convoc.errors import ConvocError
        from convoc.letters.batches import verify_batch_file
        from convoc.runtime import resolve_day

        try:
            return verify_batch_file(result, resolve_day(get_current_context()))
        except ConvocError as exc:  # a wrong or broken PDF: retrying will not mend it
            raise AirflowFailException(str(exc)) from exc

    @task(pool="warehouse", trigger_rule="none_failed", outlets=[Asset(LETTERS_ASSET)])
    def record_batches(results: list[dict]) -> int:
        from convoc import warehouse
        from convoc.config import Settings
        from convoc.letters.batches import record_batches
        from convoc.runtime import resolve_day

        with warehouse.connect(Settings.from_env().warehouse) as con, warehouse.transaction(con):
            return record_batches(con, resolve_day(get_current_context()), list(results or []))

    record_batches(verify_batch.expand(result=render_batch.expand(batch_path=cut_batches())))


letters_render()
