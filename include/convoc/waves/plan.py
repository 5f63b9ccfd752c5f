"""Plan one day's wave of a campaign into ``core.fct_invitation`` and ``core.fct_wave`` (their one writer).

Per centre, the wave is as large as the capacity over the booking window (less the slots already booked,
times the campaign's share) divided by the expected uptake, less the letters still open. Residents are
chosen by ``sql/intermediate/int_wave__selected.sql``: second doses first, then by phase, oldest first.
Idempotent per campaign × day: the day's rows are replaced, and only what happened before the day counts.
A wave is selected (``select_wave``: what the centres allow), cut to the print shop's capacity across the
day's campaigns (``convoc.waves.print_capacity``), then written (``write_wave``). A wave never leaves the
warehouse: the selections are temp tables of the waves' connection, ranked and cut there, and the insert itself
makes the ids and booking codes — a national mailing of 6.5 M letters is bounded by DuckDB's memory limit, not by
the population.
An invitation's status (and print and return) is not stored: ``core.dim_invitation_current`` derives it.
"""

from __future__ import annotations

import logging
import math
import re
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from convoc import warehouse
from convoc.campaigns import Campaign, Centres
from convoc.codes import check_suffix, hmac_pads
from convoc.errors import ConvocError

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


class NoSnapshot(ConvocError):
    """No register snapshot is valid on the wave day."""


@dataclass(frozen=True)
class WaveResult:
    campaign: str
    wave_date: date
    invitations: int
    by_centre: dict[str, int]
    quota: dict[str, int]
    deferred: int = 0  # letters the centres allowed that the print shop could not take that day

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "wave_date": self.wave_date.isoformat(),
            "invitations": self.invitations,
            "by_centre": self.by_centre,
            "quota": self.quota,
            "deferred": self.deferred,
        }


