"""The marts on a tiny hand-built warehouse (in-memory DuckDB): six residents, five invitations, two
original print jobs and a reprint, confirmations, a return, bookings → the exact rows expected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import duckdb
import pytest

from convoc import warehouse
from convoc.errors import ConvocError
from convoc.stats.marts import PostagePrice, build_marts, campaign_min_ages, load_postage
from convoc.stats.reconcile import check

D0 = date(2021, 1, 31)
D1 = date(2021, 2, 1)
AS_OF = date(2021, 2, 10)
MIN_AGES = {"vaccination": 16, "testing": 12}
PRICES = [PostagePrice(date(2021, 1, 1), Decimal("0.80")), PostagePrice(date(2021, 2, 3), Decimal("1.00"))]

# resident_id, birth_date, canton, commune, language, valid_from, valid_to
RESIDENTS = [
    (1, "1941-02-01", "Luxembourg", "Luxembourg", "fr", "2021-01-01", None),  # 80 on D1: 80+
    (2, "1941-02-02", "Luxembourg", "Luxembourg", "lb", "2021-01-01", None),  # 79 on D1: 75-79
    (3, "2005-02-01", "Luxembourg", "Luxembourg", None, "2021-01-01", None),  # 16 on D1: 16-54
    (4, "2005-02-02", "Luxembourg", "Luxembourg", "pt", "2021-01-01", None),  # 15 on D1, 16 on AS_OF
    (5, "1950-06-15", "Esch-sur-Alzette", "Esch-sur-Alzette", "de", "2021-01-01", "2021-02-01"),  # moved …
    (5, "1950-06-15", "Luxembourg", "Luxembourg", "de", "2021-02-01", None),  # … to Luxembourg on D1
    (6, "2011-01-01", "Luxembourg", "Luxembourg", "fr", "2021-01-01", None),  # 10: eligible for neither
]
# invitation_id, resident_id, campaign, wave_date, phase, language
INVITATIONS = [
    ("vaccination:1:5:1", 5, "vaccination", "2021-01-31", "3", "de"),
    ("vaccination:1:1:1", 1, "vaccination", "2021-02-01", "2a", "fr"),
    ("vaccination:1:2:1", 2, "vaccination", "2021-02-01", "2a", "lb"),
    ("vaccination:1:3:1", 3, "vaccination", "2021-02-01", "6", None),
    ("testing:1:4:1", 4, "testing", "2021-02-01", "sample", "pt"),
]
# job_id, origin_job_id, kind, handoff_date, pieces
JOBS = [
    ("J20210131", "J20210131", "original", "2021-01-31", 1),
    ("J20210201", "J20210201", "original", "2021-02-01", 4),
    ("J20210201-R1", "J20210201", "reprint", "2021-02-02", 1),
]
# job_id, origin_job_id, piece_id, invitation_id, reprint
PIECES = [
    ("J20210131", "J20210131", 1, "vaccination:1:5:1", False),
    ("J20210201", "J20210201", 1, "vaccination:1:1:1", False),
    ("J20210201", "J20210201", 2, "vaccination:1:2:1", False),
    ("J20210201", "J20210201", 3, "vaccination:1:3:1", False),
    ("J20210201", "J20210201", 4, "testing:1:4:1", False),
    ("J20210201-R1", "J20210201", 2, "vaccination:1:2:1", True),
]
# job_id, piece_id, status, event_date (origin and invitation from the pieces)
EVENTS = [
    ("J20210131", 1, "mailed", "2021-02-01"),
    ("J20210201", 1, "mailed", "2021-02-02"),
    ("J20210201", 2, "spoiled", "2021-02-02"),
    ("J20210201", 3, "mailed", "2021-02-02"),
    ("J20210201", 4, "mailed", "2021-02-02"),
    ("J20210201-R1", 2, "mailed", "2021-02-03"),
]
RETURNS = [("J20210201", 3, "J20210201", "vaccination:1:3:1", "moved", "2021-02-05")]
# invitation_id, booked_at, administered_at
BOOKINGS = [
    ("vaccination:1:1:1", "2021-02-03 09:00", "2021-02-10 10:15"),
    ("vaccination:1:3:1", "2021-02-04 12:00", None),
]


def build_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """The tiny warehouse above, in ``con`` (schema from sql/ddl)."""
    warehouse.ensure_schema(con)
    for rid, birth, canton, commune, language, valid_from, valid_to in RESIDENTS:
        con.execute(
            "insert into core.dim_resident values (?, ?, 'X', 'Y', ?, 'F', 'rue', '1', 'L-1009', 'Lux', ?, ?, 'LU', ?, "
            "'resident', 'h', ?, ?, ?)",
            [rid, f"m{rid}", birth, commune, canton, language, valid_from, valid_to, valid_to is None],
        )
    for inv, rid, campaign, wave, phase, language in INVITATIONS:
        con.execute(
            "insert into core.fct_invitation (invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, "
            "booking_code, valid_from, valid_until, centre, language) "
            "values (?, ?, ?, 1, 1, ?, ?, 'CODE', ?, cast(? as date) + 14, 'c1', ?)",
            [inv, rid, campaign, wave, phase, wave, wave, language],
        )
    for job, origin, kind, handoff, pieces in JOBS:
        con.execute(
            "insert into core.fct_print_job values (?, ?, ?, ?, ?, 1, ?, ?, ?, 'sha', 'local', now())",
            [job, origin, job, kind, handoff, pieces, pieces, pieces],
        )
    for job, origin, piece, inv, reprint in PIECES:
        con.execute(
            "insert into core.fct_print_piece values (?, ?, ?, ?, 'f.pdf', 1, 1, ?)", [job, origin, piece, inv, reprint]
        )
    for job, piece, status, event_date in EVENTS:
        con.execute(
            "insert into core.fct_print_event select job_id, origin_job_id, piece_id, invitation_id, ?, ?, 'c.csv' "
            "from core.fct_print_piece where job_id = ? and piece_id = ?",
            [status, event_date, job, piece],
        )
    for row in RETURNS:
        con.execute("insert into core.fct_return values (?, ?, ?, ?, ?, ?, 'r.csv')", list(row))
    for inv, booked_at, administered_at in BOOKINGS:
        con.execute(
            "insert into core.fct_booking values (?, ?, ?, 'c1', cast(? as timestamp) + interval 1 day, ?, 'b.csv')",
            [f"code-{inv}", inv, booked_at, booked_at, administered_at],
        )


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as con:
        build_warehouse(con)
        yield con


def build(con: duckdb.DuckDBPyConnection, day: date) -> dict[str, int]:
    return build_marts(con, day, min_ages=MIN_AGES, prices=PRICES)


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return sorted(con.execute(f"select * from marts.{table}").fetchall(), key=repr)


def test_dispatch_daily(con: duckdb.DuckDBPyConnection) -> None:
    build(con, AS_OF)
    lux, esch = ("Luxembourg",) * 2, ("Esch-sur-Alzette",) * 2
    # day, campaign, dose, canton, commune, age_band, language, phase,
    # invited, printed, mailed, returned, booked, vaccinated, reprinted
    assert rows(con, "fct_dispatch_daily") == sorted(
        [
            (D0, "vaccination", 1, *esch, "70-74", "de", "3", 1, 1, 1, 0, 0, 0, 0),  # canton of the wave day
            (D1, "vaccination", 1, *lux, "80+", "fr", "2a", 1, 1, 1, 0, 1, 1, 0),  # 80 on the day
            (D1, "vaccination", 1, *lux, "75-79", "unknown", "2a", 1, 1, 1, 0, 0, 0, 1),  # reprint mailed once
            (D1, "vaccination", 1, *lux, "16-54", "unknown", "6", 1, 1, 1, 1, 1, 0, 0),  # no language: unknown
            (D1, "testing", 1, *lux, "0-15", "pt", "sample", 1, 1, 1, 0, 0, 0, 0),  # 16 the next day
        ],
        key=repr,
    )


def test_day_partition_and_idempotence(con: duckdb.DuckDBPyConnection) -> None:
    counts = build(con, D0)
    assert counts["fct_dispatch_daily"] == 1 and counts["fct_campaign_progress"] > 0
    assert {r[0] for r in rows(con, "fct_dispatch_daily")} == {D0}
    build(con, AS_OF)
    everything = {t: rows(con, t) for t in ("fct_dispatch_daily", "fct_postage_daily", "fct_print_spoilage")}
    build(con, D0)  # an earlier day again: its rows are replaced, later days are left alone
    build(con, AS_OF)  # and the same day twice changes nothing
    assert {t: rows(con, t) for t in everything} == everything
    assert con.execute("select count(distinct as_of_date) from marts.fct_campaign_progress").fetchone() == (2,)


def test_campaign_progress(con: duckdb.DuckDBPyConnection) -> None:
    build(con, AS_OF)
    got = rows(con, "fct_campaign_progress")
    # as_of_date, campaign, age_band, canton, eligible, invited, booked, vaccinated, coverage
    assert got == sorted(
        [
            (AS_OF, "testing", "16-54", "Luxembourg", 2, 1, 0, 0, 0.0),  # resident 4 turned 16 on 2 Feb
            (AS_OF, "testing", "70-74", "Luxembourg", 1, 0, 0, 0, 0.0),
            (AS_OF, "testing", "80+", "Luxembourg", 2, 0, 0, 0, 0.0),  # resident 2 turned 80 on 2 Feb
            (AS_OF, "vaccination", "16-54", "Luxembourg", 2, 1, 1, 0, 0.0),
            (AS_OF, "vaccination", "70-74", "Luxembourg", 1, 1, 0, 0, 0.0),
            (AS_OF, "vaccination", "80+", "Luxembourg", 2, 2, 1, 1, 0.5),
        ],
        key=repr,
    )
    build(con, date(2021, 2, 9))  # the day before the dose: booked, not yet vaccinated
    day_before = con.execute(
        "select age_band, booked, vaccinated from marts.fct_campaign_progress "
        "where as_of_date = '2021-02-09' and campaign = 'vaccination' and booked + vaccinated > 0"
    ).fetchall()
    assert sorted(day_before) == [("16-54", 1, 0), ("80+", 1, 0)]


def test_postage_by_price_date(con: duckdb.DuckDBPyConnection) -> None:
    build(con, AS_OF)
    assert rows(con, "fct_postage_daily") == sorted(
        [
            (date(2021, 2, 1), "vaccination", 1, Decimal("0.80"), Decimal("0.80")),
            (date(2021, 2, 2), "testing", 1, Decimal("0.80"), Decimal("0.80")),
            (date(2021, 2, 2), "vaccination", 2, Decimal("0.80"), Decimal("1.60")),
            (date(2021, 2, 3), "vaccination", 1, Decimal("1.00"), Decimal("1.00")),  # the reprint, new price
        ],
        key=repr,
    )


def test_postage_needs_a_price(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ConvocError, match="no postage price for letters mailed on 2021-02-01"):
        build_marts(con, AS_OF, min_ages=MIN_AGES, prices=[PostagePrice(date(2021, 2, 2), Decimal("1"))])


def test_returns_and_spoilage(con: duckdb.DuckDBPyConnection) -> None:
    build(con, AS_OF)
    assert rows(con, "fct_returns_by_reason") == [(date(2021, 2, 5), "vaccination", "moved", 1)]
    assert rows(con, "fct_print_spoilage") == sorted(
        [
            ("J20210131", "J20210131", "original", D0, 1, 0, 0.0),
            ("J20210201", "J20210201", "original", D1, 4, 1, 0.25),
            ("J20210201-R1", "J20210201", "reprint", date(2021, 2, 2), 1, 0, 0.0),
        ],
        key=repr,
    )


def test_no_personal_data_in_marts(con: duckdb.DuckDBPyConnection) -> None:
    build(con, AS_OF)
    found = con.execute("select column_name from duckdb_columns() where schema_name = 'marts'").fetchall()
    columns = {c for (c,) in found}
    assert not columns & {"matricule", "family_name", "given_name", "street", "postcode", "booking_code"}
    assert "resident_id" not in columns


def test_postage_file_and_campaign_ages() -> None:
    from convoc.campaigns import load_campaigns

    prices = load_postage()
    assert [(p.valid_from, p.price_eur) for p in prices] == [
        (date(2021, 1, 1), Decimal("0.80")),
        (date(2022, 9, 1), Decimal("1.00")),
    ]
    assert campaign_min_ages(load_campaigns(), date(2021, 2, 1)) == {"vaccination": 16, "testing": 12}


def test_channels_emails_bounces_fallback_letters_and_postage_saved(con: duckdb.DuckDBPyConnection) -> None:
    """Three more invitations of D1, by e-mail: one accepted (postage saved), one refused for good and sent on paper
    instead, one accepted then hard-bounced; and one by paper and e-mail. The tiny warehouse's others are paper."""
    for inv, rid, channel in (
        ("vaccination:1:11:1", 1, "email"),
        ("vaccination:1:12:1", 2, "email"),
        ("vaccination:1:13:1", 3, "email"),
        ("vaccination:1:14:1", 4, "both"),
    ):
        con.execute(
            "insert into core.fct_invitation (invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, "
            "booking_code, valid_from, valid_until, centre, language, channel) "
            "values (?, ?, 'vaccination', 1, 1, date '2021-02-01', '2a', 'CODE', date '2021-02-02', "
            "date '2021-02-15', 'c1', 'fr', ?)",
            [inv, rid, channel],
        )
    attempts = [
        ("vaccination:1:11:1", 1, "sent", 250),
        ("vaccination:1:12:1", 1, "failed", 550),
        ("vaccination:1:13:1", 1, "sent", 250),
        ("vaccination:1:14:1", 1, "deferred", 451),
        ("vaccination:1:14:1", 2, "sent", 250),
    ]
    for inv, attempt, status, code in attempts:
        con.execute(
            "insert into core.fct_email_attempt values "
            "(?, date '2021-02-01', ?, ?, ?, ?, timestamp '2021-02-01 08:00')",
            [inv, f"<{inv}@x>", attempt, status, code],
        )
    con.execute(
        "insert into core.fct_email_bounce values (date '2021-02-02', '<vaccination:1:13:1@x>', "
        "'vaccination:1:13:1', timestamp '2021-02-01 10:00', 'hard', 'email_bounces_20210202.csv', 2)"
    )
    for n, inv in enumerate(("vaccination:1:12:1", "vaccination:1:13:1", "vaccination:1:14:1"), start=1):
        con.execute(
            "insert into core.fct_print_batch_letter values (date '2021-02-02', 'J20210202', 'J20210202-0001', ?, ?)",
            [n, inv],
        )
    build(con, AS_OF)
    by_channel = {
        r[2]: r[4:]
        for r in con.execute(
            "select * from marts.fct_channel_daily where day = date '2021-02-01' and campaign = 'vaccination'"
        ).fetchall()
    }
    # invitations, letters, e-mails accepted, not accepted, hard bounced, soft, fallback letters, postage saved
    assert by_channel["email"] == (3, 2, 2, 1, 1, 0, 2, Decimal("0.80"))  # one letter saved, at 0.80 on D1
    assert by_channel["both"] == (1, 1, 1, 0, 0, 0, 0, Decimal("0.00"))
    assert by_channel["paper"][:3] == (3, 0, 0)  # the tiny warehouse's pieces are in fct_print_piece only
    assert check(con, AS_OF) == []


