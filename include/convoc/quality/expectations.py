"""convoc's own Great Expectations: every row rule of convoc, as a column map expectation.

Each condition is a vectorised, total function of ``convoc.quality.conditions`` (polars and numpy over the
whole column; GX hands the column over as a pandas series backed by Arrow, which goes to polars and back
without a copy). The conditions decide missing values themselves (they pass: ``missing_required`` is
``ExpectColumnValuesToNotBeNull``), so GX is told not to filter them out first
(``filter_column_isnull = False``): its pandas engine filters by copying the whole frame, once per metric,
which made validation of 650,000 rows cost tens of seconds. Importing this module registers the
expectations with GX (its metric registry is global, keyed by name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

from convoc.quality.gx import great_expectations

if TYPE_CHECKING:
    import polars as pl

# GX imported the way convoc imports it (without scipy.stats and altair, frames not fingerprinted: see
# convoc.quality.gx), whichever module of convoc happens to import it first.
great_expectations()

from great_expectations.core.suite_parameters import SuiteParameterDict  # noqa: E402
from great_expectations.execution_engine import PandasExecutionEngine  # noqa: E402
from great_expectations.expectations.expectation import ColumnMapExpectation, MulticolumnMapExpectation  # noqa: E402
from great_expectations.expectations.metrics.map_metric_provider import (  # noqa: E402
    ColumnMapMetricProvider,
    MulticolumnMapMetricProvider,
    column_condition_partial,
    multicolumn_condition_partial,
)

from convoc import text  # noqa: E402
from convoc.quality import conditions  # noqa: E402

_COLUMNS: ContextVar[dict[tuple[str, int], Any] | None] = ContextVar("convoc_columns", default=None)


@contextmanager
def one_frame(source: pl.DataFrame | None = None) -> Iterator[None]:
    """Within, GX validates one frame (one chunk, ``convoc.quality.validate``): each of its columns goes to polars once
    and its distinct values are found once (``conditions.sharing_distinct_values``), however many rules judge it —
    found by the column's name and length (GX hands the conditions whole columns: they see missing values
    themselves, so none is filtered out first). ``source``: the polars frame GX's pandas frame was made from; its
    text columns are then used as they are, not converted back from pandas (the same values: what the conversion
    gives, ``tests/unit/quality/test_one_frame.py``)."""
    import polars as pl

    seeded = {}
    if source is not None:
        seeded = {(name, source.height): source[name] for name, dtype in source.schema.items() if dtype == pl.String}
    token = _COLUMNS.set(seeded)
    try:
        with conditions.sharing_distinct_values():
            yield
    finally:
        _COLUMNS.reset(token)


def _polars(column: Any) -> Any:
    """A pandas column as a polars series (once per column within ``one_frame``)."""
    import polars as pl

    memo = _COLUMNS.get()
    key = (str(column.name), len(column))
    if memo is not None and key in memo:
        return memo[key]
    values = pl.from_pandas(column.astype("str"))
    if memo is not None:
        memo[key] = values
    return values


def _apply(column: Any, condition: Callable[..., Any], *args: Any) -> Any:
    """Run a polars condition on a pandas column; a boolean pandas series on the same index."""
    import pandas as pd

    return pd.Series(condition(_polars(column), *args).to_numpy(), index=column.index)


class _Provider(ColumnMapMetricProvider):  # type: ignore[misc]
    """A metric whose condition sees every value, missing ones included (they pass)."""

    filter_column_isnull = False


class ColumnValuesValidLuMatricule(_Provider):
    condition_metric_name = "column_values.valid_lu_matricule"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return _apply(column, conditions.is_matricule)


class ExpectColumnValuesToBeValidLuMatricule(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to be 13 ASCII digits, a Luxembourg matricule whose Luhn and Verhoeff digits hold."""

    map_metric = "column_values.valid_lu_matricule"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ColumnValuesBookingCode(_Provider):
    condition_metric_name = "column_values.booking_code"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return _apply(column, conditions.is_booking_code)


