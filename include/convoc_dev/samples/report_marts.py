"""A small, hand-made marts database for the report's tests and documentation preview.

Two campaigns (``vaccination``, ``testing``), the 12 cantons of Luxembourg (one commune each), 14 wave
days from Monday 1 to Sunday 14 March 2021. Every figure follows a simple rule (below) so a test can work
the expected numbers out by hand. Canton Vianden has a single vaccination wave of 3 people on
5 March (a small cell), and a few letters are returned because the person died (another small cell).

Rules for canton weight ``w``, day index ``i`` (0 = 1 March) and campaign factor ``m`` (vaccination 5,
testing 12): ``invited = printed = w·m·(1 + i mod 3)``; ``mailed = invited``; ``returned = invited // 40``;
``booked = invited·3 // 5`` (vaccination) or ``invited // 2`` (testing), halved again (``// 2``) for the
waves of 13 and 14 March, still booking; ``vaccinated = booked`` for waves up to 8 March, ``booked // 2``
after. Vaccination waves are age band ``80+`` up to 7 March, ``75-79``
after; testing waves are ``16-54``.

The print shop (``fct_print_load_daily``) can take ``PRINT_CAPACITY`` pieces a day; the pieces planned are the
day's letters (``invited`` of every campaign) and ``reprints``: 4 on 2 March (a small cell), none else;
on the days with ``i mod 3 = 2`` (the busiest), 250 letters waited for the next day.

Channels (``fct_channel_daily``), per day and campaign of ``invited`` letters: ``invited // 10`` by e-mail only,
``invited // 20`` by paper and e-mail, the rest on paper; of the e-mail-only ones, 2 a day were not accepted by
the relay (a small cell) and 1 in 50 bounced hard — each sent on paper instead; the postage saved is the rest
of the e-mail-only ones at 0.80 €.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

FIRST_DAY = date(2021, 3, 1)
LAST_DAY = date(2021, 3, 14)
RECENT_DAY = date(2021, 3, 13)
CANTON_WEIGHTS = {
    "Capellen": 10,
    "Clervaux": 4,
    "Diekirch": 7,
    "Echternach": 4,
    "Esch-sur-Alzette": 38,
    "Grevenmacher": 6,
    "Luxembourg": 40,
    "Mersch": 7,
    "Redange": 4,
    "Remich": 5,
    "Vianden": 0,
    "Wiltz": 4,
}
CAMPAIGN_FACTORS = {"vaccination": 5, "testing": 12}
ELIGIBLE_PER_WEIGHT = {("vaccination", "80+"): 60, ("vaccination", "75-79"): 55, ("testing", "16-54"): 400}
VIANDEN_ELIGIBLE = {("vaccination", "80+"): 120, ("vaccination", "75-79"): 100, ("testing", "16-54"): 2000}
POSTAGE_EUR = 0.80
PRINT_CAPACITY = 7000

DDL = """
create schema if not exists marts;
create or replace table marts.fct_dispatch_daily (
    day date, campaign varchar, dose integer, canton varchar, commune varchar, age_band varchar,
    language varchar, phase varchar, invited bigint, printed bigint, mailed bigint, returned bigint,
    booked bigint, vaccinated bigint, reprinted bigint
);
create or replace table marts.fct_campaign_progress (
    as_of_date date, campaign varchar, age_band varchar, canton varchar,
    eligible bigint, invited bigint, booked bigint, vaccinated bigint, coverage double
);
create or replace table marts.fct_postage_daily (
    day date, campaign varchar, letters_mailed bigint, price_eur decimal(6, 2), cost_eur decimal(12, 2)
);
create or replace table marts.fct_returns_by_reason (day date, campaign varchar, reason varchar, returned bigint);
create or replace table marts.fct_print_spoilage (
    job_id varchar, origin_job_id varchar, kind varchar, handoff_date date, pieces bigint, spoiled bigint,
    spoilage_rate double
);
create or replace table marts.fct_print_load_daily (
    day date, working_day boolean, capacity bigint, reprints bigint, letters bigint, deferred bigint, pieces bigint
);
create or replace table marts.fct_channel_daily (
    day date, campaign varchar, channel varchar, format varchar, invitations bigint, letters bigint,
    emails_sent bigint, emails_failed bigint, bounced_hard bigint, bounced_soft bigint, fallback_letters bigint,
    postage_saved_eur decimal(12, 2)
);
"""


def _age_band(campaign: str, day: date) -> str:
    if campaign == "testing":
        return "16-54"
    return "80+" if day <= date(2021, 3, 7) else "75-79"


def dispatch_rows() -> list[tuple[object, ...]]:
    """The rows of ``marts.fct_dispatch_daily`` (see the module docstring for the rules)."""
    rows: list[tuple[object, ...]] = []
    for i in range((LAST_DAY - FIRST_DAY).days + 1):
        day = FIRST_DAY + timedelta(days=i)
        for campaign, factor in CAMPAIGN_FACTORS.items():
            for canton, weight in CANTON_WEIGHTS.items():
                invited = weight * factor * (1 + i % 3)
                if canton == "Vianden" and campaign == "vaccination" and day == date(2021, 3, 5):
                    invited = 3
                if invited == 0:
                    continue
                booked = invited * 3 // 5 if campaign == "vaccination" else invited // 2
                if day >= RECENT_DAY:  # the latest waves have not finished booking yet
                    booked //= 2
                vaccinated = booked if day <= date(2021, 3, 8) else booked // 2
                phase = "testing" if campaign == "testing" else ("2a" if _age_band(campaign, day) == "80+" else "3")
                rows.append(
                    (day, campaign, 1, canton, canton, _age_band(campaign, day), "fr", phase, invited, invited,
                     invited, invited // 40, booked, vaccinated, 0)
                )  # fmt: skip
    return rows


def build_demo_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the marts tables in ``con`` and fill them with the demo rows."""
    con.execute(DDL)
    con.executemany("insert into marts.fct_dispatch_daily values (" + ", ".join("?" * 15) + ")", dispatch_rows())
    con.execute(
        "create or replace temp table demo_eligible (campaign varchar, age_band varchar, canton varchar, n bigint)"
    )
    con.executemany(
        "insert into demo_eligible values (?, ?, ?, ?)",
        [
            (campaign, band, canton, VIANDEN_ELIGIBLE[campaign, band] if canton == "Vianden" else per * weight)
            for (campaign, band), per in ELIGIBLE_PER_WEIGHT.items()
            for canton, weight in CANTON_WEIGHTS.items()
        ],
    )
    con.execute(
        """
        insert into marts.fct_campaign_progress
        select d.as_of_date, e.campaign, e.age_band, e.canton, e.n,
               coalesce(sum(f.invited), 0), coalesce(sum(f.booked), 0), coalesce(sum(f.vaccinated), 0),
               coalesce(sum(f.vaccinated), 0) / e.n
        from (select distinct day as as_of_date from marts.fct_dispatch_daily) as d
        cross join demo_eligible as e
        left join marts.fct_dispatch_daily as f
            on f.campaign = e.campaign and f.age_band = e.age_band and f.canton = e.canton and f.day <= d.as_of_date
        group by d.as_of_date, e.campaign, e.age_band, e.canton, e.n
        """
    )
    con.execute(
        """
        insert into marts.fct_postage_daily
        select day, campaign, sum(mailed), $price, sum(mailed) * $price
        from marts.fct_dispatch_daily group by day, campaign
        """,
        {"price": POSTAGE_EUR},
    )
    # Returned letters of a day × campaign: a third moved, one deceased on odd days, the rest unknown address.
    con.execute(
        """
        insert into marts.fct_returns_by_reason
        with r as (
            select day, campaign, sum(returned) as n,
                   sum(returned) // 3 as moved,
                   case when sum(returned) > sum(returned) // 3 and day(day) % 2 = 1 then 1 else 0 end as deceased
            from marts.fct_dispatch_daily group by day, campaign
        )
        select day, campaign, 'unknown_address', n - moved - deceased from r
        union all select day, campaign, 'moved', moved from r
        union all select day, campaign, 'deceased', deceased from r
        """
    )
    con.execute(
        "insert into marts.fct_print_spoilage values "
        "('J20210301', 'J20210301', 'print', date '2021-03-01', 4000, 0, 0.0)"
    )
    con.execute(
        """
        insert into marts.fct_print_load_daily
        with letters as (
            select day, sum(invited) as letters, case when day = date '2021-03-02' then 4 else 0 end as reprints,
                   case when date_diff('day', date '2021-03-01', day) % 3 = 2 then 250 else 0 end as deferred
            from marts.fct_dispatch_daily group by day
        )
        select day, true, $capacity, reprints, letters, deferred, letters + reprints from letters
        """,
        {"capacity": PRINT_CAPACITY},
    )
    con.execute(
        """
        insert into marts.fct_channel_daily
        with days as (
            select day, campaign, sum(invited) as invited from marts.fct_dispatch_daily group by day, campaign
        ),
        split as (
            select day, campaign, invited // 10 as email, invited // 20 as paper_email,
                   invited - invited // 10 - invited // 20 as paper, (invited // 10) // 50 as hard
            from days
        )
        select day, campaign, 'paper', 'standard', paper, paper, 0, 0, 0, 0, 0, 0 from split
        union all
        select day, campaign, 'both', 'standard', paper_email, paper_email, paper_email, 0, 0, 0, 0, 0
        from split
        union all
        select day, campaign, 'email', 'standard', email, 2 + hard, email - 2, 2, hard, 0, 2 + hard,
               cast((email - 2 - hard) * 0.80 as decimal(12, 2))
        from split
        """
    )
    con.execute("drop table demo_eligible")