def _months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (the month's last day where it has fewer days)."""
    import calendar

    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def window_capacity(centres: Centres, day: date, days: int, scale: float) -> dict[str, int]:
    """People each centre open on ``day`` can take over ``days`` days from it (closing days excluded).

    A centre opening later in the window is left out: no letter can suggest it yet.
    """
    open_today = set(centres.daily_capacity(day, scale))
    total = dict.fromkeys(sorted(open_today), 0)
    for k in range(days):
        for centre, people in centres.daily_capacity(day + timedelta(days=k), scale).items():
            if centre in open_today:
                total[centre] += people
    return total


def quotas(campaign: Campaign, capacity: dict[str, int], load: dict[str, tuple[int, int]]) -> dict[str, int]:
    """Letters each centre may send: (capacity × share − booked) ÷ uptake − open letters, never below 0."""
    out = {}
    for centre, people in capacity.items():
        open_letters, booked = load.get(centre, (0, 0))
        free = people * campaign.capacity_share - booked
        out[centre] = max(0, math.floor(free / campaign.expected_uptake) - open_letters)
    return out


def _register_tables(con: duckdb.DuckDBPyConnection, campaign: Campaign, centres: Centres, day: date,
                     quota: dict[str, int]) -> None:  # fmt: skip
    import polars as pl

    phase = pl.DataFrame(
        [(p.phase, p.rank, p.min_age, p.max_age, list(p.groups)) for p in campaign.phases],
        schema={"phase": pl.String, "phase_rank": pl.Int32, "min_age": pl.Int32, "max_age": pl.Int32,
                "groups": pl.List(pl.String)},
        orient="row",
    )  # fmt: skip
    catchment = pl.DataFrame(
        [(commune, centres.centre_for(commune, day)) for commune in sorted(centres.catchment)],
        schema={"commune": pl.String, "centre": pl.String},
        orient="row",
    ).drop_nulls()
    bounds = [*campaign.age_bands, 200] if campaign.age_bands else [0, 200]
    band = pl.DataFrame(
        {"lower_age": bounds[:-1], "upper_age": bounds[1:]}, schema={"lower_age": pl.Int32, "upper_age": pl.Int32}
    )
    con.register("_band", band)
    quota_frame = pl.DataFrame(sorted(quota.items()), schema={"centre": pl.String, "quota": pl.Int64}, orient="row")
    con.register("_phase", phase)
    con.register("_catchment", catchment)
    con.register("_quota", quota_frame)
    con.register("_commune_filter", pl.DataFrame({"commune": list(campaign.communes)}, schema={"commune": pl.String}))


@dataclass(frozen=True)
class Selection:
    """A campaign's wave of a day as the centres allow it, before the print shop's capacity: the rows of
    ``int_wave__selected`` / ``int_wave__sample`` / ``int_wave__mailing`` with their print order (``phase_rank``,
    ``print_order``) and each resident's channel and format, kept in the warehouse connection's temp table
    ``table`` (a national mailing is millions of rows: DuckDB holds them within its memory limit, spilling to
    disk past it); ``rows`` of them, ``paper`` of them letters (not e-mail only)."""

    campaign: Campaign
    wave_date: date
    quota: dict[str, int]
    table: str
    rows: int
    paper: int

    def drop(self, con: duckdb.DuckDBPyConnection) -> None:
        """Remove the selection's temp table (and the print shop's cut of it, if any)."""
        con.execute(f"drop table if exists {self.table}")
        con.execute(f"drop table if exists {self.table}__kept")


def _table_for(campaign: Campaign) -> str:
    """The selection's temp table: the campaign's name as far as SQL takes it, and a checksum of the whole name (two
    campaigns ``covid-19`` and ``covid_19`` must not share a table)."""
    readable = re.sub(r"[^A-Za-z0-9_]", "_", campaign.campaign)[:40]
    return f"_selection__{readable}_{zlib.crc32(campaign.campaign.encode()):08x}"


def select_wave(
    con: duckdb.DuckDBPyConnection,
    campaign: Campaign,
    centres: Centres,
    day: date,
    capacity_scale: float = 1.0,
) -> Selection:
    """The residents ``campaign`` would invite on ``day`` within the centres' capacity (nothing written).
    Reads only what happened before ``day``, so the campaigns of a day are selected independently."""
    snapshot = con.execute(
        "select count(*) from core.dim_resident where valid_from <= $d and (valid_to is null or valid_to > $d)",
        {"d": day},
    ).fetchall()[0]
    if not snapshot or not snapshot[0]:
        raise NoSnapshot(
            f"no register snapshot is valid on {day:%Y-%m-%d}: run register_ingest for that day or an earlier one"
        )
    params: dict[str, Any] = {
        "campaign": campaign.campaign,
        "wave_date": day,
        "booking_window_days": campaign.booking_window_days,
        "doses": campaign.doses,
        "dose_interval_days": campaign.dose_interval_days,
        "reinvite_wait_days": campaign.reinvite_wait_days,
        "max_attempts": campaign.max_attempts,
        "requires_campaign": campaign.requires[0] if campaign.requires else "",
        "requires_dose": campaign.requires[1] if campaign.requires else 0,
        "last_dose_before": _months_before(day, campaign.interval_months(day)) if campaign.requires else day,
    }
    if campaign.kind == "sample":
        quota = {"all": round(campaign.daily_invitations * capacity_scale)}
        params.update(
            daily=quota["all"],
            min_age=min((p.min_age or 0) for p in campaign.phases),
            by_canton="canton" in campaign.strata,
            by_age_band="age_band" in campaign.strata,
            by_sex="sex" in campaign.strata,
        )
        model = "intermediate/int_wave__sample.sql"
    elif campaign.kind == "mailing":
        phase = campaign.phases[0]
        params.update(
            min_age=phase.min_age or 0,
            max_age=phase.max_age if phase.max_age is not None else 200,
            all_communes=not campaign.communes,
            per_household=campaign.per == "household",
        )
        quota = {}  # no booking capacity: the quota is what is eligible (below)
        model = "intermediate/int_wave__mailing.sql"
    else:
        load_rows = warehouse.execute(con, warehouse.select("intermediate/int_wave__centre_load.sql"), params)
        load = {centre: (int(o), int(b)) for centre, o, b in load_rows.fetchall()}
        capacity = window_capacity(centres, day, campaign.booking_window_days, capacity_scale)
        quota = quotas(campaign, capacity, load)
        model = "intermediate/int_wave__selected.sql"
    table = _table_for(campaign)
    _register_tables(con, campaign, centres, day, quota)
    try:
        warehouse.execute(con, f"create or replace temp table {table} as {_with_channels(model)}", params)
    finally:
        for name in ("_phase", "_catchment", "_quota", "_band", "_commune_filter"):
            con.unregister(name)
    rows, paper = con.execute(f"select count(*), count(*) filter (where channel <> 'email') from {table}").fetchall()[0]
    if campaign.kind == "mailing":
        quota = {"all": int(rows)}
    return Selection(campaign, day, quota, table, int(rows), int(paper))


def _with_channels(model: str) -> str:
    """The selection ``model``'s rows with the channel and format of each resident's contact preference on the
    day (paper and standard for everyone who stated none)."""
    return f"""
        select selected.*, coalesce(channels.channel, 'paper') as channel,
            coalesce(channels.format, 'standard') as format
        from ({warehouse.select(model)}) as selected
        left join ({warehouse.select("intermediate/int_wave__channels.sql")}) as channels using (resident_id)
    """


def write_wave(con: duckdb.DuckDBPyConnection, selection: Selection, kept: str, key: bytes) -> WaveResult:
    """Replace the campaign's wave of the day in core.fct_invitation by the rows of temp table ``kept`` (the
    selection's rows the print shop can take: ``convoc.waves.print_capacity.allocate``) and record it in
    core.fct_wave with the letters deferred; the caller holds the transaction. Ids and booking codes are made by
    the warehouse in the insert itself (``sql/intermediate/int_wave__invitations.sql``): nothing of the wave
    passes through Python, whatever its size."""
    campaign, day = selection.campaign, selection.wave_date
    con.execute("delete from core.fct_invitation where campaign = $c and wave_date = $d",
                {"c": campaign.campaign, "d": day})  # fmt: skip
    inner_pad, outer_pad = hmac_pads(key)
    valid_from = day + timedelta(days=1)
    params = {
        "campaign": campaign.campaign,
        "wave_date": day,
        "valid_from": valid_from,
        "valid_until": valid_from + timedelta(days=campaign.validity_days - 1),
        "suffix": check_suffix(campaign.code_suffix),
        "inner_pad": inner_pad,
        "outer_pad": outer_pad,
    }
    con.execute(f"create or replace temp view _wave_kept as select * from {kept}")
    try:
        invitations = warehouse.select("intermediate/int_wave__invitations.sql")
        warehouse.execute(con, f"insert into core.fct_invitation by name select * from ({invitations})", params)
        counted = con.execute(
            "select centre, count(*), count(*) filter (where channel = 'email') from _wave_kept "
            "group by centre order by centre"
        ).fetchall()
    finally:
        con.execute("drop view if exists _wave_kept")
    by_centre = {str(centre): int(n) for centre, n, _ in counted}
    written, emails = sum(by_centre.values()), sum(int(e) for *_, e in counted)
    # Exactly once: never two open (unbooked, unexpired) invitations for one resident × dose.
    check = {"campaign": campaign.campaign, "wave_date": day}
    duplicates = warehouse.query(con, warehouse.select("intermediate/int_wave__double_open.sql"), check).height
    if duplicates:
        raise ConvocError(f"{campaign.campaign} {day}: {duplicates} residents would hold two open invitations")
    deferred = selection.rows - written
    _record_wave(con, selection, letters=written - emails, emails=emails, deferred=deferred)
    log.info("%s wave %s: %d invitations %s (quota %s, %d deferred by the print shop)",
             campaign.campaign, day, written, by_centre, selection.quota, deferred)  # fmt: skip
    return WaveResult(campaign.campaign, day, written, by_centre, selection.quota, deferred)


def _record_wave(con: duckdb.DuckDBPyConnection, selection: Selection, *, letters: int, emails: int,
                 deferred: int) -> None:  # fmt: skip
    """The wave's line in core.fct_wave, replacing the campaign × day's."""
    campaign, day = selection.campaign.campaign, selection.wave_date
    con.execute("delete from core.fct_wave where campaign = $c and wave_date = $d", {"c": campaign, "d": day})
    con.execute(
        "insert into core.fct_wave (campaign, wave_date, letters, quota, deferred, emails) "
        "values ($c, $d, $n, $q, $deferred, $emails)",
        {"c": campaign, "d": day, "n": letters, "q": sum(selection.quota.values()), "deferred": deferred,
         "emails": emails},
    )  # fmt: skip


def plan_wave(
    con: duckdb.DuckDBPyConnection,
    campaign: Campaign,
    centres: Centres,
    day: date,
    key: bytes,
    capacity_scale: float = 1.0,
) -> WaveResult:
    """Replace ``campaign``'s wave of ``day`` with everything the centres allow (no print-shop limit: the
    day's waves together go through ``convoc.waves.run.run_waves``); the caller holds the transaction."""
    selection = select_wave(con, campaign, centres, day, capacity_scale)
    try:
        return write_wave(con, selection, selection.table, key)
    finally:
        selection.drop(con)