class ExpectColumnValuesToBeBookingCode(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to be a booking code in canonical form whose check symbol holds."""

    map_metric = "column_values.booking_code"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ColumnValuesIsoDate(_Provider):
    condition_metric_name = "column_values.iso_date"
    condition_value_keys = ("kind",)

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, kind: str, **kwargs: Any) -> Any:
        return _apply(column, conditions.is_iso_date, kind)


class ExpectColumnValuesToBeIsoDate(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to be ``YYYY-MM-DD`` (kind ``date``) or ``YYYY-MM-DD HH:MM`` (kind ``timestamp``) in
    ASCII digits, naming a day (and time) that exists."""

    kind: str = "date"
    map_metric = "column_values.iso_date"
    success_keys: ClassVar[tuple[str, ...]] = ("kind", "mostly")


class ColumnValuesIsoDateWithin(_Provider):
    condition_metric_name = "column_values.iso_date_within"
    condition_value_keys = ("min_date", "max_date", "kind")

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, min_date: str | None, max_date: str | None, kind: str, **kwargs: Any) -> Any:
        return _apply(column, conditions.date_within, min_date, max_date, kind)


class ExpectColumnValuesToBeIsoDateWithin(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each date to lie between ``min_date`` and ``max_date`` (both included, either may be None);
    values that are no date pass (``ExpectColumnValuesToBeIsoDate`` reports them)."""

    min_date: str | SuiteParameterDict | None = None  # type: ignore[type-arg]
    max_date: str | SuiteParameterDict | None = None  # type: ignore[type-arg]
    kind: str = "date"
    map_metric = "column_values.iso_date_within"
    success_keys: ClassVar[tuple[str, ...]] = ("min_date", "max_date", "kind", "mostly")


class ColumnValuesInReference(_Provider):
    condition_metric_name = "column_values.in_reference"
    condition_value_keys = ("reference",)

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, reference: str, **kwargs: Any) -> Any:
        return _apply(column, conditions.in_reference, reference)


class ExpectColumnValuesToBeInReference(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to be in convoc's reference list ``reference``: ``postcode`` (the country's postcodes),
    ``commune`` (its communes) or ``centre`` (the vaccination centres). The list is named, not inlined: GX
    copies an expectation's arguments for every metric it computes, and 4,165 postcodes made that the
    slowest part of validation."""

    reference: str
    map_metric = "column_values.in_reference"
    success_keys: ClassVar[tuple[str, ...]] = ("reference", "mostly")


class ColumnValuesAmong(_Provider):
    condition_metric_name = "column_values.among"
    condition_value_keys = ("values",)

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, values: list[str], **kwargs: Any) -> Any:
        return _apply(column, conditions.among, tuple(values))


class ExpectColumnValuesToBeAmong(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to be exactly one of ``values`` (a short list of codes)."""

    values: list[str]
    map_metric = "column_values.among"
    success_keys: ClassVar[tuple[str, ...]] = ("values", "mostly")


class ColumnValuesInFormat(_Provider):
    condition_metric_name = "column_values.in_format"
    condition_value_keys = ("pattern",)

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, pattern: str, **kwargs: Any) -> Any:
        return _apply(column, conditions.in_format, pattern)


class ExpectColumnValuesToBeInFormat(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to match ``pattern`` whole (a regular expression over ASCII: ``^[A-Z]{2}$``)."""

    pattern: str
    map_metric = "column_values.in_format"
    success_keys: ClassVar[tuple[str, ...]] = ("pattern", "mostly")


class ColumnValuesAtMostCharacters(_Provider):
    condition_metric_name = "column_values.at_most_characters"
    condition_value_keys = ("max_length",)

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, max_length: int, **kwargs: Any) -> Any:
        return _apply(column, conditions.at_most_characters, max_length)


