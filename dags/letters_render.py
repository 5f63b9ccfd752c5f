"""
## letters_render

Renders the letters of the day's invitation waves: `cut_batches` writes the letters in postal presort order
as batch files (5,000 letters each, `var/print/<day>/batches/`), one mapped `render_batch` task per batch
renders one PDF (`var/print/<day>/pdf/`) without opening the warehouse, and `record_batches` records them
in `core.fct_print_batch` and the batch and piece ids on each invitation.

Runs for each day `invitation_waves` publishes (same partition key). Idempotent per day: re-running
replaces that day's batches, PDFs and records.
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

    @task(pool="warehouse", outlets=[Asset(LETTERS_ASSET)])
    def record_batches(results: list[dict]) -> int:
        from convoc import warehouse
        from convoc.config import Settings
        from convoc.letters.batches import record_batches
        from convoc.runtime import resolve_day

        with warehouse.connect(Settings.from_env().warehouse) as con, warehouse.transaction(con):
            return record_batches(con, resolve_day(get_current_context()), list(results))

    record_batches(render_batch.expand(batch_path=cut_batches()))


letters_render()
