"""Expectation suites per source, built from its ``SourceSpec``.

One suite per source, ``<source>``: the whole-file rules (header, not empty, row count against the
previous snapshot) and the row rules, column by column. Every expectation carries
``meta.rule``, the name under which failing rows are quarantined, so the suites and ``ROW_RULES`` are the
single list of what convoc checks. Two more rules are decided before Great Expectations sees the file, on
its lines (``convoc.sources.extract``): ``malformed_row`` and ``bad_encoding``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convoc.sources.specs import Column, SourceSpec

if TYPE_CHECKING:
    import great_expectations as gx

FILE_RULES = {
    "missing_column": "the header lacks a required column",
    "empty_file": "the file holds no data rows",
    "row_count_change": "the row count moved too far from the previous snapshot",
    "malformed_rows": "more than the allowed share of rows are malformed or badly encoded",
    "unreadable_header": "the header line cannot be read (encoding, quoting, empty or repeated names)",
    "check_failed": "a check could not be evaluated (it raised or returned no result): nothing is loaded",
}

ROW_RULES = {
    "malformed_row": "the line has the wrong number of fields or broken quoting",
    "bad_encoding": "the line is not valid UTF-8 in a file that is otherwise UTF-8",
    "missing_required": "a required field is empty",
    "matricule_check_digit": "not 13 ASCII digits with valid Luhn and Verhoeff check digits",
    "duplicate_matricule": "the matricule (canonical form) occurs on more than one row of the file",
    "birth_date_unparseable": "not a YYYY-MM-DD date",
    "birth_date_future": "a date after the snapshot day",
    "birth_date_too_early": "a birth date before 1900-01-01",
    "registered_on_unparseable": "not a YYYY-MM-DD date",
    "registered_on_future": "a date after the snapshot day",
    "unknown_postcode": "not a Luxembourg postcode (L-####)",
    "unknown_commune": "not one of the country's communes",
    "invalid_value": "not one of the allowed values, or not in the column's format",
    "invalid_code": "not a booking code in its canonical form (XXXX-XXXX-XXXC, check symbol valid)",
    "duplicate_code": "the booking code occurs on more than one row of the file",
    "booked_at_unparseable": "not a YYYY-MM-DD HH:MM timestamp",
    "slot_unparseable": "not a YYYY-MM-DD HH:MM timestamp",
    "administered_at_unparseable": "not a YYYY-MM-DD HH:MM timestamp",
    "unknown_centre": "not one of the centres in campaigns/centres.yaml",
    "unknown_code": "a well-formed code that no invitation carries (mistyped or forged)",
    "unknown_resident": "a matricule that no resident of the register carries on that day",
    "control_character": "a control character or a line break in a text field",
    "invisible_character": "a zero-width, bidirectional-control, private-use or unassigned character",
    "too_long": "longer than the column's documented maximum",
    "unprintable_character": "a character the letter cannot print in a script the post reads",
    "event_date_unparseable": "not a YYYY-MM-DD date",
    "event_date_future": "a date after the file's day",
    "returned_on_unparseable": "not a YYYY-MM-DD date",
    "returned_on_future": "a date after the file's day",
    "not_an_integer": "not a whole number",
    "unknown_job": "a print job that was never delivered",
    "unknown_piece": "a piece id that the named print job does not carry",
    "never_mailed": "a returned piece the print shop never confirmed as mailed",
    "invalid_email": "not an e-mail address (syntax, email-validator; ASCII form, no DNS look-up)",
    "missing_email": "no e-mail address for a channel that sends e-mail (email, both)",
    "consented_on_unparseable": "not a YYYY-MM-DD date",
    "consented_on_future": "a date after the file's day",
    "withdrawn_on_unparseable": "not a YYYY-MM-DD date",
    "withdrawn_on_future": "a date after the file's day",
    "withdrawn_before_consented": "consent withdrawn before it was given",
    "bounced_at_unparseable": "not a YYYY-MM-DD HH:MM timestamp",
    "bounced_at_future": "a time after the file's day",
    "unknown_message": "a Message-ID no e-mail invitation was sent under",
}

PAIR_EXPECTATIONS = ("expect_column_values_to_be_present_when", "expect_column_date_not_before_column")
"""Rules on a pair of columns: a failing row is reported on the first column only."""

TEXT_RULES = ("control_character", "invisible_character", "unprintable_character")
"""Rules whose rejects name the offending characters (code points), for the register team."""


def file_expectations(spec: SourceSpec) -> list[tuple[Any, str]]:
    """Header, non-empty and (for snapshots) row-count rules; bounds come as suite parameters."""
    from convoc.quality.gx import great_expectations

    gx = great_expectations()

    e = gx.expectations
    out: list[tuple[Any, str]] = [
        (e.ExpectTableColumnsToMatchSet(column_set=list(spec.columns), exact_match=False), "missing_column")
    ]
    if not spec.may_be_empty:
        out.append((e.ExpectTableRowCountToBeBetween(min_value=1), "empty_file"))
    if spec.snapshot:
        bounds = e.ExpectTableRowCountToBeBetween(
            min_value={"$PARAMETER": "min_rows"}, max_value={"$PARAMETER": "max_rows"}
        )
        out.append((bounds, "row_count_change"))
    return out


def column_expectations(spec: SourceSpec, column: Column) -> list[tuple[Any, str]]:
    """The expectations on one column alone and the rule each quarantines under, in reporting order. The rules
    shared by several columns (missing values, text) are in ``shared_expectations``."""
    from convoc.quality import expectations as ce

    name = column.name
    out: list[tuple[Any, str]] = []
    if column.kind == "matricule":
        out.append((ce.ExpectColumnValuesToBeValidLuMatricule(column=name), "matricule_check_digit"))
    if column.kind == "integer":
        out.append((ce.ExpectColumnValuesToBeInFormat(column=name, pattern=r"^[0-9]{1,15}$"), "not_an_integer"))
    if column.booking_code:
        out.append((ce.ExpectColumnValuesToBeBookingCode(column=name), "invalid_code"))
    if column.kind == "email":
        out.append((ce.ExpectColumnValuesToBeEmail(column=name), "invalid_email"))
    if column.required_when:
        other, when, rule = column.required_when
        out.append((ce.ExpectColumnValuesToBePresentWhen(column_list=[name, other], when=list(when)), rule))
    if spec.unique and spec.unique[0] == name:
        out.append((ce.ExpectColumnValuesToBeUniqueInFile(column=name), spec.unique[1]))
    if column.date:
        out.append((ce.ExpectColumnValuesToBeIsoDate(column=name, kind=column.date), f"{name}_unparseable"))
        if column.not_after_day:
            within = ce.ExpectColumnValuesToBeIsoDateWithin(
                column=name, max_date={"$PARAMETER": "day"}, kind=column.date
            )
            out.append((within, f"{name}_future"))
        if column.not_before:
            within = ce.ExpectColumnValuesToBeIsoDateWithin(column=name, min_date=column.not_before, kind=column.date)
            out.append((within, f"{name}_too_early"))
        if column.not_before_column:
            other, rule = column.not_before_column
            out.append((ce.ExpectColumnDateNotBeforeColumn(column_list=[name, other]), rule))
    if column.reference:
        known = ce.ExpectColumnValuesToBeInReference(column=name, reference=column.reference)
        out.append((known, f"unknown_{column.reference}"))
    if column.values:
        out.append((ce.ExpectColumnValuesToBeAmong(column=name, values=list(column.values)), "invalid_value"))
    if column.pattern:
        out.append((ce.ExpectColumnValuesToBeInFormat(column=name, pattern=column.pattern), "invalid_value"))
    return out


SHARED_RULES = ("missing_required", "control_character", "invisible_character", "too_long", "unprintable_character")
"""Rules that apply to several columns of a source: one expectation over them all (``shared_expectations``)."""


def shared_columns(spec: SourceSpec, rule: str) -> list[Column]:
    """The columns of ``spec`` a shared rule applies to."""
    if rule == "missing_required":
        return [c for c in spec.schema if c.required]
    if rule in ("control_character", "invisible_character"):
        return [c for c in spec.schema if c.kind == "text"]
    if rule == "too_long":
        return [c for c in spec.schema if c.max_length is not None and not c.reference]
    if rule == "unprintable_character":
        return [c for c in spec.schema if c.printable]
    raise KeyError(rule)


def shared_expectations(spec: SourceSpec) -> list[tuple[Any, str]]:
    """One expectation per shared rule over every column it applies to (a column alone: a column expectation)."""
    from convoc.quality import expectations as ce
    from convoc.quality.gx import great_expectations

    gx = great_expectations()

    out: list[tuple[Any, str]] = []
    for rule in SHARED_RULES:
        columns = shared_columns(spec, rule)
        names = [c.name for c in columns]
        if not columns:
            continue
        if rule == "missing_required":
            one, many = gx.expectations.ExpectColumnValuesToNotBeNull, ce.ExpectColumnsToHaveNoMissingValues
        elif rule == "control_character":
            one, many = ce.ExpectColumnValuesToHaveNoControlCharacters, ce.ExpectColumnsToHaveNoControlCharacters
        elif rule == "invisible_character":
            one, many = ce.ExpectColumnValuesToHaveNoInvisibleCharacters, ce.ExpectColumnsToHaveNoInvisibleCharacters
        elif rule == "unprintable_character":
            one, many = ce.ExpectColumnValuesToBePrintableOnLetters, ce.ExpectColumnsToBePrintableOnLetters
        else:  # too_long: each column its own maximum
            lengths = {c.name: int(c.max_length or 0) for c in columns}
            expectation = (
                ce.ExpectColumnsToBeWithinLengths(column_list=names, max_lengths=lengths)
                if len(columns) > 1
                else ce.ExpectColumnValuesToBeAtMostCharacters(column=names[0], max_length=lengths[names[0]])
            )
            out.append((expectation, rule))
            continue
        out.append((many(column_list=names) if len(columns) > 1 else one(column=names[0]), rule))
    return out


def source_suite(spec: SourceSpec, *, file_rules: bool = True) -> gx.ExpectationSuite:
    """The source's suite: file rules, then row rules column by column; every expectation names its rule
    (``meta.rule``): a file rule refuses the file, a row rule quarantines the failing rows. Without
    ``file_rules``: the row rules alone, ``<source>.rows`` (a file's later chunks, see ``validate``)."""
    from convoc.quality.gx import great_expectations

    gx = great_expectations()

    suite = gx.ExpectationSuite(name=spec.name if file_rules else f"{spec.name}.rows")
    rules = (file_expectations(spec) if file_rules else []) + shared_expectations(spec)
    for column in spec.schema:
        rules += column_expectations(spec, column)
    for expectation, rule in rules:
        expectation.meta = {"rule": rule}
        suite.add_expectation(expectation)
    return suite
