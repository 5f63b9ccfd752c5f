"""
## letters_render

Renders the letters of the day's invitation waves: `cut_batches` writes the letters in postal presort order
as batch files (`CONVOC_BATCH_SIZE` letters each, 5,000 by default, `var/print/<day>/batches/`), one mapped
`render_batch` task per batch renders one PDF (`var/print/<day>/rendered/`) without opening the warehouse, one
mapped `verify_batch` task per PDF checks it and releases it, and `record_batches` records the released PDFs
in `core.fct_print_batch` and each letter's batch and piece id in `core.fct_print_batch_letter`.

**Verification**: the page count must equal the pages the batch file gives its pieces (one per standard
letter, more for a large-print one), and the first, last, every page of the first multi-page piece and a
seeded sample of 8 other pages are rasterized and their QR codes decoded: each page must hold exactly its
piece code, and the first page of a piece its booking URL too. A PDF that passes is moved atomically into
`var/print/<day>/pdf/`, the only folder handed off; one that fails goes to `var/print/<day>/rejected/` with a
`<batch>.reason.txt`, its task fails without retry (the message names the file, the pages, what was expected
and found) and the day is not recorded.

Runs for each day `invitation_waves` publishes (same partition key). Idempotent per day: re-running
replaces that day's batches, rendered, released and rejected PDFs, and records.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from convoc.runtime import LETTERS_ASSET, WAVES_ASSET
from convoc_airflow.defaults import DAG_DEFAULTS, DAY_PARAMS, MAP_LABEL, WAREHOUSE_TASK, after, limit


@dag(schedule=after(WAVES_ASSET), params=DAY_PARAMS, tags=["convoc", "letters"], doc_md=__doc__, **DAG_DEFAULTS)
def letters_render() -> None:
    @task(**WAREHOUSE_TASK, **limit("cut"))
    def cut_batches() -> list[str]:
        from airflow.configuration import conf

        from convoc.campaigns import load_centres
        from convoc.letters.batches import cut_batches
        from convoc_airflow.tasks import stage

        with stage(warehouse="write") as run:
            s = run.settings
            paths = cut_batches(
                run.con,
                run.day,
                s.print_root,
                load_centres(),
                s.batch_size,
                templates=s.templates,
                max_batches=conf.getint("core", "max_map_length"),
            )
            return [str(p) for p in paths]

    @task(multiple_outputs=False, map_index_template=MAP_LABEL, **limit("render"))
    def render_batch(batch_path: str) -> dict:
        from pathlib import Path

        from convoc.letters.batches import render_batch_file
        from convoc_airflow.tasks import stage

        with stage(label=Path(batch_path).stem) as run:
            return render_batch_file(Path(batch_path), run.day, templates=run.settings.templates).as_dict()

    @task(multiple_outputs=False, map_index_template=MAP_LABEL, **limit("verify"))
    def verify_batch(result: dict) -> dict:
        from pathlib import Path

        from convoc.letters.batches import verify_batch_file
        from convoc_airflow.tasks import stage

        with stage(label=Path(str(result["path"])).stem) as run:  # a wrong or broken PDF fails the task without retry
            return verify_batch_file(result, run.day)

    @task(**WAREHOUSE_TASK, **limit("record"), trigger_rule="none_failed", outlets=[Asset(LETTERS_ASSET)])
    def record_batches(results: list[dict]) -> int:
        from convoc.letters.batches import record_batches
        from convoc_airflow.tasks import stage

        with stage(warehouse="write") as run:
            return record_batches(run.con, run.day, list(results or []))

    record_batches(verify_batch.expand(result=render_batch.expand(batch_path=cut_batches())))


letters_render()
