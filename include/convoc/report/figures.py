"""The figures of one summary report, read from the analyst marts only (never core tables, never names).

A report covers a *period* ending on its as-of day — ``daily``: that day; ``weekly``: the 7 days ending on
it — and compares with the previous report (the day before, or the week before). Cumulative figures are
"to date" at the end of each period. Everything leaves this module already protected by
:mod:`convoc.report.suppress`.

Tables read: ``marts.fct_dispatch_daily``, ``marts.fct_campaign_progress``, ``marts.fct_postage_daily``,
``marts.fct_returns_by_reason``, ``marts.fct_print_load_daily``, through the queries of ``sql/reports/``. The
connection may (and should) be read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

from convoc import warehouse
from convoc.report.suppress import Count, Share, protect, protect_group

if TYPE_CHECKING:
    import duckdb

Period = Literal["daily", "weekly"]
PERIODS: tuple[Period, ...] = ("daily", "weekly")
REASONS = ("unknown_address", "moved", "deceased")
CHART_DAYS: dict[Period, int] = {"daily": 14, "weekly": 28}
"""Days drawn in the per-day charts, ending on the as-of day."""


@dataclass(frozen=True, slots=True)
class Window:
    """The report period and the previous report's period (inclusive bounds)."""

    start: date
    end: date
    previous_start: date
    previous_end: date


def window(as_of: date, period: Period) -> Window:
    days = 1 if period == "daily" else 7
    start = as_of - timedelta(days=days - 1)
    return Window(start, as_of, start - timedelta(days=days), as_of - timedelta(days=days))


@dataclass(frozen=True, slots=True)
class Headline:
    """Headline figures of one scope (a campaign, or all campaigns) for one period."""

    mailed_period: Count
    mailed_total: Count
    invited: Count
    booked: Count
    vaccinated: Count
    eligible: Count
    returned: Count
    postage_eur: float

    @property
    def uptake(self) -> Share:
        return Share(self.booked, self.invited)

    @property
    def coverage(self) -> Share:
        return Share(self.vaccinated, self.eligible)


@dataclass(frozen=True, slots=True)
class CantonRow:
    canton: str
    invited: Count
    mailed_period: Count
    mailed: Count
    booked: Count
    returned: Count

    @property
    def uptake(self) -> Share:
        return Share(self.booked, self.invited)


@dataclass(frozen=True, slots=True)
class ReturnRow:
    reason: str
    period: Count
    total: Count


@dataclass(frozen=True, slots=True)
class PrintLoadRow:
    """One day of the print shop: its capacity (pieces; 0 when shut) against the pieces planned."""

    day: date
    working_day: bool
    capacity: int
    pieces: Count
    reprints: Count
    deferred: Count

    @property
    def load(self) -> float | None:
        """Pieces planned ÷ capacity (None when the shop is shut, or a count is hidden)."""
        return self.pieces.value / self.capacity if self.capacity and self.pieces.shown else None


@dataclass(frozen=True, slots=True)
class ChannelRow:
    """The period's invitations of one channel (paper, both, email) and how they reached the residents."""

    channel: str
    invitations: Count
    letters: Count
    emails_sent: Count
    emails_failed: Count
    bounced_hard: Count
    fallback_letters: Count
    postage_saved_eur: float | None  # None: hidden with the count it is made of


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything one report shows. ``headline`` maps a campaign (or ``None``: all) to (now, previous)."""

    as_of: date
    period: Period
    window: Window
    campaigns: tuple[str, ...]
    headline: dict[str | None, tuple[Headline, Headline]]
    days: tuple[date, ...]
    letters: dict[str, list[Count]]
    uptake: dict[str, list[Share]]
    age_bands: tuple[str, ...]
    coverage: dict[str, list[Share]]
    cantons: list[CantonRow]
    canton_total: CantonRow
    returns: list[ReturnRow]
    print_load: list[PrintLoadRow]
    channels: list[ChannelRow] = field(default_factory=list)


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of ``sql/reports/<query>.sql``."""
    rows: list[tuple[Any, ...]] = warehouse.execute(con, warehouse.select(f"reports/{query}.sql"), params).fetchall()
    return rows