def test_an_email_invitation_never_attempted_breaks_the_rule(con: duckdb.DuckDBPyConnection) -> None:
    for inv, rid in (("vaccination:1:11:1", 1), ("vaccination:1:12:1", 2)):
        con.execute(
            "insert into core.fct_invitation (invitation_id, resident_id, campaign, dose, attempt, wave_date, phase, "
            "booking_code, valid_from, valid_until, centre, language, channel) "
            "values (?, ?, 'vaccination', 1, 1, date '2021-02-01', '2a', 'CODE', date '2021-02-02', "
            "date '2021-02-15', 'c1', 'fr', 'email')",
            [inv, rid],
        )
    con.execute(
        "insert into core.fct_email_attempt values ('vaccination:1:11:1', date '2021-02-01', '<a@x>', 1, 'sent', 250, "
        "timestamp '2021-02-01 08:00')"
    )
    build(con, AS_OF)
    [violation] = [v for v in check(con, AS_OF) if v.rule == "every e-mail invitation sent or explained"]
    assert violation.detail == ("wave 2021-02-01: 2 e-mail invitations, 1 never attempted, 1 accepted")


def test_marts_build_on_a_warehouse_made_before_e_mail_invitations(con: duckdb.DuckDBPyConnection) -> None:
    """An upgrade whose first run after it is the statistics' (the marts read the invitations' channel)."""
    con.execute("alter table core.fct_invitation drop column channel")
    con.execute("alter table core.fct_invitation drop column format")
    con.execute("drop table core.fct_email_attempt")
    build(con, AS_OF)
    assert con.execute("select channel, sum(invitations) from marts.fct_channel_daily group by 1").fetchall() == [
        ("paper", len(INVITATIONS))
    ]
