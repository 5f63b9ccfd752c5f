"""
## invitation_waves

Plans the day's invitation wave of every active campaign (`include/convoc/campaigns/*.yaml`) into
`core.fct_invitation`: per centre, as many letters as the capacity over the booking window allows
(less booked slots, divided by the expected uptake, less the letters still open); second doses first,
then by phase, oldest first. Each invitation gets an opaque booking code (HMAC of its id).

Runs for each day `register_ingest` publishes (same partition key); backfill through `register_ingest`.
Idempotent per day: re-running replaces that day's wave with the same rows.
The signing key comes from the Airflow connection `convoc_signing_key` (password) or `CONVOC_SIGNING_KEY`.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from convoc.runtime import REGISTER_ASSET, WAVES_ASSET
from convoc_airflow.defaults import DAG_DEFAULTS, DAY_PARAMS, WAREHOUSE_TASK, after, limit


@dag(schedule=after(REGISTER_ASSET), params=DAY_PARAMS, tags=["convoc", "waves"], doc_md=__doc__, **DAG_DEFAULTS)
def invitation_waves() -> None:
    @task(**WAREHOUSE_TASK, **limit("waves"), outlets=[Asset(WAVES_ASSET)])
    def plan_waves() -> list[dict]:
        from convoc.waves.run import run_waves
        from convoc_airflow.tasks import signing_key, stage

        with stage() as run:
            return [r.as_dict() for r in run_waves(run.settings, run.day, signing_key())]

    plan_waves()


invitation_waves()
