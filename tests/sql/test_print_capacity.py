"""The print shop's capacity across a day's campaigns (convoc.waves.run.plan_day, print_shop.yaml), on an
in-memory DuckDB: the order the letters are taken in, the reprints counted first, what waits, shut days."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from convoc.campaigns import CampaignError, load_campaigns
from convoc.campaigns.print_shop import PrintShop, load_print_shop, parse_print_shop, print_shop_for
from convoc.config import Settings
from convoc.waves.run import plan_day
from tests.sql.test_waves import KEY, add_household, add_resident, campaign, centres, con, invited, sample

__all__ = ["con"]  # the fixture

LEGACY_COLUMNS = (
    "invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, booking_code, valid_from, "
    "valid_until, centre, language"
)
"""The invitation columns these rows give (channel and format take their defaults: paper, standard)."""

D = date(2021, 2, 1)  # a Monday
EVERY_DAY = frozenset(range(7))


def shop(pieces: int, days: frozenset[int] = EVERY_DAY, closed: frozenset[date] = frozenset()) -> PrintShop:
    return PrintShop(pieces_per_day=pieces, working_days=days, closed=closed)


def day(
    con: duckdb.DuckDBPyConnection, on: date, pieces: int, *campaigns: Any, **kw: Any
) -> dict[str, tuple[int, int]]:
    """Plan ``on`` (default campaigns: vaccination); campaign → (letters, deferred)."""
    results = plan_day(con, list(campaigns) or [campaign()], centres(lines=10), shop(pieces, **kw), on, KEY)
    return {r.campaign: (r.invitations, r.deferred) for r in results}


def first_dose_given(con: duckdb.DuckDBPyConnection, rid: int, given: date) -> None:
    """Vaccination dose 1 of ``rid`` invited and given ``given`` (its second dose is due 21 days later)."""
    inv = f"vaccination:1:{rid}:1"
    con.execute(
        "insert into core.fct_invitation ("
        + LEGACY_COLUMNS
        + ") values ($i, $r, 'vaccination', 1, 1, $w, '6', $c, $w, $w, 'c1', 'fr')",
        {"i": inv, "r": rid, "w": given - timedelta(days=5), "c": f"CODE{rid}"},
    )
    con.execute("insert into core.fct_booking values ($c, $i, $b, 'c1', $g, $g, 'b.csv')",
                {"c": f"CODE{rid}", "i": inv, "b": given - timedelta(days=3), "g": given})  # fmt: skip


def spoiled(con: duckdb.DuckDBPyConnection, pieces: int) -> None:
    """``pieces`` pieces of job J20210129 reported spoiled by the print shop (reprints pending)."""
    for piece in range(1, pieces + 1):
        con.execute(
            "insert into core.fct_print_piece values ('J20210129', 'J20210129', $p, $i, 'b.pdf', $p, 1, false)",
            {"p": piece, "i": f"vaccination:1:{9000 + piece}:1"},
        )
        con.execute(
            "insert into core.fct_print_event values ('J20210129', 'J20210129', $p, $i, 'spoiled', "
            "date '2021-01-30', 'print_confirm_20210130.csv')",
            {"p": piece, "i": f"vaccination:1:{9000 + piece}:1"},
        )


def wave_rows(con: duckdb.DuckDBPyConnection, on: date) -> list[tuple[Any, ...]]:
    return con.execute(
        "select campaign, letters, quota, deferred from core.fct_wave where wave_date = $d order by campaign",
        {"d": on},
    ).fetchall()


def test_second_doses_then_phases_oldest_first_then_samples(con: duckdb.DuckDBPyConnection) -> None:
    # 4 due a second dose (young: phase 6), 10 first doses of phase 2a (75+) and 10 of phase 6, and a sample
    for rid in range(1, 5):
        add_resident(con, rid, "1990-01-01")
        first_dose_given(con, rid, D - timedelta(days=30))
    for k in range(10):
        add_resident(con, 100 + k, f"19{30 + k}-01-01")  # 81–91
        add_resident(con, 200 + k, f"19{70 + k}-01-01")  # 32–41
    for h in range(20):  # aged 13: sampled, not vaccinated
        add_household(con, 1000 + 3 * h, 3, "Luxembourg" if h % 2 else "Esch-sur-Alzette", "2007-06-01")
    vacc, test = campaign(), sample(daily_invitations=12, strata=["canton"])
    # the centres allow all 24 vaccination letters (of 120), the sample 12: 36 wanted, the shop takes 20
    assert day(con, D, 20, vacc, test) == {"vaccination": (20, 4), "testing": (0, 12)}
    rows = invited(con, D)
    assert [r for r in rows if r[1] == 2] == [(rid, 2, 1, "dose 2") for rid in range(1, 5)]
    first = [r[0] for r in rows if r[1] == 1]
    assert first[:10] == list(range(100, 110))  # phase 2a, every one of them
    # of phase 6, the six oldest (born 1970–1975): the four youngest wait
    assert sorted(first[10:]) == list(range(200, 206))
    assert wave_rows(con, D) == [("testing", 0, 12, 12), ("vaccination", 20, 120, 4)]  # quota: the centres'
    assert con.execute("select * from core.fct_print_capacity").fetchall() == [(D, True, 20, 0, 0)]


def test_invitations_by_email_only_take_no_paper_and_never_wait(con: duckdb.DuckDBPyConnection) -> None:
    for k in range(10):
        add_resident(con, 100 + k, f"19{30 + k}-01-01")  # 81–91: phase 2a
    for rid, channel in ((100, "email"), (101, "email"), (102, "both"), (109, "email")):
        con.execute(
            "insert into core.dim_contact_preference values ($m, 'x@y.lu', $c, 'standard', false, "
            "date '2021-01-20', null, true, 'contact_preferences_20210120.csv', 2)",
            {"m": f"m{rid}", "c": channel},
        )
    # 7 letters wanted (both counts: it is a letter too), the shop takes 4; the 3 e-mails go out regardless
    assert day(con, D, 4) == {"vaccination": (7, 3)}
    channels = con.execute(
        "select resident_id, channel from core.fct_invitation where wave_date = $d order by 1", {"d": D}
    ).fetchall()
    assert channels == [(100, "email"), (101, "email"), (102, "both"), (103, "paper"), (104, "paper"),
                        (105, "paper"), (109, "email")]  # fmt: skip
    assert con.execute("select letters, emails, deferred from core.fct_wave").fetchall() == [(4, 3, 3)]


def test_the_same_share_of_every_stratum_when_a_sample_is_cut(con: duckdb.DuckDBPyConnection) -> None:
    for h in range(60):
        add_household(con, 1 + 3 * h, 3, "Luxembourg" if h < 40 else "Esch-sur-Alzette", "1980-06-01")
    con.execute("update core.dim_resident set canton = 'Esch-sur-Alzette' where commune = 'Esch-sur-Alzette'")
    assert day(con, D, 15, sample(daily_invitations=30, strata=["canton"])) == {"testing": (15, 15)}
    by_canton = con.execute(
        "select r.canton, count(*) from core.fct_invitation i join core.dim_resident r using (resident_id) "
        "group by 1 order by 1"
    ).fetchall()
    # the uncut sample is 20 + 10 (one a household: 40 and 20); half of it keeps the two-to-one split
    assert by_canton == [("Esch-sur-Alzette", 5), ("Luxembourg", 10)]


def test_reprints_count_against_the_capacity(con: duckdb.DuckDBPyConnection) -> None:
    for rid in range(1, 31):
        add_resident(con, rid, f"19{40 + rid:02d}-01-01")
    spoiled(con, 7)
    assert day(con, D, 25) == {"vaccination": (18, 12)}
    assert con.execute("select * from core.fct_print_capacity").fetchall() == [(D, True, 25, 7, 0)]
    # more reprints than capacity: no new letter at all
    con.execute("delete from core.fct_print_event")
    con.execute("delete from core.fct_print_piece")
    spoiled(con, 30)
    assert day(con, D, 25) == {"vaccination": (0, 30)}


def test_letters_for_failed_emails_count_against_the_capacity_like_reprints(con: duckdb.DuckDBPyConnection) -> None:
    from convoc.letters.batches import letter_pieces

    for rid in range(1, 31):
        add_resident(con, rid, f"19{40 + rid:02d}-01-01")
    # invited by e-mail only the day before: 91's e-mail refused for good, 92's hard-bounced, 93's deferred
    # once (tried again: no letter yet), 94's refused but booked since (no letter either)
    yesterday = D - timedelta(days=1)
    for rid in (91, 92, 93, 94):
        add_resident(con, rid, "1935-01-01")
        con.execute(
            "insert into core.fct_invitation (" + LEGACY_COLUMNS + ", channel) values "
            "($i, $r, 'vaccination', 1, 1, $w, '2a', $c, $w, $u, 'c1', 'fr', 'email')",
            {"i": f"vaccination:1:{rid}:1", "r": rid, "w": yesterday, "u": D + timedelta(days=6), "c": f"CODE{rid}"},
        )
    for rid, status, code in ((91, "failed", 550), (92, "sent", 250), (93, "deferred", 451), (94, "failed", 550)):
        con.execute(
            "insert into core.fct_email_attempt values ($i, $w, $m, 1, $s, $code, $w)",
            {"i": f"vaccination:1:{rid}:1", "w": yesterday, "m": f"<{rid}@x>", "s": status, "code": code},
        )
    con.execute("insert into core.fct_email_bounce values ($d, '<92@x>', 'vaccination:1:92:1', $d, 'hard', "
                "'email_bounces_20210201.csv', 2)", {"d": D})  # fmt: skip
    con.execute("insert into core.fct_booking values ('CODE94', 'vaccination:1:94:1', $b, 'c1', $d, $d, 'b.csv')",
                {"b": yesterday, "d": D + timedelta(days=2)})  # fmt: skip
    spoiled(con, 3)
    # 25 pieces: 3 reprints and 2 letters for failed e-mails first, then 20 of the 30 new letters
    assert day(con, D, 25) == {"vaccination": (20, 10)}
    assert con.execute("select * from core.fct_print_capacity").fetchall() == [(D, True, 25, 3, 2)]
    pieces = letter_pieces(con, D)
    fallbacks = pieces.filter(pl.col("invitation_id").str.contains(":9[0-9]:"))["invitation_id"]
    assert pieces.height == 22 and sorted(fallbacks) == ["vaccination:1:91:1", "vaccination:1:92:1"]


def test_what_waits_goes_out_the_next_day_first_and_a_rerun_cuts_at_the_same_letter(
    con: duckdb.DuckDBPyConnection,
) -> None:
    for rid in range(1, 31):
        add_resident(con, rid, f"19{40 + rid:02d}-01-01")
    assert day(con, D, 10) == {"vaccination": (10, 20)}
    first = invited(con, D)
    assert [r[0] for r in first] == list(range(1, 11))  # the oldest
    assert day(con, D, 10) == {"vaccination": (10, 20)}
    assert invited(con, D) == first
    # the next day the centres allow the 20 still waiting (and nothing else is eligible); the shop takes 12
    assert day(con, D + timedelta(days=1), 12) == {"vaccination": (12, 8)}
    assert [r[0] for r in invited(con, D + timedelta(days=1))] == list(range(11, 23))
    assert day(con, D + timedelta(days=2), 100) == {"vaccination": (8, 0)}


def test_a_shut_day_sends_nothing_and_keeps_everything_waiting(con: duckdb.DuckDBPyConnection) -> None:
    for rid in range(1, 11):
        add_resident(con, rid, "1950-01-01")
    sunday, holiday = date(2021, 1, 31), date(2021, 2, 2)
    weekdays = frozenset(range(6))
    assert day(con, sunday, 100, days=weekdays) == {"vaccination": (0, 10)}
    assert day(con, holiday, 100, days=weekdays, closed=frozenset({holiday})) == {"vaccination": (0, 10)}
    assert day(con, D, 100, days=weekdays, closed=frozenset({holiday})) == {"vaccination": (10, 0)}
    recorded = con.execute("select wave_date, working_day, capacity from core.fct_print_capacity order by 1")
    assert recorded.fetchall() == [(sunday, False, 0), (D, True, 100), (holiday, False, 0)]


def test_capacity_is_scaled_like_the_centres() -> None:
    assert shop(100_000).capacity(D, 20_000 / 634_730) == 3151
    assert shop(100_000, days=frozenset({5, 6})).capacity(D) == 0


def test_the_shipped_print_shop_and_its_errors(tmp_path: Path) -> None:
    shipped = load_print_shop()
    assert shipped.pieces_per_day == 100_000 and shipped.handoff_cutoff == time(14, 0)
    assert shipped.timezone == "Europe/Luxembourg" and shipped.works_on(date(2021, 1, 31))
    assert "print_shop" not in {c.campaign for c in load_campaigns()}
    base = {"pieces_per_day": 5000, "working_days": ["mon", "tue"], "closed": ["2021-02-02"], "handoff_cutoff": "09:30"}
    parsed = parse_print_shop(base)
    assert (
        parsed.works_on(D) and not parsed.works_on(D + timedelta(days=1)) and not parsed.works_on(D + timedelta(days=2))
    )
    assert parsed.handoff_cutoff == time(9, 30)
    for change, message in [
        ({"pieces_per_day": 0}, "`pieces_per_day` must be a whole number greater than 0, not 0"),
        ({"working_days": ["mon", "funday"]}, "`working_days`: unknown day(s) funday"),
        ({"working_days": []}, "`working_days` must list at least one day"),
        ({"closed": ["soon"]}, "`closed` must be a date YYYY-MM-DD, not 'soon'"),
        ({"handoff_cutoff": "2pm"}, "`handoff_cutoff` must be a time of day HH:MM, not '2pm'"),
        ({"timezone": "Moon/Base"}, "`timezone` must be a time zone"),
    ]:
        with pytest.raises(CampaignError, match="^print_shop.yaml: " + message.replace("(", r"\(").replace(")", r"\)")):
            parse_print_shop({**base, **change})
    own = tmp_path / "shop.yaml"
    own.write_text("pieces_per_day: 7\nworking_days: [sat]\nhandoff_cutoff: '11:00'\n")
    settings = Settings.from_env({"CONVOC_HOME": str(tmp_path), "CONVOC_PRINT_SHOP": str(own)})
    assert print_shop_for(settings).pieces_per_day == 7 and print_shop_for(settings).handoff_cutoff == time(11, 0)
    overridden = Settings.from_env({"CONVOC_HOME": str(tmp_path), "CONVOC_PRINT_CUTOFF": "13:15",
                                    "CONVOC_PRINT_CUTOFF_TZ": "UTC"})  # fmt: skip
    assert (print_shop_for(overridden).handoff_cutoff, print_shop_for(overridden).timezone) == (time(13, 15), "UTC")
    missing = Settings.from_env({"CONVOC_HOME": str(tmp_path), "CONVOC_PRINT_SHOP": str(tmp_path / "nope.yaml")})
    with pytest.raises(CampaignError, match="no such print shop file"):
        print_shop_for(missing)
