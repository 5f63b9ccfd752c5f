"""Wave planning on an in-memory DuckDB: given residents, bookings and capacity, the expected letters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from convoc import reference, warehouse
from convoc.campaigns import Campaign, Centres, parse_campaign, parse_centres
from convoc.codes import parse
from convoc.waves.plan import NoSnapshot, plan_wave, quotas

LEGACY_COLUMNS = (
    "invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, booking_code, valid_from, "
    "valid_until, centre, language"
)
"""The invitation columns these rows give (channel and format take their defaults: paper, standard)."""

D = date(2021, 2, 1)
KEY = b"k" * 32
CANTONS = dict(reference.communes().select("commune", "canton").iter_rows())


def centres(lines: int = 1, hours: str = "08:00-09:00") -> Centres:
    """One centre for the whole country: lines × hours × 12 people a day."""
    return parse_centres(
        {"people_per_line_hour": 12,
         "centres": [{"centre": "c1", "name": "C1", "address": ["1", "rue X", "L-1009", "Luxembourg"],
                      "commune": "Luxembourg", "lines": lines, "hours": hours, "opens": "2021-01-01"}],
         "catchment": {"cantons": {c: "c1" for c in set(CANTONS.values())}}},
        "test-centres", CANTONS,
    )  # fmt: skip


def campaign(**overrides: Any) -> Campaign:
    data = {
        "campaign": "vaccination",
        "title": {"en": "Vaccination"},
        "active_from": "2021-01-01",
        "doses": 2,
        "dose_interval_days": 21,
        "booking_window_days": 1,
        "validity_days": 7,
        "expected_uptake": 1.0,
        "reinvite": {"wait_days": 3, "max_attempts": 2},
        "phases": [
            {"phase": "1", "groups": ["carehome_resident"]},
            {"phase": "2a", "min_age": 75},
            {"phase": "3", "min_age": 70, "max_age": 74, "groups": ["vulnerable_significant"]},
            {"phase": "6", "min_age": 16, "max_age": 69},
        ],
    }
    data.update(overrides)
    return parse_campaign(data, "test")


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    warehouse.ensure_schema(c)
    yield c
    c.close()


def add_resident(con: duckdb.DuckDBPyConnection, rid: int, born: str, *, status: str = "resident",
                 groups: tuple[str, ...] = (), commune: str = "Luxembourg") -> None:  # fmt: skip
    con.execute(
        "insert into core.dim_resident values ($id, $m, 'X', 'Y', $b, 'F', 'rue', '1', 'L-1009', 'Luxembourg', "
        "$commune, 'Luxembourg', 'LU', 'fr', $status, 'h', date '2021-01-01', null, true)",
        {"id": rid, "m": f"m{rid}", "b": date.fromisoformat(born), "status": status, "commune": commune},
    )
    for g in groups:
        con.execute("insert into core.fct_priority_group values (date '2021-01-01', $id, $g, null, null)",
                    {"id": rid, "g": g})  # fmt: skip


def invited(con: duckdb.DuckDBPyConnection, day: date | None = None) -> list[tuple[Any, ...]]:
    where = "" if day is None else f"where wave_date = date '{day}'"
    return con.execute(
        f"select resident_id, dose, attempt, phase from core.fct_invitation {where} order by wave_date, resident_id"
    ).fetchall()


def book(con: duckdb.DuckDBPyConnection, rid: int, booked: date, administered: date | None = None,
         dose: int = 1) -> None:  # fmt: skip
    inv = con.execute(
        "select invitation_id, booking_code from core.fct_invitation where resident_id = $r and dose = $d "
        "order by attempt desc limit 1",
        {"r": rid, "d": dose},
    ).fetchone()
    assert inv is not None
    con.execute(
        "insert into core.fct_booking values ($code, $id, $b, 'c1', $slot, $adm, 'bookings.csv')",
        {"code": inv[1], "id": inv[0], "b": booked, "slot": booked + timedelta(days=1), "adm": administered},
    )


def plan(con: duckdb.DuckDBPyConnection, day: date, c: Campaign | None = None, scale: float = 1.0,
         **centre_kw: Any) -> int:  # fmt: skip
    return plan_wave(con, c or campaign(), centres(**centre_kw), day, KEY, scale).invitations


def test_phase_order_then_oldest_first(con: duckdb.DuckDBPyConnection) -> None:
    add_resident(con, 1, "1990-05-01")  # 30: phase 6
    add_resident(con, 2, "1946-03-01")  # 74: phase 3
    add_resident(con, 3, "1940-01-01")  # 81: phase 2a
    add_resident(con, 4, "1930-01-01")  # 91: phase 2a, older
    add_resident(con, 5, "1985-01-01", groups=("carehome_resident",))  # phase 1 although young
    add_resident(con, 6, "1980-01-01", groups=("vulnerable_significant",))  # phase 3 by group
    add_resident(con, 7, "2010-01-01")  # 11: in no phase
    add_resident(con, 8, "1920-01-01", status="deceased")
    # capacity 12 a day, window 1 day, uptake 1: 12 letters
    assert plan(con, D) == 6
    assert invited(con) == [(1, 1, 1, "6"), (2, 1, 1, "3"), (3, 1, 1, "2a"), (4, 1, 1, "2a"), (5, 1, 1, "1"),
                            (6, 1, 1, "3")]  # fmt: skip
    order = con.execute("select resident_id from core.fct_invitation").fetchall()
    assert len(order) == 6
    # with room for three, the three first by phase then age
    con.execute("delete from core.fct_invitation")
    assert plan(con, D, scale=0.25) == 3
    assert [r[0] for r in invited(con)] == [3, 4, 5]


def test_a_quota_cutting_through_residents_of_one_birth_date_takes_them_by_resident_id(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # The wave first finds each centre's cut-off on (dose, phase, birth date) and ranks one by one only up to it:
    # the same rows as ranking everyone. 100 residents on six birth dates; 36 letters cut inside a date.
    born = ["1935-03-01", "1938-07-15", "1940-01-01", "1985-02-02", "1990-09-09", "1991-01-01"]
    residents = {rid: born[(rid * 7) % len(born)] for rid in range(1, 101)}
    for rid, birth in residents.items():
        add_resident(con, rid, birth)
    assert plan(con, D, lines=3) == 36  # 3 lines × 1 hour × 12
    phase = {rid: (0 if birth < "1946" else 1) for rid, birth in residents.items()}  # 2a (75+) before 6
    expected = sorted(residents, key=lambda rid: (phase[rid], residents[rid], rid))[:36]
    assert [r[0] for r in invited(con)] == sorted(expected)
    cut = sorted(residents, key=lambda rid: (phase[rid], residents[rid], rid))
    assert residents[cut[35]] == residents[cut[36]]  # the quota does cut through one birth date


def test_capacity_respected_and_open_letters_count(con: duckdb.DuckDBPyConnection) -> None:
    for rid in range(1, 41):
        add_resident(con, rid, f"19{40 + rid:02d}-01-01")
    c = campaign(expected_uptake=0.5, booking_window_days=2)
    # 12 a day × 2 days ÷ 0.5 = 48 letters allowed; 40 residents
    assert plan(con, D, c, scale=0.5) == 24  # 6 a day × 2 ÷ 0.5
    # next day: the 24 letters are still open and nothing was booked
    assert plan(con, D + timedelta(days=1), c, scale=0.5) == 0
    # a booking frees nothing (it takes a slot) but closes its open letter: (12 − 1) ÷ 0.5 − 23 = −1 → 0
    book(con, 1, D + timedelta(days=1))
    assert plan(con, D + timedelta(days=2), c, scale=0.5) == 0
    # after the codes expire (valid 7 days from D+1), the same capacity goes to the next residents
    assert plan(con, D + timedelta(days=9), c, scale=0.5) == 16  # 24 − 8 still waiting out reinvite.wait_days


def test_quotas_formula() -> None:
    c = campaign(expected_uptake=0.8, capacity_share=0.5)
    assert quotas(c, {"a": 1000, "b": 100}, {"a": (100, 200), "b": (0, 60)}) == {"a": 275, "b": 0}


def test_rerun_same_day_yields_same_rows(con: duckdb.DuckDBPyConnection) -> None:
    for rid in range(1, 30):
        add_resident(con, rid, f"19{30 + rid:02d}-06-01")
    plan(con, D)
    plan(con, D + timedelta(days=8))
    before = con.execute("select * from core.fct_invitation order by all").fetchall()
    plan(con, D)  # re-run an earlier day after a later one
    plan(con, D + timedelta(days=8))
    assert con.execute("select * from core.fct_invitation order by all").fetchall() == before


def test_every_invitation_id_and_booking_code_made_by_the_warehouse_is_the_one_python_makes(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from convoc.codes import make_code, verify

    for rid in range(1, 30):
        add_resident(con, rid, f"19{30 + rid:02d}-06-01", commune="Luxembourg" if rid % 3 else "Esch-sur-Alzette")
    for c in (campaign(), campaign(code_suffix="V")):
        written = plan_wave(con, c, centres(), D, KEY).invitations
        rows = con.execute(
            "select invitation_id, campaign, dose, resident_id, attempt, booking_code from core.fct_invitation "
            "where campaign = $c order by resident_id",
            {"c": c.campaign},
        ).fetchall()
        assert written > 8 and len(rows) == written
        for invitation_id, name, dose, resident, attempt, code in rows:
            assert invitation_id == f"{name}:{dose}:{resident}:{attempt}"
            assert code == make_code(invitation_id, KEY, c.code_suffix) and verify(code, invitation_id, KEY)
        assert {code.endswith("-V") for *_, code in rows} == {c.code_suffix is not None}
    assert con.execute("select count(*) from duckdb_tables() where temporary").fetchall() == [(0,)]


def test_campaigns_whose_names_differ_only_in_punctuation_get_their_own_selection_tables() -> None:
    from convoc.waves.plan import _table_for

    names = ["covid-19", "covid_19", "covid 19", "Ümfro", "x" * 80, "x" * 81]
    tables = {_table_for(campaign(campaign=n)) for n in names}
    assert len(tables) == len(names) and all(re.fullmatch(r"_selection__[A-Za-z0-9_]+", t) for t in tables)


def test_failure_half_way_leaves_the_wave_as_it_was(con: duckdb.DuckDBPyConnection,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for rid in range(1, 10):
        add_resident(con, rid, "1950-01-01")
    plan(con, D)
    before = con.execute("select * from core.fct_invitation order by all").fetchall()

    def crash(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("killed")

    monkeypatch.setattr("convoc.waves.plan._record_wave", crash)  # the invitations written, the wave not
    with pytest.raises(RuntimeError), warehouse.transaction(con):
        plan(con, D)
    assert con.execute("select * from core.fct_invitation order by all").fetchall() == before


def test_expired_unbooked_reinvited_after_wait_up_to_max_attempts(con: duckdb.DuckDBPyConnection) -> None:
    add_resident(con, 1, "1950-01-01")
    assert plan(con, D) == 1  # valid D+1 … D+7
    assert plan(con, D + timedelta(days=7)) == 0  # still valid
    assert plan(con, D + timedelta(days=10)) == 0  # expired after D+7, waiting D+8 … D+10
    assert plan(con, D + timedelta(days=11)) == 1
    assert invited(con)[-1] == (1, 1, 2, "3")  # 71 by now
    assert plan(con, D + timedelta(days=30)) == 0  # max_attempts 2 reached


def test_booked_residents_drop_out_and_second_dose_follows(con: duckdb.DuckDBPyConnection) -> None:
    add_resident(con, 1, "1950-01-01")
    add_resident(con, 2, "1951-01-01")
    plan(con, D)
    book(con, 1, D + timedelta(days=2), administered=D + timedelta(days=3))
    assert plan(con, D + timedelta(days=12)) == 1  # only resident 2, re-invited
    assert invited(con, D + timedelta(days=12)) == [(2, 1, 2, "3")]  # 70 by now
    # dose 2: 21 days after dose 1 was administered, and before any first dose
    assert plan(con, D + timedelta(days=24)) == 1
    assert invited(con, D + timedelta(days=24)) == [(1, 2, 1, "dose 2")]


def test_codes_are_well_formed_and_unique(con: duckdb.DuckDBPyConnection) -> None:
    for rid in range(1, 13):
        add_resident(con, rid, "1950-01-01")
    plan(con, D)
    codes = [r[0] for r in con.execute("select booking_code from core.fct_invitation").fetchall()]
    assert len(set(codes)) == 12
    for code in codes:
        parse(code)


def test_no_snapshot_on_the_day(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(NoSnapshot, match="no register snapshot is valid on 2021-02-01"):
        plan(con, D)


def booster(**overrides: Any) -> Campaign:
    data = {
        "campaign": "booster",
        "kind": "booster",
        "title": {"en": "Booster"},
        "active_from": "2021-09-01",
        "requires": {"campaign": "vaccination", "dose": 2},
        "intervals": [{"from": "2021-09-01", "months": 6}, {"from": "2021-11-01", "months": 4}],
        "booking_window_days": 1,
        "expected_uptake": 1.0,
        "phases": [{"phase": "1", "groups": ["carehome_resident"]}, {"phase": "2", "min_age": 75},
                   {"phase": "3", "min_age": 16, "max_age": 74}],
    }  # fmt: skip
    data.update(overrides)
    return parse_campaign(data, "booster-test")


def second_dose(con: duckdb.DuckDBPyConnection, rid: int, given: date) -> None:
    """Record a vaccination dose 2 given on ``given`` (invitation and booking)."""
    inv = f"vaccination:2:{rid}:1"
    con.execute(
        "insert into core.fct_invitation ("
        + LEGACY_COLUMNS
        + ") values ($i, $r, 'vaccination', 2, 1, $d, 'dose 2', $c, $d, $d, 'c1', 'fr')",
        {"i": inv, "r": rid, "d": given - timedelta(days=10), "c": f"CODE{rid}"},
    )
    con.execute(
        "insert into core.fct_booking values ($c, $i, $b, 'c1', $g, $g, 'b.csv')",
        {"c": f"CODE{rid}", "i": inv, "b": given - timedelta(days=5), "g": given},
    )


def test_booster_once_the_last_dose_is_old_enough_oldest_first(con: duckdb.DuckDBPyConnection) -> None:
    add_resident(con, 1, "1950-01-01")
    add_resident(con, 2, "1940-01-01")
    add_resident(con, 3, "1960-01-01", groups=("carehome_resident",))
    add_resident(con, 4, "1930-01-01")
    add_resident(con, 5, "1935-01-01")  # never vaccinated: no booster
    second_dose(con, 1, date(2021, 4, 1))
    second_dose(con, 2, date(2021, 4, 20))
    second_dose(con, 3, date(2021, 3, 1))
    second_dose(con, 4, date(2021, 6, 15))
    c = booster()
    # 15 October: six months → dose 2 on or before 15 April
    assert plan(con, date(2021, 10, 15), c) == 2
    assert invited(con, date(2021, 10, 15)) == [(1, 1, 1, "3"), (3, 1, 1, "1")]
    # 2 November: four months → on or before 2 July; the two invited in October wait out their re-invitation delay
    assert plan(con, date(2021, 11, 2), c) == 2
    assert invited(con, date(2021, 11, 2)) == [(2, 1, 1, "2"), (4, 1, 1, "2")]


def test_booster_months_before_handles_short_months() -> None:
    from convoc.waves.plan import _months_before

    assert _months_before(date(2021, 10, 31), 6) == date(2021, 4, 30)
    assert _months_before(date(2022, 1, 15), 3) == date(2021, 10, 15)


def sample(**overrides: Any) -> Campaign:
    data = {
        "campaign": "testing",
        "kind": "sample",
        "title": {"en": "Testing"},
        "active_from": "2021-01-01",
        "daily_invitations": 30,
        "strata": ["canton", "age_band", "sex"],
        "age_bands": [0, 40, 65],
        "validity_days": 14,
        "expected_uptake": 0.5,
        "code_suffix": "T",
        "reinvite": {"wait_days": 28, "max_attempts": 1},
        "phases": [{"phase": "sample", "min_age": 12}],
    }
    data.update(overrides)
    return parse_campaign(data, "testing-test")


def add_household(con: duckdb.DuckDBPyConnection, first_id: int, members: int, commune: str, born: str) -> None:
    for rid in range(first_id, first_id + members):
        add_resident(con, rid, born, commune=commune)
        con.execute("update core.dim_resident set street = $s, sex = $x where resident_id = $r",
                    {"s": f"rue {first_id}", "x": "F" if rid % 2 else "M", "r": rid})  # fmt: skip


def test_testing_sample_is_stratified_and_spreads_households_over_weeks(con: duckdb.DuckDBPyConnection) -> None:
    # 100 households of 3 in Luxembourg (canton Luxembourg) and 50 of 3 in Esch (canton Esch-sur-Alzette)
    for h in range(100):
        add_household(con, 1 + 3 * h, 3, "Luxembourg", "1980-06-01")
    for h in range(50):
        add_household(con, 1001 + 3 * h, 3, "Esch-sur-Alzette", "1950-06-01")
    add_resident(con, 5000, "2015-01-01")  # under 12: never sampled
    monday = date(2021, 2, 1)
    assert plan(con, monday, sample()) == 30
    first = con.execute(
        "select r.commune, count(*) from core.fct_invitation i join core.dim_resident r using (resident_id) "
        "group by 1 order by 1"
    ).fetchall()
    assert first == [("Esch-sur-Alzette", 10), ("Luxembourg", 20)]  # 2:1, as the population
    codes = [r[0] for r in con.execute("select booking_code from core.fct_invitation").fetchall()]
    assert all(code.endswith("-T") for code in codes)
    # one member per household and week: the rest of the week draws from other households
    for k in range(1, 5):
        plan(con, monday + timedelta(days=k), sample())
    per_week = con.execute("""
        select count(*) from (select r.street, count(*) from core.fct_invitation i
        join core.dim_resident r using (resident_id) group by 1 having count(*) > 1)""").fetchall()
    assert per_week == [(0,)]
    # the next week, households invited before may send another member
    plan(con, monday + timedelta(days=7), sample())
    again = con.execute("""
        select count(*) from (select r.street from core.fct_invitation i join core.dim_resident r using (resident_id)
        group by 1 having count(*) > 1)""").fetchall()
    assert again[0][0] > 0
    assert con.execute("select count(*) from core.fct_invitation where resident_id = 5000").fetchall() == [(0,)]
    # a resident is sampled once (max_attempts 1)
    assert con.execute("select count(*) - count(distinct resident_id) from core.fct_invitation").fetchall() == [(0,)]


STATUS = "select resident_id, status from core.dim_invitation_current where wave_date = $d order by 1"


def test_status_as_of_the_latest_wave(con: duckdb.DuckDBPyConnection) -> None:
    for rid in (1, 2, 3, 4):
        add_resident(con, rid, "1950-01-01")
    plan(con, D)
    book(con, 1, D + timedelta(days=2), administered=D + timedelta(days=3))
    book(con, 2, D + timedelta(days=2))
    plan(con, D + timedelta(days=3))  # valid D+1 … D+7: still open
    assert con.execute(STATUS, {"d": D}).fetchall() == [(1, "attended"), (2, "booked"), (3, "open"), (4, "open")]
    plan(con, D + timedelta(days=9))
    assert con.execute(STATUS, {"d": D}).fetchall() == [(1, "attended"), (2, "booked"), (3, "expired"),
                                                        (4, "expired")]  # fmt: skip
    before = con.execute("select * from core.dim_invitation_current order by all").fetchall()
    plan(con, D)  # re-running the first day keeps the statuses of the latest
    assert con.execute("select * from core.dim_invitation_current order by all").fetchall() == before


def test_status_follows_the_facts_without_another_wave(con: duckdb.DuckDBPyConnection) -> None:
    for rid in (1, 2, 3):
        add_resident(con, rid, "1950-01-01")
    plan(con, D)
    assert con.execute(STATUS, {"d": D}).fetchall() == [(1, "open"), (2, "open"), (3, "open")]
    # Bookings loaded after the wave (the next morning's feed): booked at once, no waves run in between.
    book(con, 1, D + timedelta(days=1))
    book(con, 2, D + timedelta(days=1))
    assert con.execute(STATUS, {"d": D}).fetchall() == [(1, "booked"), (2, "booked"), (3, "open")]
    # A dose given: attended.
    con.execute("update core.fct_booking set administered_at = slot where invitation_id = 'vaccination:1:1:1'")
    assert con.execute(STATUS, {"d": D}).fetchall() == [(1, "attended"), (2, "booked"), (3, "open")]
    # Expired is as of the campaign's latest wave day: a later wave (here one that sends nothing) moves it.
    assert con.execute(STATUS, {"d": D}).fetchall()[2] == (3, "open")
    con.execute(
        "insert into core.fct_wave (campaign, wave_date, letters, quota) values ('vaccination', $d, 0, 0)",
        {"d": D + timedelta(days=8)},
    )
    assert con.execute(STATUS, {"d": D}).fetchall() == [(1, "attended"), (2, "booked"), (3, "expired")]
    # The waves wrote none of it: core.fct_invitation holds the invitations as planned, nothing else.
    columns = [c for (c,) in con.execute(
        "select column_name from duckdb_columns() where table_name = 'fct_invitation' order by column_index"
    ).fetchall()]  # fmt: skip
    assert columns == ["invitation_id", "resident_id", "campaign", "dose", "attempt", "wave_date", "phase",
                       "booking_code", "valid_from", "valid_until", "centre", "language", "channel",
                       "format"]  # fmt: skip


def test_current_invitation_carries_print_and_return_facts(con: duckdb.DuckDBPyConnection) -> None:
    add_resident(con, 1, "1950-01-01")
    add_resident(con, 2, "1951-01-01")
    plan(con, D)
    facts = "select resident_id, print_batch, piece_id, return_reason, returned_on from core.dim_invitation_current"
    assert con.execute(facts + " order by 1").fetchall() == [(1, None, None, None, None), (2, None, None, None, None)]
    con.execute(
        "insert into core.fct_print_batch_letter select wave_date, 'J20210201', 'J20210201-0001', resident_id, "
        "invitation_id from core.fct_invitation"
    )
    con.execute(
        "insert into core.fct_return select 'J20210201', 1, 'J20210201', invitation_id, 'moved', $r, 'r.csv' "
        "from core.fct_invitation where resident_id = 1",
        {"r": D + timedelta(days=5)},
    )
    assert con.execute(facts + " order by 1").fetchall() == [
        (1, "J20210201-0001", 1, "moved", D + timedelta(days=5)),
        (2, "J20210201-0001", 2, None, None),
    ]
    assert con.execute("select count(*) from core.dim_invitation_current").fetchall() == [(2,)]  # one row each


def test_window_capacity_counts_centres_open_on_the_day() -> None:
    from convoc.campaigns import load_centres
    from convoc.waves.plan import window_capacity

    capacity = window_capacity(load_centres(), date(2021, 2, 10), 14, 1.0)
    assert "findel" not in capacity  # opens 15 February, inside the window
    assert capacity["esch_belval"] == 14 * 7 * 12 * 12
