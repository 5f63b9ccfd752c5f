"""Plan one day's wave of a campaign into ``core.fct_invitation`` and ``core.fct_wave`` (their one writer).

Per centre, the wave is as large as the capacity over the booking window (less the slots already booked,
times the campaign's share) divided by the expected uptake, less the letters still open. Residents are
chosen by ``sql/intermediate/int_wave__selected.sql``: second doses first, then by phase, oldest first.
Idempotent per campaign × day: the day's rows are replaced, and only what happened before the day counts.
An invitation's status (and print and return) is not stored: ``core.dim_invitation_current`` derives it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from convoc import warehouse
from convoc.campaigns import Campaign, Centres
from convoc.codes import make_codes
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "wave_date": self.wave_date.isoformat(),
            "invitations": self.invitations,
            "by_centre": self.by_centre,
            "quota": self.quota,
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


def plan_wave(
    con: duckdb.DuckDBPyConnection,
    campaign: Campaign,
    centres: Centres,
    day: date,
    key: bytes,
    capacity_scale: float = 1.0,
) -> WaveResult:
    """Replace ``campaign``'s wave of ``day`` in core.fct_invitation; the caller holds the transaction."""
    import polars as pl

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
    else:
        load_rows = warehouse.execute(con, warehouse.select("intermediate/int_wave__centre_load.sql"), params)
        load = {centre: (int(o), int(b)) for centre, o, b in load_rows.fetchall()}
        capacity = window_capacity(centres, day, campaign.booking_window_days, capacity_scale)
        quota = quotas(campaign, capacity, load)
        model = "intermediate/int_wave__selected.sql"

    con.execute("delete from core.fct_invitation where campaign = $c and wave_date = $d",
                {"c": campaign.campaign, "d": day})  # fmt: skip
    _register_tables(con, campaign, centres, day, quota)
    selected = warehouse.query(con, warehouse.select(model), params)
    ids = [
        f"{campaign.campaign}:{dose}:{resident}:{attempt}"
        for dose, resident, attempt in selected.select("dose", "resident_id", "attempt").iter_rows()
    ]
    valid_from = day + timedelta(days=1)
    wave = selected.with_columns(
        pl.Series("invitation_id", ids, dtype=pl.String),
        pl.lit(campaign.campaign).alias("campaign"),
        pl.lit(day).alias("wave_date"),
        pl.Series("booking_code", make_codes(ids, key, campaign.code_suffix), dtype=pl.String),
        pl.lit(valid_from).alias("valid_from"),
        pl.lit(valid_from + timedelta(days=campaign.validity_days - 1)).alias("valid_until"),
    )
    con.register("_wave", wave)
    con.execute("insert into core.fct_invitation by name select * from _wave")
    # Exactly once: never two open (unbooked, unexpired) invitations for one resident × dose.
    duplicates = warehouse.query(con, warehouse.select("intermediate/int_wave__double_open.sql"), params).height
    if duplicates:
        raise ConvocError(f"{campaign.campaign} {day}: {duplicates} residents would hold two open invitations")
    con.execute("delete from core.fct_wave where campaign = $c and wave_date = $d", {"c": campaign.campaign, "d": day})
    con.execute(
        "insert into core.fct_wave values ($c, $d, $n, $q)",
        {"c": campaign.campaign, "d": day, "n": wave.height, "q": sum(quota.values())},
    )
    for name in ("_wave", "_phase", "_catchment", "_quota", "_band"):
        con.unregister(name)
    by_centre = dict(wave.group_by("centre").len().sort("centre").iter_rows())
    log.info("%s wave %s: %d invitations %s (quota %s)", campaign.campaign, day, wave.height, by_centre, quota)
    return WaveResult(campaign.campaign, day, wave.height, by_centre, quota)
