"""The row conditions are total (any text gives a verdict, never an exception) and agree with the
references they vectorise: python-stdnum for check digits, convoc.codes for booking codes, the calendar."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn, verhoeff

from convoc import text
from convoc.codes import ALPHABET, InvalidCode, make_code, parse
from convoc.quality import conditions as c

ANY_TEXT = st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=30)
DIGITS = st.text("0123456789", min_size=11, max_size=11)

CONDITIONS = [
    c.is_matricule,
    c.is_booking_code,
    c.is_iso_date,
    lambda v: c.is_iso_date(v, "timestamp"),
    lambda v: c.date_within(v, "1900-01-01", "2021-01-29"),
    lambda v: c.date_within(v, None, "2021-01-29", "timestamp"),
    lambda v: c.in_reference(v, "postcode"),
    lambda v: c.in_reference(v, "commune"),
    lambda v: c.in_reference(v, "centre"),
    lambda v: c.among(v, ("F", "M", "X")),
    lambda v: c.in_format(v, r"^[A-Z]{2}$"),
    lambda v: c.at_most_characters(v, 60),
    c.unique,
    lambda v: c.has_none_of(v, text.CONTROL),
    lambda v: c.has_none_of(v, text.INVISIBLE),
    lambda v: c.has_none_of(v, text.UNPRINTABLE),
    c.is_email,
]


@pytest.mark.parametrize("condition", CONDITIONS)
@settings(max_examples=60, deadline=None)
@given(values=ANY_TEXT)
def test_every_condition_is_total(condition, values: list[str | None]) -> None:  # type: ignore[no-untyped-def]
    series = pl.Series("v", values, dtype=pl.String)
    verdict = condition(series)
    assert verdict.dtype == pl.Boolean and verdict.len() == len(values)
    assert verdict.null_count() == 0
    assert all(verdict.filter(series.is_null()))  # a missing value is the missing_required rule's business


PAIRS = [
    lambda a, b: c.required_when(a, b, ("email", "both")),
    c.date_not_before,
]


@pytest.mark.parametrize("condition", PAIRS, ids=["required_when", "date_not_before"])
@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=20)), st.one_of(st.none(), st.text(max_size=20))))
)
def test_every_condition_over_two_columns_is_total(condition, pairs: list[tuple[str | None, str | None]]) -> None:  # type: ignore[no-untyped-def]
    first = pl.Series("a", [a for a, _ in pairs], dtype=pl.String)
    second = pl.Series("b", [b for _, b in pairs], dtype=pl.String)
    verdict = condition(first, second)
    assert verdict.dtype == pl.Boolean and verdict.len() == len(pairs) and verdict.null_count() == 0


@pytest.mark.parametrize("condition", [f for f in CONDITIONS if f is not c.unique])
@settings(max_examples=40, deadline=None)
@given(values=ANY_TEXT, repeats=st.integers(1, 6))
def test_a_values_verdict_is_its_own_whether_values_repeat_or_not(  # type: ignore[no-untyped-def]
    condition, values: list[str | None], repeats: int
) -> None:
    """Repeated values are judged once per distinct value and the verdicts mapped back (or, all passing, not
    mapped at all): the same verdicts as each value judged alone."""
    alone = [condition(pl.Series("v", [v], dtype=pl.String))[0] for v in values]
    assert condition(pl.Series("v", values * repeats, dtype=pl.String)).to_list() == alone * repeats


NASTY = [
    "١٩٥٠٠٣١٤٠٠١٧٣",  # Arabic-Indic digits: str.isdigit() is True, int() accepts them, stdnum raises
    "１９５０-０３-１４",
    "\x00",
    "\ud7ff",
    "e\u0301" * 5000,
    "",
    " ",
    "2021-02-29",
    "2021-13-01 25:61",
    "0000-00-00",
    "9999-12-31",
    "L-١٠٠٩",
    "7QK2-M0ZD-4R1X-TTTT",
]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_values_that_made_checks_raise_get_a_verdict(condition) -> None:  # type: ignore[no-untyped-def]
    verdict = condition(pl.Series("v", NASTY, dtype=pl.String))
    assert verdict.len() == len(NASTY) and verdict.null_count() == 0


def _stdnum_matricule(value: str) -> bool:
    return (
        len(value) == 13
        and value.isascii()
        and value.isdigit()
        and int(value[4:6]) <= 12
        and int(value[6:8]) <= 31
        and luhn.is_valid(value[:12])
        and verhoeff.is_valid(value[:11] + value[12])
    )


@settings(max_examples=200, deadline=None)
@given(heads=st.lists(DIGITS, min_size=1, max_size=50), flips=st.lists(st.integers(0, 12), max_size=50))
def test_matricule_check_agrees_with_python_stdnum(heads: list[str], flips: list[int]) -> None:
    values = [h + luhn.calc_check_digit(h) + verhoeff.calc_check_digit(h) for h in heads]
    for k, position in enumerate(flips[: len(values)]):  # single-digit substitutions of some of them
        v = values[k]
        values[k] = v[:position] + str((int(v[position]) + 1 + k % 9) % 10) + v[position + 1 :]
    verdict = c.is_matricule(pl.Series(values, dtype=pl.String)).to_list()
    assert verdict == [_stdnum_matricule(v) for v in values]


def _canonical(value: str) -> bool:
    try:
        return parse(value).formatted() == value
    except InvalidCode:
        return False


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=20),
    noise=st.lists(st.tuples(st.integers(0, 13), st.sampled_from(ALPHABET + "ilou-")), max_size=20),
)
def test_booking_code_check_agrees_with_the_codes_module(ids: list[str], noise: list[tuple[int, str]]) -> None:
    values = [make_code(i, b"k" * 32, suffix="T" if k % 3 == 0 else None) for k, i in enumerate(ids)]
    for k, (position, symbol) in enumerate(noise[: len(values)]):
        values[k] = values[k][:position] + symbol + values[k][position + 1 :]
    verdict = c.is_booking_code(pl.Series(values, dtype=pl.String)).to_list()
    assert verdict == [_canonical(v) for v in values]


@settings(max_examples=100, deadline=None)
@given(days=st.lists(st.dates(min_value=date(1800, 1, 1), max_value=date(2100, 1, 1)), max_size=20))
def test_dates_agree_with_the_calendar(days: list[date]) -> None:
    values = [d.isoformat() for d in days] + ["2021-02-29", "2020-02-29", "1950-04-31", "1950-4-30"]
    verdict = c.is_iso_date(pl.Series(values, dtype=pl.String)).to_list()
    assert verdict == [True] * len(days) + [False, True, False, False]
    within = c.date_within(pl.Series(values, dtype=pl.String), "1900-01-01", "2021-01-29").to_list()
    assert within[: len(days)] == [date(1900, 1, 1) <= d <= date(2021, 1, 29) for d in days]


def test_unique_fails_every_occurrence_of_a_repeat_and_only_those() -> None:
    values = pl.Series(["a", "b", "a", None, None, "c", "b", "d"], dtype=pl.String)
    assert c.unique(values).to_list() == [False, False, False, True, True, True, False, True]


def test_offending_names_characters_without_the_value() -> None:
    found = c.offending(pl.Series(["Mül\u200bler\u202e", "ok", None], dtype=pl.String), text.INVISIBLE).to_list()
    assert found == ["U+200B ZERO WIDTH SPACE; U+202E RIGHT-TO-LEFT OVERRIDE", "", None]


# --- e-mail: the vectorised plain-address path agrees with email-validator ----------------------------------------

_LOCAL = st.text(st.sampled_from("aZ09._+-!é "), min_size=0, max_size=70)
_LABEL = st.one_of(
    st.text(st.sampled_from("az09-A_é"), min_size=0, max_size=8),
    st.sampled_from(["a" * 63, "b" * 64, "xn--p1ai", "ab--cd", "xn--zz", "mail-1", "-a", "a-"]),
)
_TLD = st.sampled_from(
    ["lu", "com", "local", "test", "arpa", "onion", "invalid", "localhost", "x", "c0m", "COM", "d-e"]
)


def _library(value: str) -> bool:
    from email_validator import validate_email

    try:
        return validate_email(value, check_deliverability=False, allow_smtputf8=False).ascii_email == value
    except Exception:
        return False


@settings(max_examples=400, deadline=None)
@given(
    addresses=st.lists(
        st.one_of(
            st.builds(
                lambda lo, labels, tld: f"{lo}@{'.'.join([*labels, tld])}", _LOCAL, st.lists(_LABEL, max_size=4), _TLD
            ),
            st.text(max_size=30),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_email_verdicts_are_the_librarys_whether_plain_or_not(addresses: list[str]) -> None:
    values = pl.Series(addresses, dtype=pl.String)
    plain = c._plain_email(values).to_list()
    library = [_library(v) for v in addresses]
    assert all(lib for p, lib in zip(plain, library, strict=True) if p), [
        v for v, p in zip(addresses, plain, strict=True) if p
    ]
    assert c.is_email(values).to_list() == library


def test_plain_addresses_are_most_of_a_generated_day() -> None:
    values = pl.Series(["jean.muller@post.lu", "a+b@mail-1.example.com", "x_y@sub.domain.org"] * 3)
    assert c._plain_email(values).all()
    others = pl.Series(["Jean@Post.LU", "a@localhost", "a@b.local", "a@xn--p1ai.lu", "a..b@c.lu", "a@b", "a@-b.lu"])
    assert not c._plain_email(others).any()
