"""
## print_deadline

Watches the print shop's cut-off: the day's print job (`JYYYYMMDD`) must be **READY** at the print shop by
the `handoff_cutoff` of `print_shop.yaml` (14:00 Europe/Luxembourg; `CONVOC_PRINT_CUTOFF` and
`CONVOC_PRINT_CUTOFF_TZ` override it). One run a day;
its one task, `job_ready`, is a sensor (reschedule mode: it holds no worker slot between checks) that looks
every five minutes for the job's delivery receipt (`var/print/deliveries/JYYYYMMDD.json`, written when the
job is READY). It succeeds when the job is READY, or when the day owes none (its waves sent no letter, or no
landing file came for it: the chain skips such a day). At the cut-off with the job not READY it fails, without
retry, and the failure alert (`convoc_smtp`, to `[convoc] alert_to`) says *deadline missed* — once.

A sensor, not an Airflow Deadline Alert: a deadline alert belongs to a DAG run and fires only if that run has
not finished by then, but the run that makes the job READY (`print_handoff`) is created only when the stages
before it have published: on the days that matter — the register late, a wave or a render failed — it does not
exist, and nothing would fire. A deadline's interval is also a fixed duration from a reference time, while the
print shop's cut-off is a wall-clock time in Luxembourg that moves against UTC twice a year.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag, task

from convoc_airflow.defaults import DAG_DEFAULTS, DAY_PARAMS, daily

POKE = timedelta(minutes=5)


@dag(schedule=daily(), params=DAY_PARAMS, tags=["convoc", "print", "alerts"], doc_md=__doc__, **DAG_DEFAULTS)
def print_deadline() -> None:
    # Bounded by the cut-off itself (it fails there); the timeout is a backstop a day and a half later.
    @task.sensor(poke_interval=POKE, mode="reschedule", timeout=timedelta(hours=38))
    def job_ready() -> bool:
        from datetime import UTC, datetime

        from convoc.campaigns.print_shop import print_shop_for
        from convoc.handoff.deadline import check
        from convoc_airflow.tasks import stage

        with stage() as run:  # at the cut-off: DeadlineMissed → failed without retry → the alert
            s = run.settings
            shop = print_shop_for(s)
            return check(s.print_root, s.landing, run.day, shop.handoff_cutoff, shop.timezone, datetime.now(UTC))

    job_ready()


print_deadline()
