"""Contact preferences: a landing source like the others — validated (e-mail syntax, a channel that needs an
address, consent and withdrawal dates, unknown residents), quarantined with a rule, and versioned in core per
resident and day (the latest declaration known by a day wins; a withdrawal puts the resident back on paper)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import person, write_register

from convoc import ingest
from convoc.config import Settings
from convoc.letters.batches import letter_pieces
from convoc.quality import conditions
from convoc.text import normalise

DAY = date(2021, 1, 29)
HEADER = "matricule,email,channel,format,consented_on,withdrawn_on\n"


def _day(settings: Settings, day: date, register: list[dict[str, str]], preferences: str | None) -> None:
    write_register(settings.landing / f"register_{day:%Y%m%d}.csv", register)
    if preferences is not None:
        (settings.landing / f"contact_preferences_{day:%Y%m%d}.csv").write_text(HEADER + preferences)
    extracted = ingest.extract_day(settings, day)
    verdicts = ingest.validate_day(settings, extracted, day, accept_row_count_change=True)
    ingest.load_day(settings, extracted, verdicts, day)


def _query(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_email_addresses_are_checked_by_the_library_in_the_form_stored() -> None:
    good = [" Anna.Muller@Example.LU ", "x@y.lu"]
    bad = ["no-at-sign", "a..b@x.lu", "a@localhost", "é@x.lu", "a@münchen.de", "a b@x.lu", '"a"@x.lu', "a@x.lu\n"]
    raw = pl.Series([*good, *bad, "a" * 65 + "@x.lu", None])
    stored = normalise(raw, "email")
    assert stored.to_list()[:2] == ["Anna.Muller@example.lu", "x@y.lu"]  # the domain lower-cased, nothing else
    assert conditions.is_email(stored).to_list() == [True, True] + [False] * 9 + [True]


def test_pair_conditions_are_total() -> None:
    email = pl.Series([None, None, "a@b.lu", None, "٣@x"])
    channel = pl.Series(["email", "both", "email", "paper", None])
    assert conditions.required_when(email, channel, ("email", "both")).to_list() == [False, False, True, True, True]
    withdrawn = pl.Series(["2021-01-01", "2021-01-03", None, "2021-02-30", "٢٠٢١-٠١-٠١"])
    consented = pl.Series(["2021-01-02", "2021-01-03", "2021-01-01", "2021-01-01", "2021-01-01"])
    assert conditions.date_not_before(withdrawn, consented).to_list() == [False, True, True, True, True]


def test_bad_rows_are_quarantined_each_with_its_rule_and_the_rest_load(settings: Settings) -> None:
    people = [person(k) for k in range(1, 8)]
    m = [p["matricule"] for p in people]
    stranger = person(99)["matricule"]
    _day(
        settings,
        DAY,
        people,
        f"{m[0]},Anna@Example.LU,email,,2021-01-20,\n"  # line 2: loads, domain lower-cased, format standard
        f"{m[1]},,both,large_print,2021-01-20,\n"  # line 3: both without an address
        f"{m[2]},not-an-address,email,standard,2021-01-20,\n"  # line 4
        f"{m[3]},c@x.lu,fax,standard,2021-01-20,\n"  # line 5: no such channel
        f"{m[4]},,paper,large_print,2021-01-20,2021-01-10\n"  # line 6: withdrawn before consented
        f"{stranger},s@x.lu,email,standard,2021-01-20,\n"  # line 7: nobody of the register
        f"{m[5]},e@x.lu,email,standard,2021-02-20,\n"  # line 8: consent after the file's day
        f"{m[6]},,paper,large_print,2021-01-21,\n",  # line 9: loads
    )
    rejects = _query(
        settings,
        "select line_number, column_name, rule from quarantine.contact_preferences_rejects order by 1, 3",
    )
    assert rejects == [
        (3, "email", "missing_email"),
        (4, "email", "invalid_email"),
        (5, "channel", "invalid_value"),
        (6, "withdrawn_on", "withdrawn_before_consented"),
        (7, "matricule", "unknown_resident"),
        (8, "consented_on", "consented_on_future"),
    ]
    masked = _query(settings, "select value_masked from quarantine.contact_preferences_rejects where line_number = 4")
    assert masked == [("xxx-xx-xxxxxxx",)]  # personal: its shape only
    assert _query(settings, "select matricule, email, channel, format from core.fct_contact_preference order by 4") == [
        (m[6], None, "paper", "large_print"),
        (m[0], "Anna@example.lu", "email", "standard"),
    ]


def test_latest_declaration_per_day_is_versioned_and_a_withdrawal_means_paper(settings: Settings) -> None:
    people = [person(k) for k in range(1, 4)]
    m = [p["matricule"] for p in people]
    day1, day2, day3 = DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)
    _day(settings, day1, people, f"{m[0]},a@x.lu,email,standard,{day1},\n{m[1]},b@x.lu,both,large_print,{day1},\n")
    _day(settings, day2, people, None)  # no declarations that day
    _day(settings, day3, people, f"{m[0]},a@x.lu,email,standard,{day1},{day3}\n{m[1]},b@y.lu,both,standard,{day3},\n")
    versions = _query(
        settings,
        "select matricule, channel, format, email, withdrawn, valid_from, valid_to, is_current "
        "from core.dim_contact_preference order by matricule, valid_from",
    )
    assert versions == [
        (m[0], "email", "standard", "a@x.lu", False, day1, day3, False),
        (m[0], "paper", "standard", None, True, day3, None, True),  # consent withdrawn: back on paper
        (m[1], "both", "large_print", "b@x.lu", False, day1, day3, False),
        (m[1], "both", "standard", "b@y.lu", False, day3, None, True),  # changed their mind
    ]
    # loading day 1 again (a re-delivered or backfilled day) changes nothing
    before = _query(settings, "select * from core.dim_contact_preference order by all")
    _day(settings, day1, people, f"{m[0]},a@x.lu,email,standard,{day1},\n{m[1]},b@x.lu,both,large_print,{day1},\n")
    assert _query(settings, "select * from core.dim_contact_preference order by all") == before
    assert _query(settings, "select count(*) from core.fct_contact_preference") == [(4,)]


def test_stored_values_are_the_values_validated(settings: Settings, tmp_path: Path) -> None:
    people = [person(1)]
    _day(settings, DAY, people, f" {people[0]['matricule']} , Anna@EXAMPLE.lu ,email, large_print ,2021-01-20,\n")
    assert _query(settings, "select matricule, email, channel, format from raw.contact_preferences") == [
        (people[0]["matricule"], "Anna@example.lu", "email", "large_print")
    ]


def test_each_invitation_takes_its_residents_channel_and_format_and_email_only_is_no_letter(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from convoc import warehouse
    from convoc.waves.run import run_waves
    from convoc_dev.synth import generate

    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", "0.02")
    generate(residents=2_500, seed=9, out=settings.landing, start_date=DAY)
    extracted = ingest.extract_day(settings, DAY)
    ingest.load_day(settings, extracted, ingest.validate_day(settings, extracted, DAY), DAY)
    run_waves(Settings.from_env(), DAY, b"b" * 32)
    with warehouse.connect(settings.warehouse) as con:
        invitations = warehouse.query(
            con,
            """
            select i.invitation_id, i.channel, i.format, coalesce(p.channel, 'paper') as wanted_channel,
                   coalesce(p.format, 'standard') as wanted_format
            from core.fct_invitation as i
            inner join core.dim_resident as r on r.resident_id = i.resident_id and r.is_current
            left join core.dim_contact_preference as p on p.matricule = r.matricule and p.is_current
            """,
        )
        letters = letter_pieces(con, DAY)
        waves = con.execute("select sum(letters), sum(emails) from core.fct_wave").fetchall()[0]
    assert invitations.height > 100
    assert (invitations["channel"] == invitations["wanted_channel"]).all()
    assert (invitations["format"] == invitations["wanted_format"]).all()
    counts = dict(invitations["channel"].value_counts().iter_rows())
    assert counts["email"] > 0 and counts["both"] > 0 and counts["paper"] > counts["email"]
    assert (invitations["format"] == "large_print").sum() > 0
    # a letter for paper and both, none for e-mail only
    paper = set(invitations.filter(pl.col("channel") != "email")["invitation_id"])
    assert set(letters["invitation_id"]) == paper
    assert waves == (len(paper), counts["email"])