class ExpectColumnValuesToBeAtMostCharacters(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to hold at most ``max_length`` characters (code points, after normalisation)."""

    max_length: int
    map_metric = "column_values.at_most_characters"
    success_keys: ClassVar[tuple[str, ...]] = ("max_length", "mostly")


class ColumnValuesUniqueInFile(_Provider):
    condition_metric_name = "column_values.unique_in_file"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return _apply(column, conditions.unique)


class ExpectColumnValuesToBeUniqueInFile(ColumnMapExpectation):  # type: ignore[misc]
    """Expect no value to occur twice; every occurrence of a repeated value fails (which one is right is the
    register team's call, not ours)."""

    map_metric = "column_values.unique_in_file"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ColumnValuesNoControlCharacters(_Provider):
    condition_metric_name = "column_values.no_control_characters"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return _apply(column, conditions.has_none_of, text.CONTROL)


class ExpectColumnValuesToHaveNoControlCharacters(ColumnMapExpectation):  # type: ignore[misc]
    """Expect no control character (C0, DEL, C1) and no line or paragraph separator in any value."""

    map_metric = "column_values.no_control_characters"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ColumnValuesNoInvisibleCharacters(_Provider):
    condition_metric_name = "column_values.no_invisible_characters"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return _apply(column, conditions.has_none_of, text.INVISIBLE)


class ExpectColumnValuesToHaveNoInvisibleCharacters(ColumnMapExpectation):  # type: ignore[misc]
    """Expect no format character (zero-width, bidirectional control, soft hyphen, BOM) and no private-use
    code point in any value."""

    map_metric = "column_values.no_invisible_characters"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ColumnValuesPrintableOnLetters(_Provider):
    condition_metric_name = "column_values.printable_on_letters"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return _apply(column, conditions.has_none_of, text.UNPRINTABLE)


class ExpectColumnValuesToBePrintableOnLetters(ColumnMapExpectation):  # type: ignore[misc]
    """Expect every character to be Latin script the post reads, drawable by the letters' embedded fonts
    (``convoc.text.POSTAL_RANGES``), with diacritics only on a letter."""

    map_metric = "column_values.printable_on_letters"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


# --- one expectation for a rule over several columns ------------------------------------------------------
# GX spends about a tenth of a second per expectation on its own bookkeeping, whatever the data: a rule that
# applies to five text columns is one expectation over the five, not five. A row fails it if any of its columns
# does; which columns failed is worked out for the rejected rows only (``convoc.quality.validate``).


def _apply_all(frame: Any, condition: Callable[..., Any], *args: Any) -> Any:
    """A polars condition on every column of a pandas frame: True where every column passes."""
    import numpy as np
    import pandas as pd

    passed = np.ones(len(frame), dtype=np.bool_)
    for name in frame.columns:
        passed &= condition(_polars(frame[name]), *args).to_numpy()
    return pd.Series(passed, index=frame.index)


def _present(values: Any) -> Any:
    return values.is_not_null()


class _MultiProvider(MulticolumnMapMetricProvider):  # type: ignore[misc]
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")


class _MultiExpectation(MulticolumnMapExpectation):  # type: ignore[misc]
    ignore_row_if: str = "never"  # missing values are the conditions' business, never skipped


class MulticolumnValuesPresent(_MultiProvider):
    condition_metric_name = "multicolumn_values.all_present"

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: Any, **kwargs: Any) -> Any:
        return _apply_all(column_list, _present)


class ExpectColumnsToHaveNoMissingValues(_MultiExpectation):
    """Expect every row to have a value in each of ``column_list`` (the file's required columns)."""

    map_metric = "multicolumn_values.all_present"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class MulticolumnValuesNoControlCharacters(_MultiProvider):
    condition_metric_name = "multicolumn_values.no_control_characters"

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: Any, **kwargs: Any) -> Any:
        return _apply_all(column_list, conditions.has_none_of, text.CONTROL)


class ExpectColumnsToHaveNoControlCharacters(_MultiExpectation):
    """Expect no control character (C0, DEL, C1) and no line or paragraph separator in any of ``column_list``."""

    map_metric = "multicolumn_values.no_control_characters"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class MulticolumnValuesNoInvisibleCharacters(_MultiProvider):
    condition_metric_name = "multicolumn_values.no_invisible_characters"

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: Any, **kwargs: Any) -> Any:
        return _apply_all(column_list, conditions.has_none_of, text.INVISIBLE)


