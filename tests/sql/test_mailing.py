"""Mailing campaigns (kind ``mailing``): one letter to every resident matching a filter, or one per household
address, never a second one; no booking capacity, the print shop's capacity spreading it over days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from convoc.campaigns import Campaign, CampaignError, load_campaigns, parse_campaign
from convoc.letters.batches import letter_pieces
from tests.sql.test_print_capacity import day, first_dose_given
from tests.sql.test_waves import add_resident, campaign, con, invited

__all__ = ["con"]  # the fixture

D = date(2021, 2, 1)


def mailing(**overrides: Any) -> Campaign:
    data = {
        "campaign": "information",
        "kind": "mailing",
        "title": {"en": "Information"},
        "active_from": "2021-01-01",
        "validity_days": 60,
        "min_age": 18,
    }
    data.update(overrides)
    return parse_campaign(data, "information-test")


def at(con: duckdb.DuckDBPyConnection, rid: int, street: str, number: str = "1", commune: str | None = None) -> None:
    con.execute("update core.dim_resident set street = $s, house_number = $n where resident_id = $r",
                {"s": street, "n": number, "r": rid})  # fmt: skip
    if commune:
        con.execute("update core.dim_resident set commune = $c where resident_id = $r", {"c": commune, "r": rid})


def test_one_letter_per_resident_in_the_filter_and_never_a_second(con: duckdb.DuckDBPyConnection) -> None:
    add_resident(con, 1, "1950-01-01")
    add_resident(con, 2, "1990-01-01", commune="Esch-sur-Alzette")
    add_resident(con, 3, "2010-01-01")  # 11: too young
    add_resident(con, 4, "1940-01-01", status="deceased")
    add_resident(con, 5, "1980-01-01", commune="Esch-sur-Alzette")
    assert day(con, D, 100, mailing()) == {"information": (3, 0)}
    assert invited(con, D) == [(1, 1, 1, "resident"), (2, 1, 1, "resident"), (5, 1, 1, "resident")]
    row = con.execute("select centre, valid_from, valid_until, booking_code from core.fct_invitation").fetchone()
    assert row is not None and row[0] == "" and (row[1], row[2]) == (D + timedelta(days=1), D + timedelta(days=60))
    assert con.execute("select letters, quota, deferred from core.fct_wave").fetchall() == [(3, 3, 0)]
    # the next day: nobody new (a newcomer only)
    add_resident(con, 6, "1970-01-01")
    assert day(con, D + timedelta(days=1), 100, mailing()) == {"information": (1, 0)}
    assert invited(con, D + timedelta(days=1)) == [(6, 1, 1, "resident")]
    # an age range and communes
    con.execute("delete from core.fct_invitation")
    assert day(con, D, 100, mailing(min_age=40, max_age=60, communes=["Esch-sur-Alzette"])) == {"information": (1, 0)}
    assert invited(con, D) == [(5, 1, 1, "resident")]  # 41, in Esch (1 is 71, 2 is 31, 6 lives in Luxembourg)


def test_one_letter_per_household_to_its_oldest_resident(con: duckdb.DuckDBPyConnection) -> None:
    for rid, born in ((1, "1970-01-01"), (2, "1965-01-01"), (3, "2005-01-01")):  # one address, the oldest is 2
        add_resident(con, rid, born)
        at(con, rid, "rue A")
    add_resident(con, 4, "1990-01-01")
    at(con, 4, "rue A", "2")  # next door: another household
    add_resident(con, 5, "2008-01-01")
    at(con, 5, "rue B")  # only a child: no letter (nobody in the filter)
    assert day(con, D, 100, mailing(per="household")) == {"information": (2, 0)}
    assert invited(con, D) == [(2, 1, 1, "household"), (4, 1, 1, "household")]
    # someone moves into a household that has its letter: no second letter
    add_resident(con, 6, "1950-01-01")
    at(con, 6, "rue A")
    assert day(con, D + timedelta(days=1), 100, mailing(per="household")) == {"information": (0, 0)}


def test_a_mailing_comes_after_every_invitation_and_fills_the_days_in_postal_order(
    con: duckdb.DuckDBPyConnection,
) -> None:
    for rid in range(1, 5):  # due their second dose
        add_resident(con, rid, "1990-01-01")
        first_dose_given(con, rid, D - timedelta(days=30))
    for rid in range(10, 20):
        add_resident(con, rid, "1960-01-01")
        con.execute("update core.dim_resident set postcode = $p where resident_id = $r",
                    {"p": f"L-{9000 - rid}", "r": rid})  # fmt: skip
    # the vaccination wants 4 second doses and 10 first doses (phase 6), the mailing all 14 adults
    result = day(con, D, 20, campaign(), mailing())
    assert result == {"vaccination": (14, 0), "information": (6, 8)}
    mailed = [r[0] for r in invited(con, D) if r[3] == "resident"]
    assert sorted(mailed) == [1, 2, 3, 4, 18, 19]  # the lowest postcodes first: L-1009, then L-8981, L-8982
    # the next days take the rest, once
    assert day(con, D + timedelta(days=1), 5, mailing()) == {"information": (5, 3)}
    assert day(con, D + timedelta(days=2), 5, mailing()) == {"information": (3, 0)}
    total = con.execute(
        "select count(*), count(distinct resident_id) from core.fct_invitation where campaign = 'information'"
    )
    assert total.fetchall() == [(14, 14)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"per": "family"}, "`per` must be one of resident, household, not 'family'"),
        ({"phases": [{"phase": "1", "min_age": 1}]}, "a mailing has no phases"),
        ({"min_age": 70, "max_age": 60}, "empty age range 70–60"),
        ({"min_age": "old"}, "`min_age` must be a whole number of years"),
        ({"expected_uptake": 0.5}, "`expected_uptake` does not apply to a mailing"),
    ],
)
def test_mailing_configuration_errors(change: dict[str, Any], message: str) -> None:
    with pytest.raises(CampaignError, match=message.replace("(", r"\(")):
        mailing(**change)


def test_unknown_communes_are_refused(tmp_path: Any) -> None:
    (tmp_path / "m.yaml").write_text(
        "campaign: m\nkind: mailing\ntitle: {en: M}\nactive_from: 2021-01-01\ncommunes: [Luxembourg, Atlantis]\n"
    )
    with pytest.raises(CampaignError, match=r"m\.yaml: `communes` names unknown commune\(s\) Atlantis"):
        load_campaigns(tmp_path)


def test_the_household_letter_names_the_other_residents_oldest_first(con: duckdb.DuckDBPyConnection) -> None:
    people = [(1, "1970-01-01", "Anna"), (2, "1965-01-01", "Ben"), (3, "2005-01-01", "Cleo"), (4, "1980-01-01", "Dan"),
              (5, "2010-01-01", "Eva"), (6, "1990-01-01", "Finn")]  # fmt: skip
    for rid, born, given in people:
        add_resident(con, rid, born)
        at(con, rid, "rue A" if rid <= 5 else "rue B")
        con.execute("update core.dim_resident set given_name = $g, family_name = 'Muller' where resident_id = $r",
                    {"g": given, "r": rid})  # fmt: skip
    assert day(con, D, 100, mailing(per="household")) == {"information": (2, 0)}
    pieces = letter_pieces(con, D)
    rows = pieces.select("given_name", "co_residents", "household_size", "centre").rows()
    # rue A: Ben (the oldest) is the addressee; the others oldest first, the first three (the letter shows two
    # and "and the other residents" for five residents); rue B: Finn alone
    assert sorted(rows) == [("Ben", ["Anna Muller", "Dan Muller", "Cleo Muller"], 5, ""), ("Finn", [], 1, "")]


def test_household_letters_are_cut_rendered_and_verified(con: duckdb.DuckDBPyConnection, tmp_path: Any) -> None:
    from convoc.letters.batches import cut_batches, render_batch_file, verify_batch_file
    from tests.sql.test_waves import centres

    for rid, born in ((1, "1970-01-01"), (2, "1965-01-01"), (3, "1990-01-01")):
        add_resident(con, rid, born)
        at(con, rid, "rue A" if rid < 3 else "rue B")
    day(con, D, 100, mailing(per="household", code_suffix="M"))
    (batch,) = cut_batches(con, D, tmp_path, centres())
    rendered = render_batch_file(batch, D)
    result = verify_batch_file(rendered.as_dict(), D)
    assert result["pieces"] == result["pages"] == 2 and "/pdf/" in result["path"], result  # released
