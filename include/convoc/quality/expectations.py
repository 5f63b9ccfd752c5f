"""convoc's own Great Expectations: rules the GX core does not have.

Importing this module registers them with GX (its metric registry is global, keyed by name).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)


def is_valid_matricule(value: object) -> bool:
    """A Luxembourg national identification number: 13 digits, YYYYMMDD + serial, Luhn + Verhoeff.

    Month and day may be 00 (unknown). Check digits come from python-stdnum, over the first 11 digits.
    """
    from stdnum import luhn, verhoeff

    if not isinstance(value, str) or len(value) != 13 or not value.isdigit():
        return False
    month, day = int(value[4:6]), int(value[6:8])
    if month > 12 or day > 31:
        return False
    head = value[:11]
    return luhn.calc_check_digit(head) == value[11] and verhoeff.calc_check_digit(head) == value[12]


class ColumnValuesValidLuMatricule(ColumnMapMetricProvider):  # type: ignore[misc]
    condition_metric_name = "column_values.valid_lu_matricule"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return column.map(is_valid_matricule)


class ExpectColumnValuesToBeValidLuMatricule(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to be a Luxembourg matricule whose Luhn and Verhoeff check digits hold."""

    map_metric = "column_values.valid_lu_matricule"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)


class ColumnValuesIsoDateNotAfter(ColumnMapMetricProvider):  # type: ignore[misc]
    condition_metric_name = "column_values.iso_date_not_after"
    condition_value_keys = ("max_date",)

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, max_date: str, **kwargs: Any) -> Any:
        import pandas as pd

        parsed = pd.to_datetime(column, format="%Y-%m-%d", errors="coerce")
        # Values that are no date at all are another rule's business (strftime format).
        return parsed.isna() | (parsed <= pd.Timestamp(max_date))


class ExpectColumnValuesToBeIsoDateNotAfter(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each YYYY-MM-DD value to be on or before ``max_date``; values that are no date pass."""

    max_date: str | SuiteParameterDict  # type: ignore[type-arg]
    map_metric = "column_values.iso_date_not_after"
    success_keys: ClassVar[tuple[str, ...]] = ("max_date", "mostly")


def is_canonical_code(value: object) -> bool:
    """A booking code exactly as convoc prints it (groups, upper case, check symbol valid)."""
    from convoc.codes import InvalidCode, parse

    if not isinstance(value, str):
        return False
    try:
        return parse(value).formatted() == value
    except InvalidCode:
        return False


class ColumnValuesBookingCode(ColumnMapMetricProvider):  # type: ignore[misc]
    condition_metric_name = "column_values.booking_code"

    @column_condition_partial(engine=PandasExecutionEngine)  # type: ignore[untyped-decorator]
    def _pandas(cls, column: Any, **kwargs: Any) -> Any:
        return column.map(is_canonical_code)


class ExpectColumnValuesToBeBookingCode(ColumnMapExpectation):  # type: ignore[misc]
    """Expect each value to be a booking code in canonical form whose check symbol holds."""

    map_metric = "column_values.booking_code"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
