"""The control room's figures and page, without Airflow: runs and published counts joined per day, the chart's
geometry, escaping, and the links to the day's files."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from convoc.control_room import figures, page
from convoc.control_room.figures import Published, Run

DAY = date(2021, 1, 29)


def _published() -> Published:
    p = Published(published_at=datetime(2021, 1, 30, 6, 0))
    p.ops[DAY] = {
        ("register", "rows", "register"): 1000,
        ("register", "loaded", "register"): 990,
        ("register", "quarantined", "register"): 10,
        ("register", "rule", "too_long"): 4,
        ("register", "rule", "matricule_check_digit"): 6,
        ("waves", "planned", "covid19"): 400,
        ("waves", "allowed", "covid19"): 420,
        ("batches", "verified", ""): 2,
        ("jobs", "delivered", "original"): 1,
        ("jobs", "mailed", ""): 398,
        ("jobs", "spoiled", ""): 2,
    }
    p.mailed[DAY] = 398
    p.returns[DAY] = {"moved": 3}
    p.progress[DAY] = {"eligible": 5000, "invited": 400, "booked": 100, "vaccinated": 20}
    return p


def test_a_day_joins_runs_and_counts() -> None:
    runs = [
        Run(
            "letters_render",
            "r1",
            DAY,
            "failed",
            "/dags/letters_render/runs/r1",
            {"render_batch": {"success": 3}, "verify_batch": {"success": 2, "failed": 1}},
        ),
        Run(
            "letters_render",
            "r2",
            DAY,
            "success",
            "/dags/letters_render/runs/r2",
            {"render_batch": {"success": 3}, "verify_batch": {"success": 3}},
        ),
        Run("register_ingest", "r0", DAY, "success", "/x"),
    ]
    [day] = figures.campaign_days([DAY], _published(), runs)
    assert day.state("letters_render") == "success"  # the latest run of the day counts
    assert day.state("print_handoff") == "not yet"
    assert day.register == [("register", 1000, 990, 10)]
    assert day.source("register") == (1000, 990, 10) and day.source("bookings") == (0, 0, 0)
    assert day.rules == [("matricule_check_digit", 6), ("too_long", 4)]  # most frequent first
    assert day.waves == [("covid19", 400, 420)]
    assert day.batches == {"rendered": 3, "verified": 2, "rejected": 0, "letters": 0}
    assert day.jobs["printed"] == 400 and day.jobs["spoiled"] == 2
    assert day.uptake == 0.25


def test_the_page_escapes_and_draws() -> None:
    runs = [Run("register_ingest", "r<0>", DAY, "failed", "/dags/register_ingest/runs/r%3C0%3E")]
    days = figures.campaign_days(figures.span(DAY, 2), _published(), runs)
    ctx = page.PageContext(until=DAY, days=2, base="/convoc", airflow="", published_at=datetime(2021, 1, 30, 6))
    html = page.render(days, ctx)
    assert "r<0>" not in html
    assert 'href="/dags/register_ingest/runs/r%3C0%3E">failed</a>' in html.replace("\n        ", " ")
    assert html.count("<rect ") == 2 and "398 letters mailed" in html
    assert "25.0 %" in html and "1\u202f000" in html
    assert "<script" not in html and "http" not in html


def test_chart_scales_to_the_busiest_day() -> None:
    p = _published()
    p.mailed[date(2021, 1, 28)] = 199
    chart = page.chart(figures.campaign_days(figures.span(DAY, 2), p, []))
    low, high = chart["bars"]
    assert high["h"] == page.CHART_HEIGHT - 2 * page.CHART_PAD and abs(low["h"] - high["h"] / 2) < 0.5
    assert [b["day"] for b in chart["bars"]] == [date(2021, 1, 28), DAY]  # oldest left


def test_no_published_copy_gives_empty_figures(tmp_path: Path) -> None:
    empty = figures.read_published(tmp_path / "missing.duckdb", DAY, DAY)
    assert empty.days == set() and empty.published_at is None
    assert figures.latest_day(empty, []) is None


def test_the_page_opens_on_the_last_day_the_campaign_moved() -> None:
    today = date(2026, 11, 30)
    skipped_today = Run("register_ingest", "scheduled__today", today, "success", "/x")  # no landing file today
    waves = Run("invitation_waves", "w", date(2021, 2, 2), "success", "/x")
    assert figures.latest_day(Published(), [waves, skipped_today]) == date(2021, 2, 2)
    assert figures.latest_day(_published(), [skipped_today]) == DAY
    assert figures.latest_day(Published(), [skipped_today]) == today  # nothing else ever ran


def test_day_files_link_docs_and_reports(tmp_path: Path) -> None:
    reports, docs = tmp_path / "reports", tmp_path / "reports" / "quality"
    (docs / "20210129" / "manual_1").mkdir(parents=True)
    (docs / "20210129" / "manual_1" / "index.html").write_text("x")
    (reports / "summary" / "daily").mkdir(parents=True)
    for name in ("summary_daily_20210129_fr.pdf", "summary_daily_20210130_fr.pdf", "notes.pdf"):
        (reports / "summary" / "daily" / name).write_bytes(b"%PDF")
    found_docs, found_reports = figures.day_files(reports, docs, DAY)
    assert [(link.label, link.href) for link in found_docs] == [("manual_1", "quality/20210129/manual_1/index.html")]
    assert [(link.label, link.href) for link in found_reports] == [
        ("daily (fr)", "summary/daily/summary_daily_20210129_fr.pdf")
    ]
