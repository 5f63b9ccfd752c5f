"""E-mail invitations: the digital channel beside the letters, with the same exactly-once discipline.

``messages`` builds one invitation's e-mail from the letter's templates; ``outbox`` cuts the day's e-mails from
the warehouse, sends them over one reused SMTP connection at a set rate with a send ledger that makes every
re-run, backfill or retry after a kill send each message once (the one message in flight at a kill may go
twice, under the same ``Message-ID``), and records each attempt in ``core.fct_email_attempt``.
"""
