"""E-mail invitations through the SMTP provider: the connection ``convoc_smtp`` (the one the alerts use), opened
by the provider's ``SmtpHook`` — host, port, TLS and login as the connection says — and handed to convoc's sender
(``convoc.notify.outbox.send_outbox``), which keeps it open for the whole batch and asks for it again if the
server drops it."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

from convoc_airflow.alerts import SMTP_CONNECTION


def smtp_connect(conn_id: str = SMTP_CONNECTION) -> Callable[[], smtplib.SMTP]:
    """A function opening a logged-in SMTP client on the Airflow connection ``conn_id``."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    def connect() -> smtplib.SMTP:
        hook = SmtpHook(smtp_conn_id=conn_id).get_conn()
        client = hook._smtp_client  # the provider keeps the logged-in client there (its own test_connection reads it)
        if not isinstance(client, smtplib.SMTP):
            raise TypeError(f"connection {conn_id}: no SMTP client")
        return client

    return connect


def sender_address(conn_id: str = SMTP_CONNECTION, default: str = "invitations@convoc.example.lu") -> str:
    """The envelope sender: the connection's ``from_email`` extra, else ``default`` (read from the connection's
    definition: no session with the server is opened for it)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    return str(SmtpHook.get_connection(conn_id).extra_dejson.get("from_email") or default)
