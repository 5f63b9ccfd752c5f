"""Expectation suites per source, built from its ``SourceSpec``.

Two suites per source: ``<source>.file`` (whole-file rules: header, not empty, row count against the
previous snapshot) and ``<source>.rows`` (row rules). Every expectation carries ``meta.rule``, the name
under which failing rows are quarantined, so the suites are the single list of what convoc checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convoc import reference
from convoc.sources.specs import SourceSpec

if TYPE_CHECKING:
    import great_expectations as gx

# C0 controls and DEL, except tab; line breaks cannot occur inside a parsed field.
CONTROL_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"

FILE_RULES = {
    "missing_column": "the header lacks a required column",
    "empty_file": "the file holds no data rows",
    "row_count_change": "the row count moved too far from the previous snapshot",
}

ROW_RULES = {
    "missing_required": "a required field is empty",
    "matricule_check_digit": "not a 13-digit matricule with valid Luhn and Verhoeff check digits",
    "duplicate_matricule": "the matricule occurs on more than one row of the file",
    "birth_date_unparseable": "not a YYYY-MM-DD date",
    "birth_date_future": "a date after the snapshot day",
    "registered_on_unparseable": "not a YYYY-MM-DD date",
    "registered_on_future": "a date after the snapshot day",
    "unknown_postcode": "not a Luxembourg postcode (L-####)",
    "unknown_commune": "not one of the country's communes",
    "invalid_value": "not one of the allowed values",
    "invalid_code": "not a booking code in its canonical form (XXXX-XXXX-XXXC, check symbol valid)",
    "duplicate_code": "the booking code occurs on more than one row of the file",
    "booked_at_unparseable": "not a YYYY-MM-DD HH:MM timestamp",
    "slot_unparseable": "not a YYYY-MM-DD HH:MM timestamp",
    "administered_at_unparseable": "not a YYYY-MM-DD HH:MM timestamp",
    "unknown_centre": "not one of the centres in campaigns/centres.yaml",
    "unknown_code": "a well-formed code that no invitation carries (mistyped or forged)",
    "unknown_resident": "a matricule that no resident of the register carries on that day",
    "control_character": "control character in a text field",
    "event_date_unparseable": "not a YYYY-MM-DD date",
    "event_date_future": "a date after the file's day",
    "returned_on_unparseable": "not a YYYY-MM-DD date",
    "returned_on_future": "a date after the file's day",
    "not_an_integer": "not a whole number",
    "unknown_job": "a print job that was never delivered",
    "unknown_piece": "a piece id that the named print job does not carry",
    "never_mailed": "a returned piece the print shop never confirmed as mailed",
}


def file_suite(spec: SourceSpec) -> gx.ExpectationSuite:
    """Header, non-empty and (for snapshots) row-count rules; bounds come as suite parameters."""
    import great_expectations as gx

    e = gx.expectations
    suite = gx.ExpectationSuite(name=f"{spec.name}.file")
    suite.add_expectation(
        e.ExpectTableColumnsToMatchSet(
            column_set=["_line", *spec.columns], exact_match=False, meta={"rule": "missing_column"}
        )
    )
    if not spec.may_be_empty:
        suite.add_expectation(e.ExpectTableRowCountToBeBetween(min_value=1, meta={"rule": "empty_file"}))
    if spec.snapshot:
        suite.add_expectation(
            e.ExpectTableRowCountToBeBetween(
                min_value={"$PARAMETER": "min_rows"},
                max_value={"$PARAMETER": "max_rows"},
                meta={"rule": "row_count_change"},
            )
        )
    return suite


def row_suite(spec: SourceSpec) -> gx.ExpectationSuite:
    """Row rules; a failing row is quarantined under ``meta.rule`` and the file's other rows go on."""
    import great_expectations as gx

    from convoc.quality import expectations as ce

    e = gx.expectations
    suite = gx.ExpectationSuite(name=f"{spec.name}.rows")

    def add(expectation: Any, rule: str) -> None:
        expectation.meta = {"rule": rule}
        suite.add_expectation(expectation)

    for column in spec.required:
        add(e.ExpectColumnValuesToNotBeNull(column=column), "missing_required")
    if "matricule" in spec.columns:
        add(ce.ExpectColumnValuesToBeValidLuMatricule(column="matricule"), "matricule_check_digit")
    if "booking_code" in spec.columns:
        add(ce.ExpectColumnValuesToBeBookingCode(column="booking_code"), "invalid_code")
    if spec.unique:
        column, rule = spec.unique
        add(e.ExpectColumnValuesToBeUnique(column=column), rule)
    for column in spec.past_dates:
        add(
            e.ExpectColumnValuesToMatchStrftimeFormat(column=column, strftime_format="%Y-%m-%d"),
            f"{column}_unparseable",
        )
        add(
            ce.ExpectColumnValuesToBeIsoDateNotAfter(column=column, max_date={"$PARAMETER": "day"}),
            f"{column}_future",
        )
    for column in spec.timestamps:
        add(
            e.ExpectColumnValuesToMatchStrftimeFormat(column=column, strftime_format="%Y-%m-%d %H:%M"),
            f"{column}_unparseable",
        )
    if "centre" in spec.columns:
        from convoc.campaigns import load_centres

        centres = sorted(c.centre for c in load_centres().centres)
        add(e.ExpectColumnValuesToBeInSet(column="centre", value_set=centres), "unknown_centre")
    if "postcode" in spec.columns:
        add(
            e.ExpectColumnValuesToBeInSet(column="postcode", value_set=sorted(reference.postcode_set())),
            "unknown_postcode",
        )
    if "commune" in spec.columns:
        add(
            e.ExpectColumnValuesToBeInSet(column="commune", value_set=sorted(reference.commune_set())),
            "unknown_commune",
        )
    for column, values in spec.value_sets:
        add(e.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)), "invalid_value")
    for column in spec.text:
        add(e.ExpectColumnValuesToNotMatchRegex(column=column, regex=CONTROL_CHARACTERS), "control_character")
    for column in spec.integers:
        add(e.ExpectColumnValuesToMatchRegex(column=column, regex=r"^[0-9]{1,15}$"), "not_an_integer")
    return suite