class ExpectColumnsToHaveNoInvisibleCharacters(_MultiExpectation):
    """Expect no format character (zero-width, bidirectional control, soft hyphen, BOM) and no private-use
    code point in any of ``column_list``."""

    map_metric = "multicolumn_values.no_invisible_characters"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class MulticolumnValuesPrintableOnLetters(_MultiProvider):
    condition_metric_name = "multicolumn_values.printable_on_letters"

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: Any, **kwargs: Any) -> Any:
        return _apply_all(column_list, conditions.has_none_of, text.UNPRINTABLE)


class ExpectColumnsToBePrintableOnLetters(_MultiExpectation):
    """Expect every character of ``column_list`` to be Latin script the post reads, drawable by the letters'
    embedded fonts (``convoc.text.POSTAL_RANGES``), with diacritics only on a letter."""

    map_metric = "multicolumn_values.printable_on_letters"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class MulticolumnValuesWithinLengths(_MultiProvider):
    condition_metric_name = "multicolumn_values.within_lengths"
    condition_value_keys = ("max_lengths",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: Any, max_lengths: dict[str, int], **kwargs: Any) -> Any:
        import numpy as np
        import pandas as pd

        passed = np.ones(len(column_list), dtype=np.bool_)
        for name in column_list.columns:
            passed &= conditions.at_most_characters(_polars(column_list[name]), max_lengths[name]).to_numpy()
        return pd.Series(passed, index=column_list.index)


class ExpectColumnsToBeWithinLengths(_MultiExpectation):
    """Expect each of ``column_list`` to hold at most its ``max_lengths`` characters (code points)."""

    max_lengths: dict[str, int]
    map_metric = "multicolumn_values.within_lengths"
    success_keys: ClassVar[tuple[str, ...]] = ("max_lengths", "mostly")


class ColumnValuesEmail(_Provider):
    condition_metric_name = "column_values.email"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return _apply(column, conditions.is_email)


class ExpectColumnValuesToBeEmail(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to be an e-mail address in the syntax ``email-validator`` accepts (no DNS look-up),
    in the ASCII form it stores."""

    map_metric = "column_values.email"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


# --- rules on a pair of columns: the first column of ``column_list`` is the one reported -------------------


def _pair(frame: Any) -> tuple[Any, Any]:
    first, second = frame.columns
    return _polars(frame[first]), _polars(frame[second])


class MulticolumnValuesRequiredWhen(_MultiProvider):
    condition_metric_name = "multicolumn_values.required_when"
    condition_value_keys = ("when",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: Any, when: list[str], **kwargs: Any) -> Any:
        import pandas as pd

        values, other = _pair(column_list)
        return pd.Series(conditions.required_when(values, other, tuple(when)).to_numpy(), index=column_list.index)


class ExpectColumnValuesToBePresentWhen(_MultiExpectation):
    """Expect the first of ``column_list`` to have a value wherever the second is one of ``when`` (an address
    for a channel that sends e-mail)."""

    when: list[str]
    map_metric = "multicolumn_values.required_when"
    success_keys: ClassVar[tuple[str, ...]] = ("when", "mostly")


class MulticolumnValuesDateNotBefore(_MultiProvider):
    condition_metric_name = "multicolumn_values.date_not_before"

    @multicolumn_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column_list: Any, **kwargs: Any) -> Any:
        import pandas as pd

        values, other = _pair(column_list)
        return pd.Series(conditions.date_not_before(values, other).to_numpy(), index=column_list.index)


class ExpectColumnDateNotBeforeColumn(_MultiExpectation):
    """Expect the date in the first of ``column_list`` to be on or after the date in the second (withdrawn on
    or after consented); rows with either missing or no date pass."""

    map_metric = "multicolumn_values.date_not_before"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
