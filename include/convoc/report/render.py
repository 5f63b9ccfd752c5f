"""The ministers' summary report: one to two A4 pages of PDF with charts, in French or English.

``render_report`` reads the analyst marts (:mod:`convoc.report.figures`, already protected by the
small-cell rule of :mod:`convoc.report.suppress`) and writes
``<out_dir>/summary/<period>/summary_<period>_<YYYYMMDD>_<lang>.pdf``. The file is written aside, fsynced
and renamed into place (mode 0600, folders 0700). Idempotent: the same marts and arguments give the same
bytes (reportlab ``invariant=1``), so a re-run replaces the file with an identical one.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc import faults
from convoc.files import write_private
from convoc.report.figures import PERIODS, Figures, Headline, Period, last_data_day, read_figures
from convoc.report.labels import LANGS, NOT_APPLICABLE, Lang, Words

if TYPE_CHECKING:
    import duckdb

MM = 72.0 / 25.4
PAGE_MARGIN_MM = 15.0
FOOTER_MM = 24.0
"""Bottom margin kept for the footer (suppression rule, source, page number)."""
CONTENT_WIDTH = (210.0 - 2 * PAGE_MARGIN_MM) * MM
PALETTE = ("#1f4e79", "#e07b00", "#5b9b3c", "#8e3b8e")
GRID = "#b0b0b0"
SHADE = "#eef2f7"


def report_path(out_dir: Path, as_of: date, period: Period, lang: Lang) -> Path:
    """Where the report of ``period`` ending ``as_of`` in ``lang`` is written under the reports root."""
    return out_dir / "summary" / period / f"summary_{period}_{as_of:%Y%m%d}_{lang}.pdf"


def _campaign_titles(campaigns: Sequence[str], lang: Lang) -> dict[str, str]:
    from convoc.campaigns import load_campaigns

    titles = {c.campaign: c.title.get(lang, c.campaign) for c in load_campaigns()}
    return {c: titles.get(c, c) for c in campaigns}


def _bar_chart(
    width: float,
    height: float,
    categories: Sequence[str],
    series: Sequence[Sequence[float | None]],
    names: Sequence[str],
    value_format: Callable[[float], str],
    font: str,
    *,
    value_max: float | None = None,
    legend_rows: int = 1,
) -> Any:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 38, 30
    chart.width, chart.height = width - 46, height - 42 - 10 * legend_rows
    # Hidden cells are None: reportlab draws no bar for them.
    chart.data = [list(s) for s in series]
    # Past two weeks, every other day is labelled so the labels stay readable.
    step = 1 if len(categories) <= 14 else 2
    last = len(categories) - 1
    chart.categoryAxis.categoryNames = [c if (last - k) % step == 0 else "" for k, c in enumerate(categories)]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 0 if len(categories) <= 7 else 90
    chart.categoryAxis.labels.boxAnchor = "n" if len(categories) <= 7 else "e"
    chart.valueAxis.valueMin = 0
    if value_max is not None:
        chart.valueAxis.valueMax = value_max
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.labelTextFormat = value_format
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor(GRID)
    chart.valueAxis.gridStrokeWidth = 0.25
    chart.barSpacing = 0.5
    chart.groupSpacing = 2
    for k in range(len(series)):
        chart.bars[k].fillColor = colors.HexColor(PALETTE[k % len(PALETTE)])
        chart.bars[k].strokeColor = None
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 38, height - 6
    legend.fontName = font
    legend.fontSize = 7
    legend.alignment = "right"
    legend.columnMaximum = legend_rows
    legend.deltax = 8
    legend.deltay = 10
    legend.dx = legend.dy = 6
    legend.colorNamePairs = [(colors.HexColor(PALETTE[k % len(PALETTE)]), name) for k, name in enumerate(names)]
    drawing.add(legend)
    return drawing


def _headline_rows(figures: Figures, words: Words, titles: dict[str, str], head_style: Any) -> list[list[Any]]:
    from reportlab.platypus import Paragraph

    scopes: list[str | None] = [*figures.campaigns, None]
    header: list[Any] = [""]
    for scope in scopes:
        header += [Paragraph(titles[scope] if scope else words["all"], head_style), ""]
    sub = [""] + [words["value"], words["change"]] * len(scopes)
    rows: list[list[Any]] = [header, sub]

    def line(label: str, cell: Callable[[Headline, Headline, str | None], tuple[str, str]]) -> None:
        row: list[Any] = [words[label]]
        for scope in scopes:
            now, before = figures.headline[scope]
            row += list(cell(now, before, scope))
        rows.append(row)

    def count(name: str) -> Callable[[Headline, Headline, str | None], tuple[str, str]]:
        return lambda now, before, _: (
            words.count(getattr(now, name)),
            words.count_change(getattr(now, name), getattr(before, name)),
        )

    line("mailed_period", count("mailed_period"))
    line("mailed_total", count("mailed_total"))
    line("invited", count("invited"))
    line("booked", count("booked"))
    line("uptake", lambda now, before, _: (words.share(now.uptake), words.share_change(now.uptake, before.uptake)))
    line("vaccinated", count("vaccinated"))
    # Coverage across campaigns would add up different eligible populations: shown per campaign only.
    line(
        "coverage",
        lambda now, before, scope: (
            (words.share(now.coverage), words.share_change(now.coverage, before.coverage))
            if scope
            else (NOT_APPLICABLE, NOT_APPLICABLE)
        ),
    )
    line("returned", count("returned"))
    line(
        "postage",
        lambda now, before, _: (words.money(now.postage_eur), words.money_change(now.postage_eur, before.postage_eur)),
    )
    return rows


def _table(rows: list[list[Any]], widths: Sequence[float], font: str, bold: str, header_rows: int, **extra: Any) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=list(widths), repeatRows=header_rows)
    style = [
        ("FONT", (0, 0), (-1, -1), font, 7.5),
        ("FONT", (0, 0), (-1, header_rows - 1), bold, 7.5),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.6, colors.black),
        ("ROWBACKGROUNDS", (0, header_rows), (-1, -1), [colors.white, colors.HexColor(SHADE)]),
    ]
    if extra.get("total_row"):
        style += [("FONT", (0, -1), (-1, -1), bold, 7.5), ("LINEABOVE", (0, -1), (-1, -1), 0.6, colors.black)]
    for span in extra.get("spans", ()):
        style.append(("SPAN", *span))
        style.append(("ALIGN", span[0], span[1], "CENTER"))
    table.setStyle(TableStyle(style))
    return table


def _story(figures: Figures, words: Words, fonts: tuple[str, str, str]) -> list[Any]:
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, Spacer, Table

    regular, bold, _ = fonts
    title_style = ParagraphStyle("title", fontName=bold, fontSize=15, leading=19)
    sub_style = ParagraphStyle("sub", fontName=regular, fontSize=9, leading=12)
    h_style = ParagraphStyle("h", fontName=bold, fontSize=10, leading=13, spaceBefore=6, spaceAfter=3)
    win = figures.window
    titles = _campaign_titles(figures.campaigns, words.lang)
    names = [titles[c] for c in figures.campaigns]
    period_text = words[f"period_{figures.period}"].format(start=words.date(win.start), end=words.date(win.end))
    previous = words[f"previous_{figures.period}"].format(prev=words.date(win.previous_end))
    story: list[Any] = [
        Paragraph(words[f"title_{figures.period}"], title_style),
        Paragraph(period_text, sub_style),
        Paragraph(previous, sub_style),
        Spacer(1, 4),
        Paragraph(words["headline"], h_style),
    ]

    # Headline box.
    head_style = ParagraphStyle("head", fontName=bold, fontSize=7.5, leading=9, alignment=TA_CENTER)
    rows = _headline_rows(figures, words, titles, head_style)
    n_scopes = len(figures.campaigns) + 1
    first = CONTENT_WIDTH - n_scopes * 2 * 58
    spans = [((1 + 2 * k, 0), (2 + 2 * k, 0)) for k in range(n_scopes)]
    story.append(_table(rows, [first] + [58] * (2 * n_scopes), regular, bold, 2, spans=spans))

    # Letters per day by campaign.
    day_labels = [words.date(d, "d.M") for d in figures.days]
    story.append(Paragraph(words["chart_letters"], h_style))
    story.append(
        _bar_chart(
            CONTENT_WIDTH,
            165,
            day_labels,
            [[c.plot_value for c in figures.letters[name]] for name in figures.campaigns],
            names,
            words.number,
            regular,
        )
    )

    # Coverage by age band and uptake by wave day, side by side.
    half = CONTENT_WIDTH / 2 - 4
    coverage = _bar_chart(
        half,
        190,
        figures.age_bands,
        [[s.value for s in figures.coverage[name]] for name in figures.campaigns],
        names,
        words.percent,
        regular,
        value_max=1.0,
        legend_rows=len(names),
    )
    uptake = _bar_chart(
        half,
        190,
        day_labels,
        [[s.value for s in figures.uptake[name]] for name in figures.campaigns],
        names,
        words.percent,
        regular,
        value_max=1.0,
        legend_rows=len(names),
    )
    heads = [
        Paragraph(words["chart_coverage"].format(end=words.date(win.end)), h_style),
        Paragraph(words["chart_uptake"], h_style),
    ]
    story.append(
        Table([heads, [coverage, uptake]], colWidths=[half + 4, half + 4], style=[("LEFTPADDING", (0, 0), (-1, -1), 0)])
    )

    # Page 2: the table by canton and returned mail.
    story.append(PageBreak())
    story.append(Paragraph(words["cantons"].format(end=words.date(win.end)), h_style))
    header = [
        words[k] for k in ("canton", "c_invited", "c_mailed_period", "c_mailed", "c_booked", "c_uptake", "c_returned")
    ]
    col_style = ParagraphStyle("col", fontName=bold, fontSize=7.5, leading=9, alignment=TA_RIGHT)
    canton_rows: list[list[Any]] = [[header[0], *(Paragraph(h, col_style) for h in header[1:])]]
    for row in [*figures.cantons, figures.canton_total]:
        canton_rows.append(
            [
                row.canton or words["total"],
                words.count(row.invited),
                words.count(row.mailed_period),
                words.count(row.mailed),
                words.count(row.booked),
                words.share(row.uptake),
                words.count(row.returned),
            ]
        )
    first = CONTENT_WIDTH - 6 * 68
    story.append(_table(canton_rows, [first] + [68] * 6, regular, bold, 1, total_row=True))

    # Returned mail by reason.
    story.append(Paragraph(words["returns"], h_style))
    return_rows = [[words["reason"], words["r_period"], words["r_total"]]]
    return_rows += [[words[r.reason], words.count(r.period), words.count(r.total)] for r in figures.returns]
    returns = _table(return_rows, [120, 70, 70], regular, bold, 1)
    returns.hAlign = "LEFT"
    story.append(returns)

    # The print shop's load: pieces planned against its capacity, each day of the period.
    if figures.print_load:
        story.append(Paragraph(words["print_load"], h_style))
        heads = [words[k] for k in ("p_day", "p_capacity", "p_pieces", "p_reprints", "p_load", "p_deferred")]
        load_rows: list[list[Any]] = [[heads[0], *(Paragraph(h, col_style) for h in heads[1:])]]
        for day in figures.print_load:
            load_rows.append(
                [
                    words.date(day.day, "EEE d.M"),
                    words.number(day.capacity) if day.working_day else words["p_shut"],
                    words.count(day.pieces),
                    words.count(day.reprints),
                    NOT_APPLICABLE if day.load is None else words.percent(day.load),
                    words.count(day.deferred),
                ]
            )
        load = _table(load_rows, [70, 68, 68, 68, 68, 68], regular, bold, 1)
        load.hAlign = "LEFT"
        story.append(load)

    # How the invitations reached the residents: on paper, by e-mail, or both; bounces and letters instead.
    if any(row.channel != "paper" for row in figures.channels):
        story.append(Paragraph(words["channels"], h_style))
        keys = ("ch_channel", "ch_invitations", "ch_letters", "ch_emails", "ch_failed", "ch_bounced", "ch_fallback")
        heads = [words[k] for k in keys]
        channel_rows: list[list[Any]] = [[heads[0], *(Paragraph(h, col_style) for h in heads[1:])]]
        for line in figures.channels:
            channel_rows.append(
                [
                    words[f"ch_{line.channel}"],
                    words.count(line.invitations),
                    words.count(line.letters),
                    words.count(line.emails_sent),
                    words.count(line.emails_failed),
                    words.count(line.bounced_hard),
                    words.count(line.fallback_letters),
                ]
            )
        channels = _table(channel_rows, [86, 60, 60, 60, 60, 60, 60], regular, bold, 1)
        channels.hAlign = "LEFT"
        story.append(channels)
        saved = [row.postage_saved_eur for row in figures.channels if row.channel == "email"]
        if saved and saved[0] is not None:
            story.append(Paragraph(words["ch_saved"].format(amount=words.money(saved[0])), sub_style))
    return story


def _footer(words: Words, font: str) -> Callable[[Any, Any], None]:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    style = ParagraphStyle("foot", fontName=font, fontSize=6.5, leading=8)

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        width = CONTENT_WIDTH
        rule = Paragraph(words["rule"], style)
        _, h = rule.wrap(width, FOOTER_MM * MM)
        rule.drawOn(canvas, PAGE_MARGIN_MM * MM, 8 * MM + 10)
        canvas.setFont(font, 6.5)
        canvas.drawString(PAGE_MARGIN_MM * MM, 8 * MM, words["source"].format(page=doc.page))
        canvas.setLineWidth(0.4)
        top = 8 * MM + 10 + h + 3
        canvas.line(PAGE_MARGIN_MM * MM, top, PAGE_MARGIN_MM * MM + width, top)
        canvas.restoreState()

    return draw


def build_pdf(figures: Figures, lang: Lang) -> bytes:
    """The report as PDF bytes (deterministic for the same figures and language)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    from convoc.letters.layout import register_fonts

    fonts = register_fonts()
    words = Words(lang)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=PAGE_MARGIN_MM * MM,
        rightMargin=PAGE_MARGIN_MM * MM,
        topMargin=PAGE_MARGIN_MM * MM,
        bottomMargin=(PAGE_MARGIN_MM + FOOTER_MM) * MM,
        title=words[f"title_{figures.period}"],
        author="convoc",
        invariant=1,
        pageCompression=1,
    )
    footer = _footer(words, fonts[0])
    doc.build(_story(figures, words, fonts), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _write_private(path: Path, data: bytes, root: Path) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600, creating its folders (from ``root`` down) 0700."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    for parent in (folder, *folder.parents):
        os.chmod(parent, 0o700)
        if parent == root:
            break
    write_private(path, data)


def render_report(con: duckdb.DuckDBPyConnection, as_of: date, period: Period, lang: Lang, out_dir: Path) -> Path:
    """Render the ``period`` report ending ``as_of`` in ``lang`` under the reports root ``out_dir``.

    Reads ``marts.*`` through ``con`` (read-only is enough); writes one PDF (0600, folders 0700) and returns
    its path.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    data = build_pdf(read_figures(con, as_of, period), lang)
    path = report_path(out_dir, as_of, period, lang)
    _write_private(path, data, out_dir)
    return path


def weekly_due(con: duckdb.DuckDBPyConnection, as_of: date) -> bool:
    """A weekly report is made on Sundays, and on the last day with data (so a campaign's end is covered)."""
    return as_of.isoweekday() == 7 or last_data_day(con) == as_of


def render_reports(con: duckdb.DuckDBPyConnection, as_of: date, out_root: Path) -> list[Path]:
    """All reports due for ``as_of``: daily in French and English, and weekly ones when :func:`weekly_due`."""
    periods: list[Period] = [p for p in PERIODS if p == "daily" or weekly_due(con, as_of)]
    written = []
    for period in periods:
        for lang in LANGS:
            written.append(render_report(con, as_of, period, lang, out_root))
            faults.point("report.after_first_report")
    return written
