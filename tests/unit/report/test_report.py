"""The summary report: small-cell suppression, the figures printed in French and English, the file."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pypdfium2
import pytest

from convoc.report import MIN_CELL, Share, Status, protect, protect_group, render_report, render_reports
from convoc.report.figures import Window, read_figures, window
from convoc.report.labels import Words
from convoc_dev.samples.report_marts import build_demo_marts

AS_OF = date(2021, 3, 13)  # a Saturday: the day before is 12 March
W = 129  # sum of the demo canton weights (Vianden 0)


@pytest.fixture(scope="module")
def marts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    db = tmp_path_factory.mktemp("marts") / "demo.duckdb"
    with duckdb.connect(str(db)) as con:
        build_demo_marts(con)
    with duckdb.connect(str(db), read_only=True) as con:
        yield con


def _text(pdf_path: Path) -> tuple[int, str]:
    pdf = pypdfium2.PdfDocument(pdf_path)
    try:
        pages = [pdf[k].get_textpage().get_text_range() for k in range(len(pdf))]
        return len(pdf), re.sub(r"[\u00a0\u202f ]+", " ", "\n".join(pages).replace("\r", ""))
    finally:
        pdf.close()


# -- suppression ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status", "fr", "en"),
    [
        (0, Status.SHOWN, "0", "0"),
        (1, Status.SMALL, "< 5", "< 5"),
        (3, Status.SMALL, "< 5", "< 5"),
        (4, Status.SMALL, "< 5", "< 5"),
        (5, Status.SHOWN, "5", "5"),
        (12345, Status.SHOWN, "12.345", "12,345"),
    ],
)
def test_protect_hides_one_to_four_people(value: int, status: Status, fr: str, en: str) -> None:
    cell = protect(value)
    assert cell.status is status
    assert Words("fr").count(cell) == fr
    assert Words("en").count(cell) == en
    assert cell.plot_value == (value if status is Status.SHOWN else None)
    assert MIN_CELL == 5


def test_protect_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        protect(-1)


def test_a_single_small_cell_next_to_a_total_hides_the_smallest_other_cell() -> None:
    cells = protect_group([100, 3, 0, 40, 40])
    assert [c.status for c in cells] == [Status.SHOWN, Status.SMALL, Status.SHOWN, Status.MASKED, Status.SHOWN]
    assert [Words("en").count(c) for c in cells] == ["100", "< 5", "0", "×", "40"]
    # Two small cells already protect each other; none small: nothing hidden.
    assert [c.status for c in protect_group([100, 3, 2])] == [Status.SHOWN, Status.SMALL, Status.SMALL]
    assert all(c.shown for c in protect_group([100, 0, 7]))


@pytest.mark.parametrize(
    ("num", "den", "en"),
    [(3, 100, "< 5"), (50, 4, "< 5"), (0, 100, "0.0%"), (50, 100, "50.0%"), (1, 3, "< 5"), (0, 0, "–")],
)
def test_shares_of_a_suppressed_count_are_suppressed(num: int, den: int, en: str) -> None:
    cell = Share(protect(num), protect(den))
    assert Words("en").share(cell) == en
    if en == "< 5":
        assert cell.value is None
        assert Words("fr").share_change(cell, Share(protect(50), protect(100))) == "×"


def test_percentages_have_one_format() -> None:
    """One decimal everywhere, the language's own sign and spacing."""
    en, fr = Words("en"), Words("fr")
    assert [en.percent(r) for r in (0.5, 0.125, 0.1234, 1 / 3, 0)] == ["50.0%", "12.5%", "12.3%", "33.3%", "0.0%"]
    assert [fr.percent(r) for r in (0.5, 0.1234)] == ["50,0\u00a0%", "12,3\u00a0%"]


def test_changes_are_hidden_when_either_side_is_suppressed() -> None:
    words = Words("en")
    assert words.count_change(protect(120), protect(100)) == "▲ +20"
    assert words.count_change(protect(90), protect(100)) == "▼ −10"
    assert words.count_change(protect(3), protect(100)) == "×"
    assert words.count_change(protect(100), protect(2)) == "×"


