"""Build the analyst marts for one day, from the warehouse only (``sql/marts/``).

Marts (grain and columns in ``docs/warehouse.md``): ``fct_dispatch_daily``, ``fct_postage_daily``,
``fct_returns_by_reason``, ``fct_print_spoilage``, ``fct_print_load_daily`` (the print shop's capacity and load),
``fct_channel_daily`` (paper and e-mail, bounces, fallback letters, postage saved) and ``fct_operations_daily``
(the control room's counts) are keyed
by a day (wave, mailing, return, hand-off day);
``fct_campaign_progress`` is a cumulative snapshot per as-of day.

Idempotent, and a backfill gives what day-by-day runs give: the run for ``day`` replaces the rows of every
day up to ``day`` of the day-keyed marts (feedback on earlier waves keeps arriving — letters are mailed the
next day, booked within weeks, returned later — so each run refreshes them from what the warehouse holds
now), and replaces the progress snapshot of ``day``. Given the same warehouse, any order of days leaves the
same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import faults, warehouse
from convoc.errors import ConvocError

if TYPE_CHECKING:
    import duckdb

    from convoc.campaigns import Campaign

POSTAGE_FILE = Path(__file__).with_name("postage.yaml")

# Day-keyed marts: table → the column holding the day. Each run replaces the rows up to its day.
DAY_KEYED = {
    "fct_dispatch_daily": "day",
    "fct_postage_daily": "day",
    "fct_returns_by_reason": "day",
    "fct_print_spoilage": "handoff_date",
    "fct_operations_daily": "day",
    "fct_print_load_daily": "day",
    "fct_channel_daily": "day",
}
SNAPSHOT = "fct_campaign_progress"
MARTS = (*DAY_KEYED, SNAPSHOT)


@dataclass(frozen=True)
class PostagePrice:
    valid_from: date
    price_eur: Decimal


def load_postage(path: Path | None = None) -> list[PostagePrice]:
    """Postage prices by the date they apply from (``stats/postage.yaml``), oldest first."""
    import yaml

    path = path or POSTAGE_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        prices = [
            PostagePrice(date.fromisoformat(str(p["from"])), Decimal(str(p["price_eur"])))
            for p in data.get("prices") or []
        ]
    except (OSError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ConvocError(f"{path}: postage prices unreadable ({exc}); expected prices: [{{from, price_eur}}]") from exc
    if not prices:
        raise ConvocError(f"{path}: no postage price (prices: [{{from: YYYY-MM-DD, price_eur: 0.80}}])")
    for p in prices:
        if p.price_eur < 0:
            raise ConvocError(f"{path}: postage price from {p.valid_from} is negative ({p.price_eur})")
    return sorted(prices, key=lambda p: p.valid_from)


def campaign_min_ages(campaigns: list[Campaign], day: date) -> dict[str, int]:
    """The youngest age each campaign active on ``day`` admits (the smallest ``min_age`` of its phases;
    0 when no phase has one): the eligible population of ``fct_campaign_progress``."""
    out = {}
    for campaign in campaigns:
        if campaign.active_on(day):
            ages = [p.min_age for p in campaign.phases if p.min_age is not None]
            out[campaign.campaign] = min(ages) if ages else 0
    return out


def ensure_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Create the marts tables if missing, and the macros their models use (idempotent); the core tables they read
    exist and are migrated (a warehouse of an earlier version: e.g. the channel of each invitation), and the
    landing sources' tables are read by ``fct_operations_daily`` (the quarantine by rule), so they exist too."""
    from convoc.sources.tables import ensure_source_tables

    warehouse.ensure_schema(con)
    ensure_source_tables(con)
    warehouse.run_script(con, "ddl/marts.sql")
    warehouse.create_macros(con)


def _inputs(con: duckdb.DuckDBPyConnection, day: date, min_ages: dict[str, int], prices: list[PostagePrice]) -> None:
    con.execute("create or replace temp table _campaign_rule (campaign varchar, min_age integer)")
    if min_ages:
        con.executemany("insert into _campaign_rule values (?, ?)", sorted(min_ages.items()))
    con.execute("create or replace temp table _postage_price (valid_from date, price_eur decimal(6, 2))")
    con.executemany("insert into _postage_price values (?, ?)", [(p.valid_from, p.price_eur) for p in prices])
    sql = warehouse.select("intermediate/int_load__daily_counts.sql")
    warehouse.execute(con, f"create or replace temp table _load_counts as {sql}", {"day": day})


def build_marts(
    con: duckdb.DuckDBPyConnection,
    day: date,
    *,
    min_ages: dict[str, int] | None = None,
    prices: list[PostagePrice] | None = None,
    campaigns_dir: Path | None = None,
) -> dict[str, int]:
    """Build the marts for ``day`` (see the module docstring); returns the rows each mart now holds for
    ``day``'s partition. ``min_ages`` default: the campaign files (of ``campaigns_dir``, ``CONVOC_CAMPAIGNS``,
    else the shipped ones); ``prices``: ``postage.yaml``.

    Run inside the caller's transaction (``warehouse.transaction``) so a failure leaves the marts as they were.
    """
    if min_ages is None:
        from convoc.campaigns import load_campaigns

        min_ages = campaign_min_ages(load_campaigns(campaigns_dir), day)
    prices = load_postage() if prices is None else prices
    ensure_marts(con)
    _inputs(con, day, min_ages, prices)
    params: dict[str, Any] = {"day": day}
    first_mailing = con.execute(
        "select min(event_date) from core.fct_print_event where status = 'mailed' and event_date <= $day", params
    ).fetchone()
    if first_mailing and first_mailing[0] is not None and first_mailing[0] < prices[0].valid_from:
        raise ConvocError(
            f"no postage price for letters mailed on {first_mailing[0]}: the first price in "
            f"{POSTAGE_FILE.name} applies from {prices[0].valid_from}"
        )
    counts: dict[str, int] = {}
    for table, key in DAY_KEYED.items():
        # table and key come from the constant above, never from input
        warehouse.execute(con, f"delete from marts.{table} where {key} <= $day", params)
        warehouse.execute(con, f"insert into marts.{table} by name {warehouse.select(f'marts/{table}.sql')}", params)
        counts[table] = _count(con, f"select count(*) from marts.{table} where {key} = $day", params)
    warehouse.execute(con, f"delete from marts.{SNAPSHOT} where as_of_date = $day", params)
    warehouse.execute(con, f"insert into marts.{SNAPSHOT} by name {warehouse.select(f'marts/{SNAPSHOT}.sql')}", params)
    counts[SNAPSHOT] = _count(con, f"select count(*) from marts.{SNAPSHOT} where as_of_date = $day", params)
    con.execute("drop table _campaign_rule")
    con.execute("drop table _postage_price")
    con.execute("drop table _load_counts")
    faults.point("stats.marts.before_commit")
    return counts


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0
