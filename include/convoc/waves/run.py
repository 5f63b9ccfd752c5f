"""The invitation_waves stage: plan every active campaign's wave of a day, in one transaction, within the
print shop's capacity for the day (``convoc.waves.print_capacity``)."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

from convoc import faults, warehouse
from convoc.campaigns import Campaign, Centres, load_campaigns, load_centres
from convoc.campaigns.print_shop import PrintShop, print_shop_for
from convoc.config import Settings
from convoc.waves.plan import Selection, WaveResult, select_wave, write_wave
from convoc.waves.print_capacity import allocate

if TYPE_CHECKING:
    import duckdb

WAVES_MEMORY_LIMIT = "1GB"
log = logging.getLogger(__name__)


def plan_day(con: duckdb.DuckDBPyConnection, campaigns: list[Campaign], centres: Centres, shop: PrintShop,
             day: date, key: bytes, scale: float = 1.0) -> list[WaveResult]:  # fmt: skip
    """Replace the waves of ``campaigns`` on ``day``: each as the centres allow, together within the print
    shop's capacity less what is owed already — the reprints pending and the paper letters replacing failed
    e-mails (their letters go out that day); records the day in core.fct_print_capacity. The caller holds the
    transaction."""
    capacity = shop.capacity(day, scale)
    pending = warehouse.select("intermediate/int_print__pending_reprints.sql")
    reprints = int(warehouse.execute(con, f"select count(*) from ({pending})").fetchall()[0][0])
    failed = warehouse.select("intermediate/int_letters__fallbacks.sql")
    fallbacks = int(warehouse.execute(con, f"select count(*) from ({failed})", {"wave_date": day}).fetchall()[0][0])
    selections: list[Selection] = []
    try:
        for c in campaigns:
            selections.append(select_wave(con, c, centres, day, scale))
        kept = allocate(con, selections, capacity - reprints - fallbacks)
        results = [write_wave(con, s, table, key) for s, table in zip(selections, kept, strict=True)]
    finally:
        for s in selections:
            s.drop(con)
    con.execute("delete from core.fct_print_capacity where wave_date = $d", {"d": day})
    con.execute(
        "insert into core.fct_print_capacity by name "
        "select $d as wave_date, $working as working_day, $capacity as capacity, $reprints as reprints, "
        "$fallbacks as fallbacks",
        {"d": day, "working": shop.works_on(day), "capacity": capacity, "reprints": reprints, "fallbacks": fallbacks},
    )
    log.info("%s: %d letters, %d reprints and %d letters for failed e-mails for a print-shop capacity of %d pieces%s; "
             "%d letters wait", day, sum(r.invitations for r in results), reprints, fallbacks, capacity,
             "" if shop.works_on(day) else " (the shop is shut)", sum(r.deferred for r in results))  # fmt: skip
    return results


def run_waves(settings: Settings, day: date, key: bytes) -> list[WaveResult]:
    """Plan the day's waves of all campaigns active on ``day``; configuration is validated first."""
    campaigns = [c for c in load_campaigns(settings.campaigns) if c.active_on(day)]
    centres = load_centres()
    shop = print_shop_for(settings)
    # Ranking a whole population per centre does not spill well: give it more room than the default.
    with warehouse.connect(settings.warehouse, memory_limit=WAVES_MEMORY_LIMIT) as con:
        warehouse.ensure_schema(con)
        with warehouse.transaction(con):
            results = plan_day(con, campaigns, centres, shop, day, key, settings.capacity_scale)
            faults.point("waves.before_commit")
    return results
