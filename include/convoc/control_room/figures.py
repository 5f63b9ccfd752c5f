"""The control room's figures for a span of days: the published copy's counts and the chain's run states.

``read_published`` takes what the page shows from the analysts' copy (``marts.fct_operations_daily``,
``fct_returns_by_reason``, ``fct_postage_daily``, ``fct_campaign_progress``; queries in
``sql/reports/control_room__*.sql``), read-only; ``campaign_days``
joins it, day by day, with the runs of the chain's DAGs (``Run``, from Airflow's metadata: the plugin reads
them) and the links to the day's Data Docs and summary reports (``day_files``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from convoc import warehouse
from convoc.runtime import CHAIN

RUN_STATES = ("not yet", "queued", "running", "success", "failed")
"""What the page says of a chain DAG's run for a day (``not yet``: no run for that day)."""


@dataclass(frozen=True, slots=True)
class Run:
    """One DAG run of the chain, as Airflow records it: the day it works on, its state, where the UI shows it,
    and its tasks' states counted per task (mapped tasks count once per batch)."""

    dag_id: str
    run_id: str
    day: date
    state: str
    url: str
    tasks: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def count(self, task_id: str, state: str) -> int:
        return int(self.tasks.get(task_id, {}).get(state, 0))


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str


@dataclass
class Published:
    """The published copy's figures, by day (empty when there is no copy yet)."""

    ops: dict[date, dict[tuple[str, str, str], int]] = field(default_factory=dict)
    returns: dict[date, dict[str, int]] = field(default_factory=dict)
    mailed: dict[date, int] = field(default_factory=dict)
    progress: dict[date, dict[str, int]] = field(default_factory=dict)
    published_at: datetime | None = None

    @property
    def days(self) -> set[date]:
        return set(self.ops) | set(self.returns) | set(self.mailed) | set(self.progress)


@dataclass(frozen=True)
class CampaignDay:
    """Everything the page shows for one day."""

    day: date
    runs: dict[str, Run | None]
    register: list[tuple[str, int, int, int]]  # source, rows, loaded, quarantined
    rules: list[tuple[str, int]]  # register rows quarantined per rule
    waves: list[tuple[str, int, int]]  # campaign, planned, allowed by capacity
    batches: dict[str, int | None]  # rendered, verified, rejected, letters
    jobs: dict[str, int]  # delivered, reprints, pieces, reprinted, mailed, spoiled
    returns: list[tuple[str, int]]
    bookings: dict[str, int]  # booked, vaccinated (that day)
    progress: dict[str, int]  # cumulative as of the day: eligible, invited, booked, vaccinated
    mailed: int  # letters the print shop mailed that day
    docs: list[Link]
    reports: list[Link]

    def state(self, dag_id: str) -> str:
        run = self.runs.get(dag_id)
        return run.state if run is not None else "not yet"

    def source(self, name: str) -> tuple[int, int, int]:
        """Rows, loaded and quarantined of one landing source that day (zeros when it sent no file)."""
        for source, rows, loaded, quarantined in self.register:
            if source == name:
                return rows, loaded, quarantined
        return 0, 0, 0

    @property
    def uptake(self) -> float | None:
        """Booked ÷ invited, cumulative as of the day (None before any invitation)."""
        invited = self.progress.get("invited", 0)
        return self.progress.get("booked", 0) / invited if invited else None


def read_published(path: Path, first: date, last: date) -> Published:
    """The control room's figures for ``first``..``last`` from the published copy at ``path`` (read-only; a
    missing copy gives empty figures: nothing was published yet)."""
    out = Published()
    if not path.exists():
        return out
    out.published_at = datetime.fromtimestamp(path.stat().st_mtime)
    span = {"first": first, "last": last}
    with warehouse.connect(path, read_only=True) as con:
        tables = {
            r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()
        }

        def rows(table: str, name: str) -> list[tuple[Any, ...]]:
            """The rows of ``sql/reports/control_room__<name>.sql``; none when the copy predates ``table``."""
            if table not in tables:
                return []
            return list(warehouse.execute(con, warehouse.select(f"reports/control_room__{name}.sql"), span).fetchall())

        for day, area, measure, detail, value in rows("fct_operations_daily", "operations"):
            out.ops.setdefault(day, {})[(area, measure, detail)] = int(value)
        for day, reason, returned in rows("fct_returns_by_reason", "returns"):
            out.returns.setdefault(day, {})[reason] = int(returned)
        for day, mailed in rows("fct_postage_daily", "mailed"):
            out.mailed[day] = int(mailed)
        for day, *counts in rows("fct_campaign_progress", "progress"):
            out.progress[day] = dict(
                zip(("eligible", "invited", "booked", "vaccinated"), map(int, counts), strict=True)
            )
    return out


