"""
## notify_digital

Sends the e-mail invitations of the day's waves — to residents whose contact preference is `email` or `both` —
beside the letters: `cut_messages` writes the day's e-mails (`var/mail/<day>/outbox.parquet`), `send_messages`
renders each (plain text and accessible HTML from the letter's own template, the booking QR code inline,
`Message-ID` derived from the invitation id) and hands it to the mail server of the Airflow connection
`convoc_smtp` over one reused connection, at most `CONVOC_EMAIL_RATE` a second, and `record_messages` records
every attempt (`sent`, `deferred`, `failed`, with the SMTP reply code) in `core.fct_email_attempt`.

**Exactly once**: a send ledger beside the outbox (`ledger.jsonl`, never replaced) records each message before
and after the server's answer; a retry, a re-run or a backfill of the day sends nothing already sent or refused.
A task killed mid-batch re-sends at most the one message whose answer it had not written, under the same
`Message-ID`. Messages deferred by the server (4xx) are tried again on the next attempt, up to three times.

Runs for each day `invitation_waves` publishes (same partition key), beside `letters_render`.
"""

from __future__ import annotations

from airflow.sdk import Asset, dag, task

from convoc.runtime import EMAIL_ASSET, WAVES_ASSET
from convoc_airflow.defaults import DAG_DEFAULTS, DAY_PARAMS, WAREHOUSE_TASK, after, limit


@dag(schedule=after(WAVES_ASSET), params=DAY_PARAMS, tags=["convoc", "email"], doc_md=__doc__, **DAG_DEFAULTS)
def notify_digital() -> None:
    @task(**WAREHOUSE_TASK, **limit("cut"))
    def cut_messages() -> str:
        from convoc.campaigns import load_centres
        from convoc.notify.outbox import cut_outbox
        from convoc_airflow.tasks import stage

        with stage(warehouse="read") as run:
            path, count = cut_outbox(run.con, run.day, run.settings.mail_root, load_centres())
            print(f"{count} e-mail invitations to send")  # the task log
            return str(path)

    @task(multiple_outputs=False, **limit("send"))
    def send_messages(outbox: str) -> dict:
        from pathlib import Path

        from convoc.notify.outbox import send_outbox
        from convoc_airflow.mail import sender_address, smtp_connect
        from convoc_airflow.tasks import stage

        with stage() as run:
            return send_outbox(
                Path(outbox),
                smtp_connect(),
                day=run.day,
                sender=sender_address(),
                rate=run.settings.email_rate,
                attempt=int(run.context["ti"].try_number),
                templates=run.settings.templates,
            ).as_dict()

    @task(**WAREHOUSE_TASK, **limit("record"), outlets=[Asset(EMAIL_ASSET)])
    def record_messages(sent: dict) -> int:
        from convoc.notify.outbox import record_messages
        from convoc_airflow.tasks import stage

        with stage(warehouse="write") as run:
            return record_messages(run.con, run.day, run.settings.mail_root)

    record_messages(send_messages(cut_messages()))


notify_digital()
