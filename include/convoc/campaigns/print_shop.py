"""The print shop's capacity (``print_shop.yaml``): paper pieces per working day, its days, its cut-off.

The waves (``convoc.waves.print_capacity``) keep every day's paper pieces, across campaigns and with the
reprints, within :meth:`PrintShop.capacity`; the ``print_deadline`` DAG waits for the day's job until
:attr:`PrintShop.handoff_cutoff`. Every error names the file and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from convoc.campaigns import CampaignError, _config_dir, _date, _positive, _read_yaml, _require

if TYPE_CHECKING:
    from convoc.config import Settings

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FILE = "print_shop.yaml"


@dataclass(frozen=True)
class PrintShop:
    pieces_per_day: int
    working_days: frozenset[int]  # date.weekday(): 0 is Monday
    closed: frozenset[date] = frozenset()
    handoff_cutoff: time = time(14, 0)
    timezone: str = "Europe/Luxembourg"
    source: str = FILE

    def works_on(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.closed

    def capacity(self, day: date, scale: float = 1.0) -> int:
        """Paper pieces the shop can take on ``day`` (0 when it is shut), scaled like the centres."""
        return round(self.pieces_per_day * scale) if self.works_on(day) else 0


def parse_print_shop(data: Mapping[str, Any], where: str = FILE) -> PrintShop:
    pieces = _positive(data, "pieces_per_day", where, 0)
    days = _require(data, "working_days", where)
    if not isinstance(days, list) or not days:
        raise CampaignError(f"{where}: `working_days` must list at least one day of {', '.join(WEEKDAYS)}")
    unknown = [str(d) for d in days if str(d).lower() not in WEEKDAYS]
    if unknown:
        raise CampaignError(
            f"{where}: `working_days`: unknown day(s) {', '.join(unknown)}; known: {', '.join(WEEKDAYS)}"
        )
    closed = frozenset(_date(d, where, "closed") for d in data.get("closed") or ())
    raw_cutoff = str(data.get("handoff_cutoff", "14:00"))
    try:
        cutoff = time.fromisoformat(raw_cutoff)
    except ValueError:
        raise CampaignError(f"{where}: `handoff_cutoff` must be a time of day HH:MM, not {raw_cutoff!r}") from None
    zone = str(data.get("timezone", "Europe/Luxembourg"))
    try:
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise CampaignError(
            f"{where}: `timezone` must be a time zone such as Europe/Luxembourg, not {zone!r}"
        ) from None
    return PrintShop(
        pieces_per_day=pieces,
        working_days=frozenset(WEEKDAYS.index(str(d).lower()) for d in days),
        closed=closed,
        handoff_cutoff=cutoff,
        timezone=zone,
        source=where,
    )


def load_print_shop(path: Path | None = None) -> PrintShop:
    """The print shop of ``path`` (``CONVOC_PRINT_SHOP``), by default the shipped ``print_shop.yaml``."""
    source = path or _config_dir().joinpath(FILE)
    if path is not None and not path.is_file():
        raise CampaignError(f"{path}: no such print shop file (CONVOC_PRINT_SHOP)")
    return parse_print_shop(_read_yaml(source) or {}, source.name)


def print_shop_for(settings: Settings) -> PrintShop:
    """The settings' print shop (``CONVOC_PRINT_SHOP``), its cut-off overridden by ``CONVOC_PRINT_CUTOFF`` and
    ``CONVOC_PRINT_CUTOFF_TZ`` where they are set."""
    from dataclasses import replace

    shop = load_print_shop(settings.print_shop)
    return replace(
        shop,
        handoff_cutoff=settings.print_cutoff or shop.handoff_cutoff,
        timezone=settings.print_cutoff_tz or shop.timezone,
    )