_REPORT = re.compile(r"summary_(?P<period>[a-z]+)_(?P<day>\d{8})_(?P<lang>[a-z]{2})\.pdf")


def day_files(reports: Path, quality_docs: Path, day: date) -> tuple[list[Link], list[Link]]:
    """Links to the day's Data Docs (one per validation run) and summary reports (per period and language),
    relative to the control room's ``files/`` route: ``quality/<YYYYMMDD>/<run>/index.html`` and
    ``summary/<period>/<file>``."""
    stamp = f"{day:%Y%m%d}"
    docs = [
        Link(index.parent.name, f"quality/{stamp}/{index.parent.name}/index.html")
        for index in sorted((quality_docs / stamp).glob("*/index.html"))
    ]
    found = []
    for pdf in sorted((reports / "summary").glob(f"*/summary_*_{stamp}_*.pdf")):
        match = _REPORT.fullmatch(pdf.name)
        if match:
            found.append(Link(f"{match['period']} ({match['lang']})", f"summary/{pdf.parent.name}/{pdf.name}"))
    return docs, found


def latest_day(published: Published, runs: Iterable[Run]) -> date | None:
    """The last day the campaign moved: a day of the published figures, or of a run past the chain's first stage
    (the first DAG also runs, and skips, every day without landing files: today on a scheduler replaying 2021).
    With neither, the last day any chain DAG ran."""
    runs = list(runs)
    days = published.days | {r.day for r in runs if r.dag_id in CHAIN[1:]}
    days = days or {r.day for r in runs}
    return max(days) if days else None


def span(until: date, days: int) -> list[date]:
    """``days`` days ending with ``until``, newest first."""
    return [until - timedelta(days=i) for i in range(days)]


def latest_runs(runs: Iterable[Run]) -> dict[tuple[str, date], Run]:
    """The run that counts for each DAG × day: the latest (runs come ordered oldest first)."""
    chosen: dict[tuple[str, date], Run] = {}
    for run in runs:
        chosen[(run.dag_id, run.day)] = run
    return chosen


def campaign_days(
    days: list[date],
    published: Published,
    runs: Iterable[Run],
    files: Mapping[date, tuple[list[Link], list[Link]]] | None = None,
) -> list[CampaignDay]:
    """One ``CampaignDay`` per day of ``days`` (in that order)."""
    by_day = latest_runs(runs)
    files = files or {}
    out = []
    for day in days:
        ops = published.ops.get(day, {})
        grouped: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        for (area, measure, detail), value in ops.items():
            grouped[(area, measure)][detail] = value
        sources = sorted(grouped[("register", "rows")])
        waves = sorted(set(grouped[("waves", "planned")]) | set(grouped[("waves", "allowed")]))
        letters_run = by_day.get(("letters_render", day))
        docs, reports = files.get(day, ([], []))
        out.append(
            CampaignDay(
                day=day,
                runs={dag_id: by_day.get((dag_id, day)) for dag_id in CHAIN},
                register=[
                    (
                        s,
                        grouped[("register", "rows")].get(s, 0),
                        grouped[("register", "loaded")].get(s, 0),
                        grouped[("register", "quarantined")].get(s, 0),
                    )
                    for s in sources
                ],
                rules=sorted(grouped[("register", "rule")].items(), key=lambda kv: (-kv[1], kv[0])),
                waves=[
                    (c, grouped[("waves", "planned")].get(c, 0), grouped[("waves", "allowed")].get(c, 0)) for c in waves
                ],
                batches={
                    "rendered": letters_run.count("render_batch", "success") if letters_run else None,
                    "verified": ops.get(("batches", "verified", ""), 0),
                    "rejected": letters_run.count("verify_batch", "failed") if letters_run else None,
                    "letters": ops.get(("batches", "letters", ""), 0),
                },
                jobs={
                    "delivered": ops.get(("jobs", "delivered", "original"), 0),
                    "reprints": ops.get(("jobs", "delivered", "reprint"), 0),
                    "pieces": ops.get(("jobs", "pieces", "original"), 0),
                    "reprinted": ops.get(("jobs", "pieces", "reprint"), 0),
                    "printed": ops.get(("jobs", "mailed", ""), 0) + ops.get(("jobs", "spoiled", ""), 0),
                    "mailed": ops.get(("jobs", "mailed", ""), 0),
                    "spoiled": ops.get(("jobs", "spoiled", ""), 0),
                },
                returns=sorted(published.returns.get(day, {}).items()),
                bookings={
                    "booked": ops.get(("bookings", "booked", ""), 0),
                    "vaccinated": ops.get(("bookings", "vaccinated", ""), 0),
                },
                progress=published.progress.get(day, {}),
                mailed=published.mailed.get(day, 0),
                docs=docs,
                reports=reports,
            )
        )
    return out
