"""Settings, read once from the environment. Nothing else in convoc reads ``os.environ``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

INGEST_CHUNK_ROWS = 350_000
"""Rows of a landing file validated at a time, by default (``convoc.quality.validate``). Each chunk costs Great
Expectations about half a second of its own bookkeeping: at 650,000 rows, chunks of 350,000 (two runs) validated
1.4 s faster than chunks of 250,000 (three), for about 100 MiB more (690 against 590 MiB)."""


def _default_home() -> Path:
    # In a checkout (editable install) data lives in the repository's var/; elsewhere in ./var.
    repo = Path(__file__).resolve().parents[2]
    if (repo / "dags").is_dir() and (repo / "include" / "convoc").is_dir():
        return repo / "var"
    return Path.cwd() / "var"


def _number(env: dict[str, str], name: str, default: str) -> float:
    raw = env.get(name, default)
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number such as {default}, not {raw!r}") from None


def _share(env: dict[str, str], name: str, default: str) -> float:
    value = _number(env, name, default)
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must lie between 0 and 1, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Where convoc reads and writes, and the knobs of validation.

    Environment:
        CONVOC_HOME            root of all data (default: the checkout's var/)
        CONVOC_WAREHOUSE       DuckDB file (default: $CONVOC_HOME/warehouse/convoc.duckdb)
        CONVOC_MAX_ROW_CHANGE  largest share by which a source's row count may change from the
                               previous snapshot before the file is refused (default 0.05)
        CONVOC_CAPACITY_SCALE  factor on every centre's capacity, e.g. residents / 634,730 for a
                               synthetic population smaller than the country (default 1)
        CONVOC_PRINT_TRANSPORT how print jobs reach the print shop: ``local`` (the folder
                               $CONVOC_HOME/outbox, default) or ``sftp`` (Airflow connection
                               ``print_shop_sftp``)
        CONVOC_MAX_MALFORMED_SHARE  largest share of a landing file's rows that may be malformed or
                               badly encoded (quarantined) before the whole file is refused (default 0.01)
        CONVOC_READY_MARKERS   sources whose landing file is read only once ``NAME_YYYYMMDD.csv.done``
                               exists: comma-separated source names, or ``all`` (default: none)
        CONVOC_KEEP_WORK       ``1`` keeps the day's working copies (extracts, reject lists) after the
                               load, for debugging; by default they are removed (they hold personal data)
        CONVOC_INGEST_CHUNK_ROWS  rows of a landing file validated at a time, at least (default 350000; a file
                               is cut in chunks of this to twice this, one of fewer rows whole): the validate
                               task's memory follows this, not the file's size
        CONVOC_BATCH_SIZE      letters per print batch: one PDF, one render task and one verify task each
                               (default 5000; a national day of 650,000 letters is 130 batches)
        CONVOC_CAMPAIGNS       a folder of campaign files (``*.yaml``) used instead of the shipped ones, with
                               their letter templates in ``templates/<campaign>/<language>.txt`` (a
                               campaign without templates there uses the shipped ones); centres.yaml and
                               print_shop.yaml stay the shipped ones (or CONVOC_PRINT_SHOP)
        CONVOC_PRINT_SHOP      the print shop's capacity, working days and cut-off: a YAML file like the
                               shipped campaigns/print_shop.yaml (default: that file)
        CONVOC_PRINT_CUTOFF    time of day (HH:MM) by which the day's print job must be READY at the print
                               shop, else the print_deadline DAG alerts (default: the print shop file's
                               ``handoff_cutoff``, 14:00)
        CONVOC_PRINT_CUTOFF_TZ the time zone of that cut-off (default: the print shop file's, Europe/Luxembourg)
        CONVOC_RETENTION_DAYS  days personal data is kept past its use before the housekeeping DAG deletes
                               it: print files after the print shop's last mailing report, register
                               partitions and landing files after their day (default 30)
        CONVOC_EMAIL_RATE      e-mail invitations sent per second at most, by each sending task (default 500;
                               0: no limit) — what the mail relay accepts from one client
    """

    home: Path
    warehouse: Path
    max_row_change: float = 0.05
    capacity_scale: float = 1.0
    print_transport: str = "local"
    max_malformed_share: float = 0.01
    ready_markers: frozenset[str] = frozenset()
    keep_work: bool = False
    retention_days: int = 30
    batch_size: int = 5000
    ingest_chunk_rows: int = INGEST_CHUNK_ROWS
    campaigns: Path | None = None
    print_shop: Path | None = None
    print_cutoff: time | None = None  # None: the print shop file's
    print_cutoff_tz: str | None = None
    email_rate: float = 500.0

    def requires_marker(self, source: str) -> bool:
        """Whether ``source``'s landing file waits for its readiness marker."""
        return "all" in self.ready_markers or source in self.ready_markers

    @property
    def templates(self) -> Path | None:
        """Letter templates of ``CONVOC_CAMPAIGNS`` (None: the shipped ones)."""
        return self.campaigns / "templates" if self.campaigns else None

    @property
    def published(self) -> Path:
        """The read-only copy of the marts analysts query, replaced atomically after each stats run."""
        return self.warehouse.parent / "published" / "convoc.duckdb"

    @property
    def shared(self) -> Path:
        """The copy of the marts that may be shared beyond the analysts: coarser, small cells suppressed."""
        return self.warehouse.parent / "published" / "convoc_shared.duckdb"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def work(self) -> Path:
        """Scratch files between tasks (Parquet extracts, reject lists), per DAG and day."""
        return self.home / "work"

    @property
    def print_root(self) -> Path:
        """Print files: batch lists and PDFs per day (owner-only: they hold names and addresses)."""
        return self.home / "print"

    @property
    def outbox(self) -> Path:
        """The local print-shop drop folder: delivered print jobs (owner-only, like the print files)."""
        return self.home / "outbox"

    @property
    def mail_root(self) -> Path:
        """E-mail invitations per day: the outbox and the send ledger (owner-only: they hold addresses)."""
        return self.home / "mail"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def audit(self) -> Path:
        """What housekeeping keeps of what it deletes: job manifests and its deletion log (no personal data)."""
        return self.home / "audit"

    @property
    def quality_docs(self) -> Path:
        return self.reports / "quality"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("CONVOC_HOME") or _default_home()).resolve()
        warehouse = Path(env.get("CONVOC_WAREHOUSE") or home / "warehouse" / "convoc.duckdb")
        max_row_change = _share(env, "CONVOC_MAX_ROW_CHANGE", "0.05")
        capacity_scale = _number(env, "CONVOC_CAPACITY_SCALE", "1")
        if capacity_scale <= 0:
            raise ValueError(f"CONVOC_CAPACITY_SCALE must be greater than 0, not {capacity_scale}")
        print_transport = env.get("CONVOC_PRINT_TRANSPORT", "local").strip().lower()
        if print_transport not in ("local", "sftp"):
            raise ValueError(f"CONVOC_PRINT_TRANSPORT must be 'local' or 'sftp', not {print_transport!r}")
        max_malformed_share = _share(env, "CONVOC_MAX_MALFORMED_SHARE", "0.01")
        markers = frozenset(s.strip().lower() for s in env.get("CONVOC_READY_MARKERS", "").split(",") if s.strip())
        keep_work = env.get("CONVOC_KEEP_WORK", "").strip().lower() in ("1", "true", "yes")
        retention = _number(env, "CONVOC_RETENTION_DAYS", "30")
        if retention < 1 or retention != int(retention):
            raise ValueError(f"CONVOC_RETENTION_DAYS must be a whole number of days, at least 1, not {retention:g}")
        cutoff = None
        if env.get("CONVOC_PRINT_CUTOFF", "").strip():
            try:
                cutoff = time.fromisoformat(env["CONVOC_PRINT_CUTOFF"].strip())
            except ValueError:
                raise ValueError(
                    f"CONVOC_PRINT_CUTOFF must be a time of day HH:MM, not {env['CONVOC_PRINT_CUTOFF']!r}"
                ) from None
        zone = env.get("CONVOC_PRINT_CUTOFF_TZ", "").strip() or None
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ValueError, ZoneInfoNotFoundError):
                raise ValueError(
                    f"CONVOC_PRINT_CUTOFF_TZ must be a time zone such as Europe/Luxembourg, not {zone!r}"
                ) from None
        shop = env.get("CONVOC_PRINT_SHOP", "").strip()
        batch_size = _number(env, "CONVOC_BATCH_SIZE", "5000")
        if batch_size < 1 or batch_size != int(batch_size):
            raise ValueError(f"CONVOC_BATCH_SIZE must be a whole number of letters, at least 1, not {batch_size:g}")
        chunk_rows = _number(env, "CONVOC_INGEST_CHUNK_ROWS", str(INGEST_CHUNK_ROWS))
        if chunk_rows < 1000 or chunk_rows != int(chunk_rows):
            raise ValueError(
                f"CONVOC_INGEST_CHUNK_ROWS must be a whole number of rows, at least 1000, not {chunk_rows:g}"
            )
        email_rate = _number(env, "CONVOC_EMAIL_RATE", "500")
        if email_rate < 0:
            raise ValueError(f"CONVOC_EMAIL_RATE must be 0 (no limit) or more messages a second, not {email_rate:g}")
        campaigns = env.get("CONVOC_CAMPAIGNS", "").strip()
        if campaigns and not Path(campaigns).is_dir():
            raise ValueError(f"CONVOC_CAMPAIGNS must be a folder of campaign files, not {campaigns!r}")
        return cls(
            home=home,
            warehouse=warehouse,
            max_row_change=max_row_change,
            capacity_scale=capacity_scale,
            print_transport=print_transport,
            max_malformed_share=max_malformed_share,
            ready_markers=markers,
            keep_work=keep_work,
            retention_days=int(retention),
            batch_size=int(batch_size),
            ingest_chunk_rows=int(chunk_rows),
            campaigns=Path(campaigns) if campaigns else None,
            print_shop=Path(shop) if shop else None,
            print_cutoff=cutoff,
            print_cutoff_tz=zone,
            email_rate=email_rate,
        )
