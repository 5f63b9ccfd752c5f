"""The control room's HTML: one server-rendered page (Jinja2, ``templates/campaigns.html``), no script, no
external fetch, a small inline SVG chart — it works offline and inside the Airflow UI's frame.

Every value on the page is a count, a day, a state, a campaign or rule name, or a link built here; Jinja2
escapes all of them. Links to Airflow's own pages open in the top window (the page lives in a frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from convoc.control_room.figures import CampaignDay

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).with_name("templates")

CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 680, 180, 40


STAGES = {
    "register_ingest": "ingest",
    "invitation_waves": "waves",
    "letters_render": "letters",
    "notify_digital": "e-mails",
    "print_handoff": "hand-off",
    "dispatch_stats": "stats",
}
"""The chain's columns, headed by their stage (the DAG id in the header's tooltip)."""


@dataclass(frozen=True)
class PageContext:
    """Where the page is and what it shows: the span (``until``, ``days``), the URL prefixes of the control
    room's own routes (``base``) and of Airflow's UI (``airflow``), and when the figures were published."""

    until: date
    days: int
    base: str
    airflow: str
    published_at: datetime | None
    user: str = ""


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = lambda v: "–" if v is None else f"{int(v):,}".replace(",", "\u202f")
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f} %"
    env.filters["q"] = lambda v: quote(str(v), safe="")
    return env


def chart(days: list[CampaignDay]) -> dict[str, Any]:
    """The chart's geometry, oldest day left: a bar per day for letters mailed, a line for uptake (booked ÷
    invited, cumulative; 0–100 % on the right axis). Numbers only: the template draws them."""
    ordered = sorted(days, key=lambda d: d.day)
    width = CHART_WIDTH - 2 * CHART_PAD
    height = CHART_HEIGHT - 2 * CHART_PAD
    top = max([d.mailed for d in ordered] + [1])
    step = width / max(len(ordered), 1)
    bars, points = [], []
    for i, d in enumerate(ordered):
        x = CHART_PAD + i * step
        h = height * d.mailed / top
        bars.append(
            {
                "x": round(x + step * 0.15, 1),
                "y": round(CHART_PAD + height - h, 1),
                "w": round(step * 0.7, 1),
                "h": round(h, 1),
                "day": d.day,
                "mailed": d.mailed,
            }
        )
        if d.uptake is not None:
            points.append((round(x + step / 2, 1), round(CHART_PAD + height * (1 - min(d.uptake, 1.0)), 1)))
    labels = [bars[0], bars[-1]] if len(bars) > 1 else bars
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "pad": CHART_PAD,
        "bottom": CHART_PAD + height,
        "right": CHART_PAD + width,
        "top_value": top,
        "bars": bars,
        "labels": labels,
        "line": " ".join(f"{x},{y}" for x, y in points),
        "points": points,
    }


def render(days: list[CampaignDay], ctx: PageContext) -> str:
    """The Campaigns page for ``days`` (newest first)."""
    return (
        _environment()
        .get_template("campaigns.html")
        .render(days=days, ctx=ctx, chart=chart(days), chain=list(days[0].runs) if days else [], stages=STAGES)
    )
