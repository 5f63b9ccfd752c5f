"""register_ingest → invitation_waves → simulated bookings, day after day, with dag.test(); then letters_render.

Letters never outrun capacity, nobody holds two open invitations for a dose, booked residents drop out,
and re-running a day's wave changes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pendulum
import pytest
from conftest import run_dag

from convoc.campaigns import load_campaigns, load_centres
from convoc.config import Settings
from convoc.waves.plan import window_capacity
from convoc_dev.synth import generate
from convoc_dev.synth.bookings import write_day

pytestmark = pytest.mark.slow

START = date(2021, 1, 29)
DAYS = 5
RESIDENTS = 4_000


@pytest.fixture(scope="module")
def dags(dagbag):  # type: ignore[no-untyped-def]
    return dagbag["register_ingest"], dagbag["invitation_waves"], dagbag["letters_render"]


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_campaign_over_several_days(dags, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    ingest, waves, letters = dags
    scale = RESIDENTS / 634_730
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "s" * 40)
    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", str(scale))
    generate(residents=RESIDENTS, seed=5, out=settings.landing, start_date=START, days=DAYS)
    [campaign] = [c for c in load_campaigns() if c.campaign == "vaccination"]
    centres = load_centres()
    for k in range(DAYS):
        day = START + timedelta(days=k)
        assert run_dag(ingest, day) == "success"
        assert run_dag(waves, day) == "success"
        # Letters never outrun capacity: a centre sends letters only while its expected load (open letters ×
        # uptake + booked slots in the window) stays within its capacity over the window.
        capacity = window_capacity(centres, day, campaign.booking_window_days, scale)
        sent_today = dict(
            rows(
                settings,
                f"select centre, count(*) from core.fct_invitation where campaign = 'vaccination' "
                f"and wave_date = date '{day}' group by 1",
            )
        )
        load = rows(
            settings,
            f"""
            select i.centre,
                   count(*) filter (where b.booking_code is null and i.valid_until >= date '{day}') as open,
                   count(*) filter (where b.slot >= date '{day}'
                                    and b.slot < date '{day}' + {campaign.booking_window_days}) as booked
            from core.fct_invitation i left join core.fct_booking b using (invitation_id)
            where i.campaign = 'vaccination' group by 1""",
        )
        for centre, open_letters, booked in load:
            if sent_today.get(centre):
                assert open_letters * campaign.expected_uptake + booked <= capacity[centre] + 1, (day, centre)
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            write_day(con, day, settings.landing, seed=5)

    letters = rows(
        settings,
        "select wave_date, count(*) from core.fct_invitation where campaign = 'vaccination' group by 1 order by 1",
    )
    assert letters[0][0] == START and letters[0][1] > 50
    assert rows(settings, "select count(*) from core.fct_booking")[0][0] > 0
    # nobody holds two open invitations for one dose; nobody booked is invited again for that dose
    assert rows(
        settings,
        """
        select count(*) from (select campaign, resident_id, dose from core.fct_invitation
        anti join core.fct_booking using (invitation_id) where valid_until >= date '2021-02-02'
        group by all having count(*) > 1)""",
    ) == [(0,)]
    assert rows(
        settings,
        """
        select count(*) from core.fct_invitation later join core.fct_invitation first
          on later.resident_id = first.resident_id and later.campaign = first.campaign and later.dose = first.dose
          and later.attempt > first.attempt
        join core.fct_booking b on b.invitation_id = first.invitation_id""",
    ) == [(0,)]
    # phase 1 (care homes, health staff) and the oldest are invited first
    assert rows(
        settings,
        "select min(phase) from core.fct_invitation where campaign = 'vaccination' and wave_date = date '2021-01-29'",
    ) == [("1",)]
    # large-scale testing runs alongside: a daily sample with its own code suffix
    testing = rows(
        settings,
        "select count(*), bool_and(booking_code like '%-T') from core.fct_invitation where campaign = 'testing'",
    )
    assert testing[0][0] > 0 and testing[0][1]

    before = rows(settings, "select * from core.fct_invitation order by all")
    assert run_dag(waves, START + timedelta(days=2)) == "success"
    assert run_dag(waves, START) == "success"
    assert rows(settings, "select * from core.fct_invitation order by all") == before


def test_waves_refuse_to_run_without_a_key(dags, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    ingest, waves, _ = dags
    monkeypatch.delenv("CONVOC_SIGNING_KEY", raising=False)
    monkeypatch.delenv("CONVOC_SIGNING_KEY_FILE", raising=False)
    generate(residents=500, seed=5, out=settings.landing, start_date=START)
    assert run_dag(ingest, START) == "success"
    dag_run = waves.test(logical_date=pendulum.datetime(2021, 1, 29, tz="UTC"))
    assert str(dag_run.state) == "failed"
    assert rows(settings, "select count(*) from core.fct_invitation") == [(0,)]


def test_letters_rendered_in_mapped_batches(dags, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import functools

    from convoc.letters import batches

    ingest, waves, letters = dags
    monkeypatch.setenv("CONVOC_SIGNING_KEY", "s" * 40)
    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", str(3_000 / 634_730))
    generate(residents=3_000, seed=8, out=settings.landing, start_date=START)
    for dag in (ingest, waves):
        assert run_dag(dag, START) == "success"
    dag_run = letters.test(logical_date=pendulum.datetime(2021, 1, 29, tz="UTC"))
    assert str(dag_run.state) == "success"
    tis = dag_run.get_task_instances()
    rendered = [ti for ti in tis if ti.task_id == "render_batch"]
    verified = [ti for ti in tis if ti.task_id == "verify_batch"]
    # every invitation a letter, but those sent by e-mail only
    sent = rows(
        settings,
        "select count(*) from core.fct_invitation where wave_date = date '2021-01-29' and channel <> 'email'",
    )[0][0]
    assert len(rendered) == -(-sent // 5_000)  # one mapped task per batch of 5,000
    assert len(verified) == len(rendered) and {str(ti.state) for ti in verified} == {"success"}
    # one page a letter, but the large-print ones: two pages in one language, three in French and German
    large, extra = rows(
        settings,
        "select count(*), sum(case when lower(language) in ('fr', 'de', 'en', 'pt') then 1 else 2 end) "
        "from core.fct_invitation where wave_date = date '2021-01-29' and channel <> 'email' "
        "and format = 'large_print'",
    )[0]
    assert large > 0
    assert rows(settings, "select sum(pieces), sum(pages) from core.fct_print_batch") == [(sent, sent + extra)]
    unprinted = "select count(*) from core.dim_invitation_current where piece_id is null and channel <> 'email'"
    assert rows(settings, unprinted) == [(0,)]
    folder = settings.print_root / "20210129"
    pdfs = sorted((folder / "pdf").glob("*.pdf"))
    assert len(pdfs) == len(rendered)
    # Only verified, released PDFs are recorded; nothing is left unverified or rejected.
    assert [Path(p) for (p,) in rows(settings, "select path from core.fct_print_batch order by path")] == pdfs
    assert list((folder / "rendered").iterdir()) == [] and not (folder / "rejected").exists()

    # A renderer that prints a wrong booking URL: the run fails at verification, without retry, and the day
    # has nothing released and nothing recorded.
    render = functools.partial(batches.render_batch_file, booking_url="https://wrong.example/b/")
    monkeypatch.setattr(batches, "render_batch_file", render)
    dag_run = letters.test(logical_date=pendulum.datetime(2021, 1, 29, tz="UTC"))
    assert str(dag_run.state) == "failed"
    states = {(ti.task_id, str(ti.state), ti.try_number) for ti in dag_run.get_task_instances()}
    assert ("verify_batch", "failed", 1) in states
    assert {s for t, s, _ in states if t == "record_batches"} == {"upstream_failed"}
    assert list((folder / "pdf").glob("*.pdf")) == []
    assert sorted(p.name for p in (folder / "rejected").iterdir()) == sorted(
        name for p in pdfs for name in (p.name, f"{p.stem}.reason.txt")
    )
    reason = (folder / "rejected" / f"{pdfs[0].stem}.reason.txt").read_text(encoding="utf-8")
    assert "page 1 (piece 1): booking code: the right code found, under another URL than the booking URL" in reason
    assert "https://" not in reason  # the booking QR's text (URL and code) is never written out
    assert rows(settings, "select count(*) from core.fct_print_batch") == [(0,)]
