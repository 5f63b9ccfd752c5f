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

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param, PartitionedAssetTimetable, dag, get_current_context, task

from convoc.runtime import REGISTER_ASSET, WAVES_ASSET


@dag(
    schedule=PartitionedAssetTimetable(assets=Asset(REGISTER_ASSET)),
    start_date=pendulum.datetime(2021, 1, 29, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "convoc", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={"day": Param(None, type=["null", "string"], format="date", description="YYYY-MM-DD, manual runs")},
    tags=["convoc", "waves"],
    doc_md=__doc__,
)
def invitation_waves() -> None:
    @task(pool="warehouse", outlets=[Asset(WAVES_ASSET)])
    def plan_waves() -> list[dict]:
        from airflow.sdk import Connection
        from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

        from convoc.codes import load_key
        from convoc.config import Settings
        from convoc.errors import ConvocError
        from convoc.runtime import resolve_day
        from convoc.waves.run import run_waves

        try:
            key = Connection.get("convoc_signing_key").password.encode()
        except AirflowNotFoundException:
            key = None
        try:
            results = run_waves(Settings.from_env(), resolve_day(get_current_context()), key or load_key())
        except ConvocError as exc:  # bad configuration, no snapshot, no key: retrying will not mend it
            raise AirflowFailException(str(exc)) from exc
        return [r.as_dict() for r in results]

    plan_waves()


invitation_waves()