def _by_key(rows: Sequence[tuple[Any, ...]]) -> dict[Any, tuple[Any, ...]]:
    return {row[0]: tuple(row[1:]) for row in rows}


def _campaigns(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[str, ...]:
    return tuple(str(r[0]) for r in _rows(con, "campaigns", {"as_of": as_of}))


def _headlines(
    con: duckdb.DuckDBPyConnection, campaigns: tuple[str, ...], start: date, end: date
) -> dict[str | None, Headline]:
    params = {"start": start, "end": end}
    dispatch = _by_key(_rows(con, "headline_dispatch", params))
    progress = _by_key(_rows(con, "headline_progress", params))
    postage = _by_key(_rows(con, "headline_postage", params))

    def column(source: dict[Any, tuple[Any, ...]], k: int) -> list[int]:
        return [int(source.get(c, (0,) * 5)[k] or 0) for c in campaigns]

    # Per-campaign cells are published next to their total: protect them as a group.
    measures = {
        "mailed_period": column(dispatch, 0),
        "mailed_total": column(dispatch, 1),
        "returned": column(dispatch, 2),
        "eligible": column(progress, 0),
        "invited": column(progress, 1),
        "booked": column(progress, 2),
        "vaccinated": column(progress, 3),
    }
    grouped = {name: protect_group(values) for name, values in measures.items()}
    result: dict[str | None, Headline] = {}
    for k, campaign in enumerate(campaigns):
        cost = float(postage.get(campaign, (0.0,))[0] or 0.0)
        result[campaign] = Headline(postage_eur=cost, **{name: cells[k] for name, cells in grouped.items()})
    result[None] = Headline(
        postage_eur=sum(h.postage_eur for h in result.values()),
        **{name: protect(sum(values)) for name, values in measures.items()},
    )
    return result


def _daily_series(
    con: duckdb.DuckDBPyConnection, campaigns: tuple[str, ...], days: tuple[date, ...]
) -> tuple[dict[str, list[Count]], dict[str, list[Share]]]:
    found = {
        (r[0], r[1]): (int(r[2]), int(r[3]), int(r[4]))
        for r in _rows(con, "letters_by_day", {"start": days[0], "end": days[-1]})
    }
    letters: dict[str, list[Count]] = {c: [] for c in campaigns}
    uptake: dict[str, list[Share]] = {c: [] for c in campaigns}
    for day in days:
        values = [found.get((day, c), (0, 0, 0)) for c in campaigns]
        mailed = protect_group([v[0] for v in values])
        invited = protect_group([v[1] for v in values])
        booked = protect_group([v[2] for v in values])
        for k, campaign in enumerate(campaigns):
            letters[campaign].append(mailed[k])
            uptake[campaign].append(Share(booked[k], invited[k]))
    return letters, uptake


def age_bands(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The marts' age bands, youngest first, as the ``age_band`` macro defines them (``sql/macros/age.sql``)."""
    warehouse.create_macros(con)
    return tuple(str(r[0]) for r in _rows(con, "age_bands", {}))


def _coverage(
    con: duckdb.DuckDBPyConnection, campaigns: tuple[str, ...], bands: tuple[str, ...], end: date
) -> dict[str, list[Share]]:
    found = {(r[0], r[1]): (int(r[2]), int(r[3])) for r in _rows(con, "coverage_by_age_band", {"end": end})}
    result: dict[str, list[Share]] = {}
    for campaign in campaigns:
        values = [found.get((campaign, band), (0, 0)) for band in bands]
        vaccinated = protect_group([v[0] for v in values])
        eligible = protect_group([v[1] for v in values])
        result[campaign] = [Share(n, d) for n, d in zip(vaccinated, eligible, strict=True)]
    return result


def _cantons(con: duckdb.DuckDBPyConnection, start: date, end: date) -> tuple[list[CantonRow], CantonRow]:
    rows = _rows(con, "cantons", {"start": start, "end": end})
    names = [str(r[0]) for r in rows]
    columns = [[int(r[k]) for r in rows] for k in range(1, 6)]
    cells = [protect_group(values) for values in columns]
    table = [CantonRow(name, *(col[i] for col in cells)) for i, name in enumerate(names)]
    total = CantonRow("", *(protect(sum(values)) for values in columns))
    return table, total


def _returns(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[ReturnRow]:
    found = _by_key(_rows(con, "returns_by_reason", {"start": start, "end": end}))
    values = [found.get(reason, (0, 0)) for reason in REASONS]
    period = protect_group([int(v[0]) for v in values])
    total = protect_group([int(v[1]) for v in values])
    return [ReturnRow(reason, p, t) for reason, p, t in zip(REASONS, period, total, strict=True)]


def _print_load(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[PrintLoadRow]:
    # pieces are letters, one per person: protected like every count of letters
    return [
        PrintLoadRow(day, bool(working), int(capacity), protect(int(pieces)), protect(int(reprints)),
                     protect(int(deferred)))
        for day, working, capacity, pieces, reprints, deferred in _rows(con, "print_load", {"start": start, "end": end})
    ]  # fmt: skip


SMALL_AMOUNT_EUR = 5.0
"""Below this, a postage amount is hidden: at 0.80–1.00 € a letter it is made of fewer than five letters."""


def _channels(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[ChannelRow]:
    # every cell counts people: each protected on its own (no total is shown beside them)
    out = []
    for channel, invitations, letters, sent, failed, hard, fallback, saved in _rows(
        con, "channels", {"start": start, "end": end}
    ):
        emails = protect(int(sent))
        out.append(
            ChannelRow(
                channel,
                protect(int(invitations)),
                protect(int(letters)),
                emails,
                protect(int(failed)),
                protect(int(hard)),
                protect(int(fallback)),
                # an amount made of 1 to 4 letters (under 5 € at any price of the period) would tell the count
                float(saved) if emails.shown and not 0 < float(saved) < SMALL_AMOUNT_EUR else None,
            )
        )
    return out


def read_figures(con: duckdb.DuckDBPyConnection, as_of: date, period: Period) -> Figures:
    """Read and protect every figure of the ``period`` report ending on ``as_of``. Reads only; no side effect."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    win = window(as_of, period)
    campaigns = _campaigns(con, as_of)
    now = _headlines(con, campaigns, win.start, win.end)
    before = _headlines(con, campaigns, win.previous_start, win.previous_end)
    # The daily charts span at most CHART_DAYS, and only days the campaigns have data for (a first week draws
    # one week of axis, not four).
    first = first_data_day(con) or as_of
    n_days = max(1, min(CHART_DAYS[period], (as_of - first).days + 1))
    days = tuple(as_of - timedelta(days=n_days - 1 - k) for k in range(n_days))
    letters, uptake = _daily_series(con, campaigns, days)
    bands = age_bands(con)
    cantons, canton_total = _cantons(con, win.start, win.end)
    return Figures(
        as_of=as_of,
        period=period,
        window=win,
        campaigns=campaigns,
        headline={key: (now[key], before[key]) for key in now},
        days=days,
        letters=letters,
        uptake=uptake,
        age_bands=bands,
        coverage=_coverage(con, campaigns, bands, win.end),
        cantons=cantons,
        canton_total=canton_total,
        returns=_returns(con, win.start, win.end),
        print_load=_print_load(con, win.start, win.end),
        channels=_channels(con, win.start, win.end),
    )


def first_data_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The earliest wave day in ``marts.fct_dispatch_daily`` (None when it is empty)."""
    row = con.execute("select min(day) from marts.fct_dispatch_daily").fetchone()
    return None if row is None or row[0] is None else row[0]  # type: ignore[no-any-return]


def last_data_day(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest wave day in ``marts.fct_dispatch_daily`` (None when it is empty)."""
    row = con.execute("select max(day) from marts.fct_dispatch_daily").fetchone()
    return None if row is None or row[0] is None else row[0]  # type: ignore[no-any-return]