def test_charts_draw_no_bar_for_suppressed_cells(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    with duckdb.connect(str(db)) as con:
        build_demo_marts(con)
        # A third campaign mails 3 letters on the as-of day.
        con.execute(
            "insert into marts.fct_dispatch_daily values "
            "(date '2021-03-13', 'booster', 3, 'Wiltz', 'Wiltz', '80+', 'fr', '2a', 3, 3, 3, 0, 0, 0, 0)"
        )
    with duckdb.connect(str(db), read_only=True) as con:
        figures = read_figures(con, AS_OF, "daily")
    assert figures.campaigns == ("booster", "testing", "vaccination")
    assert figures.letters["booster"][-1].plot_value is None
    # The smallest other campaign that day (vaccination, 645 letters) is hidden too: the day's total is published.
    assert figures.letters["vaccination"][-1].plot_value is None
    assert figures.letters["testing"][-1].plot_value == 12 * W
    assert figures.uptake["booster"][-1].value is None
    assert Words("en").count(figures.headline["booster"][0].mailed_period) == "< 5"


# -- figures -------------------------------------------------------------------------------------


def test_daily_charts_span_only_the_days_with_data(tmp_path: Path) -> None:
    """The demo marts start on 1 March: a weekly report of 14 March draws 14 days of axis, not 28; one of
    3 March, 3."""
    db = tmp_path / "demo.duckdb"
    with duckdb.connect(str(db)) as con:
        build_demo_marts(con)
    with duckdb.connect(str(db), read_only=True) as con:
        weekly = read_figures(con, date(2021, 3, 14), "weekly")
        early = read_figures(con, date(2021, 3, 3), "weekly")
        daily = read_figures(con, date(2021, 3, 14), "daily")
    assert (weekly.days[0], weekly.days[-1], len(weekly.days)) == (date(2021, 3, 1), date(2021, 3, 14), 14)
    assert early.days == (date(2021, 3, 1), date(2021, 3, 2), date(2021, 3, 3))
    assert len(daily.days) == 14 and all(len(v) == len(early.days) for v in early.letters.values())


def test_periods_and_previous_reports() -> None:
    assert window(AS_OF, "daily") == Window(AS_OF, AS_OF, date(2021, 3, 12), date(2021, 3, 12))
    weekly = window(date(2021, 3, 14), "weekly")
    assert (weekly.start, weekly.previous_start, weekly.previous_end) == (
        date(2021, 3, 8),
        date(2021, 3, 1),
        date(2021, 3, 7),
    )


# Worked out by hand from the demo rules (convoc_dev.samples.report_marts): on 13 March (day index 12, multiplier 1)
# each canton mails 5·w vaccination and 12·w testing letters; on 12 March (multiplier 3) three times that.
# Over 1..13 March the multipliers add up to 4·(1+2+3) + 1 = 25, so a canton has invited 125·w + 300·w.
MAILED_VACC = 5 * W  # 645
MAILED_TEST = 12 * W  # 1548
CUMUL_VACC = 125 * W + 3  # 16128, with Vianden's 3
CUMUL_TEST = 300 * W  # 38700
# Booked: 3·w·m (vaccination) and 6·w·m (testing) per day, halved on 13 March (rounded down per canton):
# 3·129·24 + Vianden's 1 + 192 = 9481 for vaccination → uptake 9481 / 16128 = 58.8 % (12 March: 9289 / 15483
# = 60.0 %, so −1.2 points); testing 18963 / 38700 = 49 % (12 March: 18576 / 37152 = 50 %). Postage €0.80 a
# letter: 1548 → €1,238.40 (12 March: 4644 → €3,715.20).
EXPECTED = {
    "fr": [
        "Journée du 13 mars 2021",
        "Variation par rapport au rapport de la veille (12 mars 2021)",
        "Lettres envoyées (période) 1.548 ▼ −3.096 645 ▼ −1.290 2.193 ▼ −4.386",
        "Lettres envoyées (cumul) 38.700 ▲ +1.548 16.128 ▲ +645 54.828 ▲ +2.193",
        "Taux de réservation 49,0 % ▼ −1,0 pt 58,8 % ▼ −1,2 pt 51,9 % ▼ −1,1 pt",
        "Frais de port (période) 1.238,40 € ▼ −2.476,80 € 516,00 € ▼ −1.032,00 € 1.754,40 € ▼ −3.508,80 €",
        "Capellen 4.250 170 4.250 2.205 51,9 % 100",
        "Luxembourg 17.000 680 17.000 8.820 51,9 % 425",
        "Clervaux × 68 × × × 33",
        "Vianden < 5 0 < 5 < 5 < 5 0",
        "Total 54.828 2.193 54.828",
        "Adresse inconnue 29 837",
        "Déménagé × 411",
        "Décédé < 5 14",
        "sam. 13.3 7.000 2.193 0 31,3 % 0",  # the print shop's load: 2,193 letters, no reprint, capacity 7,000
        "Secret statistique : tout effectif de 1 à 4 personnes est affiché « < 5 »",
    ],
    "en": [
        "Day of 13 March 2021",
        "Change since the previous day's report (12 March 2021)",
        "Letters mailed (period) 1,548 ▼ −3,096 645 ▼ −1,290 2,193 ▼ −4,386",
        "Letters mailed (to date) 38,700 ▲ +1,548 16,128 ▲ +645 54,828 ▲ +2,193",
        "Booking uptake 49.0% ▼ −1.0 pp 58.8% ▼ −1.2 pp 51.9% ▼ −1.1 pp",
        "Postage (period) €1,238.40 ▼ −€2,476.80 €516.00 ▼ −€1,032.00 €1,754.40 ▼ −€3,508.80",
        "Capellen 4,250 170 4,250 2,205 51.9% 100",
        "Luxembourg 17,000 680 17,000 8,820 51.9% 425",
        "Clervaux × 68 × × × 33",
        "Vianden < 5 0 < 5 < 5 < 5 0",
        "Total 54,828 2,193 54,828",
        "Unknown address 29 837",
        "Moved away × 411",
        "Deceased < 5 14",
        "Sat 13.3 7,000 2,193 0 31.3% 0",
        "Statistical confidentiality: any count of 1 to 4 people is shown as “< 5”",
    ],
}


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_report_prints_the_expected_figures(marts: duckdb.DuckDBPyConnection, tmp_path: Path, lang: str) -> None:
    path = render_report(marts, AS_OF, "daily", lang, tmp_path)  # type: ignore[arg-type]
    assert path == tmp_path / "summary" / "daily" / f"summary_daily_20210313_{lang}.pdf"
    pages, text = _text(path)
    assert 1 <= pages <= 2
    for expected in EXPECTED[lang]:
        assert expected in text, expected
    vianden = next(line for line in text.splitlines() if line.startswith("Vianden"))
    assert "3" not in vianden.split()


def test_the_weekly_report_shows_the_print_shops_load_each_day(
    marts: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    _, text = _text(render_report(marts, date(2021, 3, 7), "weekly", "en", tmp_path))
    head = text.index("Print shop load per day")
    rows = [line for line in text[head:].splitlines() if line[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")]
    assert rows == [
        "Mon 1.3 7,000 2,193 0 31.3% 0",
        "Tue 2.3 7,000 4,390 < 5 62.7% 0",  # 4 reprints: a small cell
        "Wed 3.3 7,000 6,579 0 94.0% 250",  # the busiest days: letters waited
        "Thu 4.3 7,000 2,193 0 31.3% 0",
        "Fri 5.3 7,000 4,389 0 62.7% 0",  # Vianden's single wave of 3
        "Sat 6.3 7,000 6,579 0 94.0% 250",
        "Sun 7.3 7,000 2,193 0 31.3% 0",
    ]


def test_the_report_file_is_private_atomic_and_reproducible(marts: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    first = render_report(marts, AS_OF, "weekly", "fr", tmp_path / "a")
    second = render_report(marts, AS_OF, "weekly", "fr", tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    for folder in (first.parent, first.parent.parent, tmp_path / "a"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not list(first.parent.glob("*.part"))
    again = render_report(marts, AS_OF, "weekly", "fr", tmp_path / "a")
    assert again.read_bytes() == second.read_bytes()
    assert 1 <= _text(first)[0] <= 2


def test_weekly_reports_on_sundays_and_on_the_last_day_of_data(
    marts: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    saturday = render_reports(marts, AS_OF, tmp_path)
    assert [p.name for p in saturday] == ["summary_daily_20210313_fr.pdf", "summary_daily_20210313_en.pdf"]
    sunday = render_reports(marts, date(2021, 3, 14), tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in sunday] == [
        "summary/daily/summary_daily_20210314_fr.pdf",
        "summary/daily/summary_daily_20210314_en.pdf",
        "summary/weekly/summary_weekly_20210314_fr.pdf",
        "summary/weekly/summary_weekly_20210314_en.pdf",
    ]
    _, text = _text(sunday[-1])
    assert "Week from 8 March 2021 to 14 March 2021" in text


# -- entry points and documentation -------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[3] / "docs" / "report"


def test_the_command_renders_the_reports_due(tmp_path: Path) -> None:
    from convoc.report.__main__ import main

    db = tmp_path / "warehouse" / "demo.duckdb"
    db.parent.mkdir()
    with duckdb.connect(str(db)) as con:
        build_demo_marts(con)
    assert main(["2021-03-14", "--warehouse", str(db), "--out", str(tmp_path / "reports")]) == 0
    assert len(list((tmp_path / "reports" / "summary").rglob("*.pdf"))) == 4


def test_committed_preview_is_what_the_renderer_makes_today(tmp_path: Path) -> None:
    from convoc_dev.samples.report import write_preview

    written = write_preview(tmp_path)
    assert sorted(p.name for p in written) == ["summary-en.pdf", "summary-en.png", "summary-fr.pdf", "summary-fr.png"]
    for path in written:
        assert (DOCS / path.name).read_bytes() == path.read_bytes(), (
            f"docs/report/{path.name} is stale: run .venv/bin/python -m convoc_dev.samples.report docs/report"
        )


def test_the_report_shows_the_invitations_by_channel_with_small_cells_hidden(tmp_path: Path) -> None:
    import duckdb

    from convoc.report.figures import read_figures
    from convoc_dev.samples.report_marts import LAST_DAY, build_demo_marts

    with duckdb.connect() as con:
        build_demo_marts(con)
        figures = read_figures(con, LAST_DAY, "daily")
    rows = {r.channel: r for r in figures.channels}
    assert list(rows) == ["paper", "both", "email"]
    email = rows["email"]
    # 2 not accepted a day per campaign: 4 on the day, a small cell; 8 hard bounces; 12 letters instead
    assert not email.emails_failed.shown and email.bounced_hard.value == 8 and email.fallback_letters.value == 12
    assert email.postage_saved_eur == pytest.approx((email.invitations.value - 12) * 0.80)
    assert rows["paper"].emails_sent.value == 0 and rows["both"].letters.value == rows["both"].invitations.value
