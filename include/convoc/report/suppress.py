"""Small-cell suppression for every figure the summary report shows.

The rule, applied to every count of people in every table, headline and chart of the report:

* a count from 1 to 4 is never shown: it reads ``< 5`` (*primary* suppression);
* 0 is shown as 0 (nobody can be singled out in an empty cell, and "none yet" is news the reader needs);
* when a row or column is published together with its total and exactly one of its cells is primary
  suppressed, the smallest other non-zero cell is hidden too (``×``, *secondary* suppression), so that the
  small cell cannot be recovered by subtraction;
* a share (uptake, coverage) or a change computed from a hidden count is hidden as well;
* charts plot only shown values: a hidden cell has no bar.

Every figure goes through :func:`protect` (one count) or :func:`protect_group` (cells published with their
total); formatting (``convoc.report.labels``) and charts read only :class:`Count` objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

MIN_CELL = 5
"""Counts of people below this (and above 0) are never published."""


class Status(Enum):
    SHOWN = "shown"
    SMALL = "small"  # 1..4 people: shown as "< 5"
    MASKED = "masked"  # hidden so a small cell cannot be derived from a total: shown as "×"


@dataclass(frozen=True, slots=True)
class Count:
    """A count of people (or of letters, one per person) as it may be published."""

    value: int
    status: Status

    @property
    def shown(self) -> bool:
        return self.status is Status.SHOWN

    @property
    def plot_value(self) -> int | None:
        """The value a chart may draw: None (no bar) unless the count is shown."""
        return self.value if self.shown else None


def protect(value: int) -> Count:
    """The one suppression rule for a single count: 1..4 is small, 0 and ≥ 5 are shown."""
    if value < 0:
        raise ValueError(f"a count of people cannot be negative: {value}")
    return Count(value, Status.SMALL if 0 < value < MIN_CELL else Status.SHOWN)


def protect_group(values: Sequence[int]) -> list[Count]:
    """Protect cells published together with their total (a table column, the bars of one day).

    Each cell goes through :func:`protect`; if exactly one is then small, the smallest other non-zero
    shown cell is masked as well (secondary suppression).
    """
    cells = [protect(v) for v in values]
    if sum(c.status is Status.SMALL for c in cells) == 1:
        others = [(c.value, k) for k, c in enumerate(cells) if c.shown and c.value > 0]
        if others:
            _, k = min(others)
            cells[k] = Count(cells[k].value, Status.MASKED)
    return cells


@dataclass(frozen=True, slots=True)
class Share:
    """A ratio of two counts (uptake = booked / invited, coverage = vaccinated / eligible)."""

    numerator: Count
    denominator: Count

    @property
    def value(self) -> float | None:
        """The ratio, or None when either count is hidden or the denominator is 0."""
        if not (self.numerator.shown and self.denominator.shown) or self.denominator.value == 0:
            return None
        return self.numerator.value / self.denominator.value

    @property
    def suppressed(self) -> bool:
        return not (self.numerator.shown and self.denominator.shown)


def share(numerator: Count, denominator: Count) -> Share:
    return Share(numerator, denominator)
