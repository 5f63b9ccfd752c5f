"""dispatch_stats end to end with dag.test(): the whole chain over a few days on a small synthetic population
(register → waves → letters → hand-off → simulated print shop and bookings), dispatch_stats after each day's
hand-off; the reconciliation passes, the published copy holds the marts, and rebuilding the marts for every
day again — in order, or out of order — gives identical marts (a backfill equals day-by-day runs)."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pypdfium2
import pytest
from conftest import ALERT_TO, SmtpSink, run_dag

from convoc import warehouse
from convoc.config import Settings
from convoc.runtime import CHAIN
from convoc.stats.marts import MARTS, build_marts
from convoc.stats.reconcile import check
from convoc_dev.printshop import simulate
from convoc_dev.synth import generate
from convoc_dev.synth.bookings import write_day

pytestmark = pytest.mark.slow

START = date(2021, 1, 29)
DAYS = 3
RESIDENTS = 2_000
PRIVATE = {"matricule", "family_name", "given_name", "street", "house_number", "postcode", "locality", "booking_code"}


@pytest.fixture(scope="module")
def dags(dagbag):  # type: ignore[no-untyped-def]
    return [dagbag[d] for d in CHAIN]


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    return {table: sorted(con.execute(f"select * from marts.{table}").fetchall(), key=repr) for table in MARTS}


def test_dispatch_stats_over_the_chain(  # type: ignore[no-untyped-def]
    dags, settings: Settings, monkeypatch: pytest.MonkeyPatch, airflow_api, smtp_sink: SmtpSink
) -> None:
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "s" * 40)
    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", str(RESIDENTS / 634_730))
    generate(residents=RESIDENTS, seed=5, out=settings.landing, start_date=START, days=DAYS)
    days = [START + timedelta(days=k) for k in range(DAYS)]
    for day in days:
        for dag in dags:
            assert run_dag(dag, day) == "success", (dag.dag_id, day)
        simulate(settings.outbox, settings.landing, spoilage=0.03, returns=0.05, seed=3)
        with warehouse.connect(settings.warehouse, read_only=True) as con:
            write_day(con, day, settings.landing, seed=3, uptake=0.8)

    with warehouse.connect(settings.warehouse, read_only=True) as con:
        chain = snapshot(con)
        [(invitations,)] = con.execute("select count(*) from core.fct_invitation").fetchall()
        [(mailed_events,)] = con.execute("select count(*) from core.fct_print_event where status = 'mailed'").fetchall()
        assert check(con, days[-1]) == []
    dispatch = chain["fct_dispatch_daily"]
    assert invitations > 0 and sum(r[8] for r in dispatch) == invitations
    assert sum(r[10] for r in dispatch) > 0  # the first days' letters were mailed
    assert {r[0] for r in dispatch} == set(days)
    assert sum(r[2] for r in chain["fct_postage_daily"]) == mailed_events
    assert {r[0] for r in chain["fct_campaign_progress"]} == set(days)
    assert chain["fct_print_spoilage"]

    # The published copy: the marts only, and nothing that names a resident.
    with duckdb.connect(str(settings.published), read_only=True) as pub:
        assert snapshot(pub) == chain
        schemas = {s for (s,) in pub.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        columns = {c for (c,) in pub.execute("select column_name from duckdb_columns()").fetchall()}
    assert schemas == {"marts"} and not columns & PRIVATE
    assert oct(settings.published.stat().st_mode & 0o777) == "0o600"

    # The copy shared beyond the analysts: no commune, no count of 1 to 4 people, totals kept where shown.
    with duckdb.connect(str(settings.shared), read_only=True) as shared:
        columns = {c for (c,) in shared.execute("select column_name from duckdb_columns()").fetchall()}
        small = shared.execute(
            "select count(*) from marts.fct_dispatch_daily where invited between 1 and 4 or mailed between 1 and 4 "
            "or booked between 1 and 4 or returned between 1 and 4 or vaccinated between 1 and 4"
        ).fetchone()
        hidden, shown = shared.execute(
            "select count(*) filter (invited is null), coalesce(sum(invited), 0) from marts.fct_dispatch_daily"
        ).fetchone()  # type: ignore[misc]
    assert "commune" not in columns and "language" not in columns and not columns & PRIVATE
    assert small == (0,) and hidden > 0  # a small population: some cells are suppressed
    assert shown <= sum(r[8] for r in dispatch)
    assert oct(settings.shared.stat().st_mode & 0o777) == "0o600"

    # The summary reports of the last day, rendered by the DAG from the published copy: daily and weekly (the
    # last day of data), French and English, with the letters mailed to date as the marts count them.
    reports = sorted((settings.reports / "summary").glob("*/summary_*_*.pdf"))
    last = f"{days[-1]:%Y%m%d}"
    assert {p.name for p in reports if last in p.name} == {
        f"summary_{period}_{last}_{lang}.pdf" for period in ("daily", "weekly") for lang in ("fr", "en")
    }
    pdf = pypdfium2.PdfDocument(settings.reports / "summary" / "daily" / f"summary_daily_{last}_en.pdf")
    text = "\n".join(page.get_textpage().get_text_range() for page in pdf)
    pdf.close()
    assert "Letters mailed (to date)" in text
    assert f"{sum(r[10] for r in dispatch):,}" in text  # mailed to date, all campaigns

    control_room_shows_the_chain(settings, days, airflow_api)

    # Rebuilt day by day, in order and out of order, from the same warehouse: identical marts. The day-keyed
    # marts equal what the chain left; progress snapshots of earlier days took in feedback loaded since.
    def rebuilt(order: list[date]) -> dict[str, list[tuple[object, ...]]]:
        with warehouse.connect(settings.warehouse) as con:
            for table in MARTS:
                con.execute(f"delete from marts.{table}")
            for day in order:
                with warehouse.transaction(con):
                    build_marts(con, day)
            assert check(con, days[-1]) == []
            return snapshot(con)

    in_order = rebuilt(days)
    assert rebuilt([days[2], days[0], days[1], days[0]]) == in_order
    for table in MARTS:
        if table == "fct_campaign_progress":
            last = [r for r in chain[table] if r[0] == days[-1]]
            assert [r for r in in_order[table] if r[0] == days[-1]] == last
        else:
            assert in_order[table] == chain[table], table

    # Numbers that disagree stop the day and alert: a booking that belongs to no invitation.
    # nothing failed so far: the server received the day's e-mail invitations, and no alert
    invitations = len(smtp_sink.messages)
    assert invitations > 0 and all(to[0] not in ALERT_TO for to, _ in smtp_sink.messages)
    with warehouse.connect(settings.warehouse) as con:
        con.execute(
            "insert into core.fct_booking values "
            "('ZZZZ-ZZZZ-ZZZZ', 'nobody', '2021-01-30 10:00', 'victor_hugo', '2021-02-02 09:30', null, 'manual')"
        )
    assert run_dag(dags[-1], days[-1]) == "failed"
    [(_, mail)] = smtp_sink.messages[invitations:]
    assert mail["Subject"] == f"[convoc] dispatch_stats.reconcile failed for {days[-1]}"
    assert "booked" in mail.get_body(("html",)).get_content()


def control_room_shows_the_chain(settings: Settings, days: list[date], airflow_api) -> None:  # type: ignore[no-untyped-def]
    """The Campaigns page (Airflow's API server app, the plugin mounted, a logged-in user) for the chain's days:
    every chain DAG's run succeeded, its figures are the warehouse's, and no value of a landing file that names
    or identifies a person appears on it."""
    import csv
    import re

    client, token = airflow_api
    until, span = days[-1], len(days)
    page = client.get(f"/convoc/?until={until}&days={span}", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200, page.text[:500]
    html = page.text
    rows = {m[0]: m[1] for m in re.findall(r'<tr data-day="([0-9-]+)">(.*?)</tr>', html, re.S)}
    assert set(rows) == {d.isoformat() for d in days}
    with warehouse.connect(settings.warehouse, read_only=True) as con:
        for day in days:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[day.isoformat()], re.S)
            stages = len(CHAIN)
            states = [re.sub(r"<[^>]+>", "", c).strip() for c in cells[1 : 1 + stages]]
            assert states == ["success"] * stages, (day, states)
            numbers = [int(re.sub(r"\D", "", c) or 0) for c in cells[1 + stages :]]
            [(loaded,)] = con.execute(
                "select count(*) from staging.register where snapshot_date = $d", {"d": day}
            ).fetchall()
            [(planned, allowed)] = con.execute(
                "select sum(letters), sum(quota) from core.fct_wave where wave_date = $d", {"d": day}
            ).fetchall()
            [(batches,)] = con.execute(
                "select count(*) from core.fct_print_batch where wave_date = $d", {"d": day}
            ).fetchall()
            [(mailed,)] = con.execute(
                "select count(*) from core.fct_print_event where status = 'mailed' and event_date = $d", {"d": day}
            ).fetchall()
            register = con.execute(
                "select sum(rows - rejected_rows) from raw.load_log where snapshot_date = $d and source = 'register'",
                {"d": day},
            ).fetchone()
            assert register is not None and numbers[0] == register[0] == loaded, day
            assert numbers[2:5] == [planned, allowed, batches], day
            assert numbers[5] == 0, "no batch was rejected"
            assert numbers[7] == mailed, day
    booked = 1 + len(CHAIN) + 9  # the day, the chain's stages, then the booked column
    assert (
        sum(int(re.sub(r"\D", "", re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)[booked]) or 0) for r in rows.values()) > 0
    )
    assert 'href="/dags/register_ingest/runs/' in html
    # The day's Data Docs and summary reports, served through the control room (logged in only).
    links = re.findall(r'href="(/convoc/files/[^"]+)"', html)
    assert any("/quality/" in link for link in links) and any(link.endswith("_en.pdf") for link in links)
    for link in links[:3]:
        assert client.get(link, headers={"Authorization": f"Bearer {token}"}).status_code == 200, link
        assert client.get(link).status_code == 401, link
    assert "<script" not in html and "http://" not in html and "https://" not in html  # nothing fetched
    # No personal value of any landing file on the page (names, streets, matricules, booking codes).
    personal = set()
    for path in settings.landing.glob("*.csv"):
        with path.open(encoding="utf-8", errors="replace", newline="") as f:
            for row in csv.DictReader(f):
                personal |= {v for k, v in row.items() if k in PRIVATE and v and len(v) >= 5}
    assert personal and not [v for v in personal if v in html]
