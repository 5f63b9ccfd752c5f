"""The row conditions behind convoc's own expectations, vectorised and total.

Each function takes a polars String series and returns a Boolean series of the same length: True where
the value passes. They never raise, whatever the text (non-ASCII digits, lone diacritics, 20,000
characters…): a value that is not what the rule expects is False. A missing value (null) passes: it is the
``missing_required`` rule's business. Checks run over whole columns in polars and numpy, never as a Python
call per row (650,000 register rows in a few tens of milliseconds each).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from convoc import codes

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import polars as pl

    IntMatrix = npt.NDArray[np.int64]
    BoolArray = npt.NDArray[np.bool_]

DATE_FORMATS = {
    "date": ("%Y-%m-%d", r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    "timestamp": ("%Y-%m-%d %H:%M", r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$"),
}
"""strptime format and exact ASCII shape of each kind of date column."""

_CROCKFORD = f"[{codes.ALPHABET}]"
BOOKING_CODE = (
    rf"^{_CROCKFORD}{{4}}-{_CROCKFORD}{{4}}-{_CROCKFORD}{{4}}(-{_CROCKFORD}{{1,{codes.MAX_SUFFIX_LENGTH}}})?$"
)
"""A booking code as convoc prints it: ``XXXX-XXXX-XXXC`` and an optional ``-SUFFIX`` (upper case)."""


def _symbols(values: pl.Series, width: int, alphabet: str) -> IntMatrix:
    """Values of exactly ``width`` ASCII symbols of ``alphabet``, as a (width, n) matrix of symbol values:
    one contiguous row per position, which is what the check-digit loops below walk through."""
    import numpy as np

    if values.len() == 0:
        return np.zeros((width, 0), dtype=np.uint8)
    joined = values.str.join("").item()
    raw = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, width)
    table = np.zeros(256, dtype=np.uint8)
    for value, symbol in enumerate(alphabet):
        table[ord(symbol)] = value
    result: IntMatrix = np.ascontiguousarray(table[raw].T)
    return result


def luhn_valid(symbols: IntMatrix, modulus: int) -> BoolArray:
    """Luhn mod ``modulus`` over each column of a (positions, n) matrix, check symbol last: python-stdnum's
    ``luhn.checksum`` == 0 (every second symbol from the right doubled, its digits in base ``modulus`` summed)."""
    import numpy as np

    doubled = np.array([(2 * d) // modulus + (2 * d) % modulus for d in range(modulus)], dtype=np.uint16)
    total = np.zeros(symbols.shape[1], dtype=np.uint16)
    for k, row in enumerate(symbols[::-1]):
        total += doubled[row] if k % 2 else row
    valid: BoolArray = total % modulus == 0
    return valid


@cache
def _verhoeff_tables() -> tuple[Any, Any]:
    import numpy as np
    from stdnum import verhoeff

    return (
        np.array(verhoeff._multiplication_table, dtype=np.uint8).ravel(),
        np.array(verhoeff._permutation_table, dtype=np.uint8),
    )


def verhoeff_valid(digits: IntMatrix) -> BoolArray:
    """Verhoeff over each column of a (positions, n) matrix, check digit last: python-stdnum's
    ``verhoeff.checksum`` == 0."""
    import numpy as np

    multiplication, permutation = _verhoeff_tables()
    check = np.zeros(digits.shape[1], dtype=np.uint8)
    for i, row in enumerate(digits[::-1]):
        check = multiplication[check * 10 + permutation[i % 8][row]]
    valid: BoolArray = check == 0
    return valid


_DISTINCT: ContextVar[dict[int, tuple[pl.Series, pl.Series]] | None] = ContextVar("convoc_distinct", default=None)


@contextmanager
def sharing_distinct_values() -> Iterator[None]:
    """Within: a series' distinct values are found once, however many value-by-value rules judge that very series
    object (a text column of the register is judged by four: control, invisible and unprintable characters, length;
    finding its distinct values is most of each rule's time). Each series is kept alive meanwhile, so that its
    identity cannot be taken by another."""
    token = _DISTINCT.set({})
    try:
        yield
    finally:
        _DISTINCT.reset(token)


def _distinct(values: pl.Series) -> pl.Series:
    memo = _DISTINCT.get()
    if memo is None:
        return values.unique()
    found = memo.get(id(values))
    if found is None or found[0] is not values:
        found = memo[id(values)] = (values, values.unique())
    return found[1]


def _per_value(values: pl.Series, condition: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``condition`` of a value-by-value rule, evaluated once per distinct value when values repeat (names,
    streets, codes: a few thousand distinct among 650,000)."""
    import polars as pl

    distinct = _distinct(values)
    if distinct.len() * 4 >= values.len():
        return condition(values)
    verdicts = condition(distinct)
    if verdicts.null_count() == 0 and verdicts.all():  # the usual case: every value passes, nothing to map back
        return pl.repeat(True, values.len(), dtype=pl.Boolean, eager=True).alias(values.name)
    return values.replace_strict(distinct, verdicts, return_dtype=pl.Boolean)


def _where(values: pl.Series, shaped: pl.Series, passed: BoolArray) -> pl.Series:
    """Scatter the verdicts of the well-shaped values back over the column; nulls pass."""
    import numpy as np
    import polars as pl

    result = np.zeros(values.len(), dtype=np.bool_)
    result[np.flatnonzero(shaped.to_numpy())] = passed
    return pl.Series(values.name, result) | values.is_null()


def is_matricule(values: pl.Series) -> pl.Series:
    """A Luxembourg national identification number: 13 ASCII digits YYYYMMDD + serial, Luhn + Verhoeff.

    Month and day may be 00 (unknown). The Luhn digit (12th) and the Verhoeff digit (13th) are both computed
    over the first 11 digits, as python-stdnum computes them (tests compare every case with it).
    """
    shaped = values.str.contains(r"^[0-9]{13}$").fill_null(False)
    digits = _symbols(values.filter(shaped), 13, "0123456789")
    month = digits[4] * 10 + digits[5]
    day = digits[6] * 10 + digits[7]
    luhn = luhn_valid(digits[:12], 10)
    verhoeff = verhoeff_valid(digits[[*range(11), 12]])
    return _where(values, shaped, (month <= 12) & (day <= 31) & luhn & verhoeff)


def is_booking_code(values: pl.Series) -> pl.Series:
    """A booking code in its canonical printed form whose check symbol holds (Luhn mod 32 over 12 symbols)."""
    shaped = values.str.contains(BOOKING_CODE).fill_null(False)
    body = values.filter(shaped).str.replace_all("-", "").str.slice(0, codes.CODE_LENGTH)
    return _where(values, shaped, luhn_valid(_symbols(body, codes.CODE_LENGTH, codes.ALPHABET), len(codes.ALPHABET)))


def _parsed(values: pl.Series, kind: Literal["date", "timestamp"]) -> pl.Series:
    import polars as pl

    fmt, shape = DATE_FORMATS[kind]
    dtype = pl.Date if kind == "date" else pl.Datetime("us")
    parsed = values.str.strptime(dtype, fmt, strict=False)
    return pl.select(pl.when(values.str.contains(shape)).then(parsed)).to_series()


def is_iso_date(values: pl.Series, kind: Literal["date", "timestamp"] = "date") -> pl.Series:
    """``YYYY-MM-DD`` (or ``YYYY-MM-DD HH:MM``) in ASCII digits, naming a day that exists."""
    return _per_value(values, lambda v: _parsed(v, kind).is_not_null() | v.is_null())


def date_within(
    values: pl.Series,
    earliest: date | str | None = None,
    latest: date | str | None = None,
    kind: Literal["date", "timestamp"] = "date",
) -> pl.Series:
    """Dates on or after ``earliest`` and on or before ``latest``; values that are no date pass (another rule)."""
    return _per_value(values, lambda v: _within(v, earliest, latest, kind))


def _within(
    values: pl.Series, earliest: date | str | None, latest: date | str | None, kind: Literal["date", "timestamp"]
) -> pl.Series:
    import polars as pl

    parsed = _parsed(values, kind)
    day = parsed if kind == "date" else parsed.dt.date()
    ok = pl.Series(values.name, [True] * values.len(), dtype=pl.Boolean)
    if earliest is not None:
        ok = ok & (day >= date.fromisoformat(str(earliest))).fill_null(True)
    if latest is not None:
        ok = ok & (day <= date.fromisoformat(str(latest))).fill_null(True)
    return ok


@cache
def reference_values(name: str) -> frozenset[str]:
    """The values a ``reference`` column may hold: ``postcode`` (the country's 4,165, ``L-####``), ``commune``
    (the 102 of 2021) or ``centre`` (the centres of ``campaigns/centres.yaml``)."""
    from convoc import reference

    if name == "postcode":
        return frozenset(reference.postcode_set())
    if name == "commune":
        return frozenset(reference.commune_set())
    if name == "centre":
        from convoc.campaigns import load_centres

        return frozenset(c.centre for c in load_centres().centres)
    raise ValueError(f"no reference list named {name!r}")


def in_reference(values: pl.Series, name: str) -> pl.Series:
    """Values found in the reference list ``name`` (exact match on the normalised value)."""
    import polars as pl

    known = pl.Series(sorted(reference_values(name)), dtype=pl.String).implode()
    return _per_value(values, lambda v: v.is_in(known) | v.is_null())


def among(values: pl.Series, allowed: tuple[str, ...]) -> pl.Series:
    """Values exactly equal to one of ``allowed``."""
    import polars as pl

    known = pl.Series(allowed, dtype=pl.String).implode()
    return _per_value(values, lambda v: v.is_in(known) | v.is_null())


def in_format(values: pl.Series, pattern: str) -> pl.Series:
    """Values matching ``pattern`` (anchor it: ``^…$``)."""
    return _per_value(values, lambda v: v.str.contains(pattern).fill_null(True))


def at_most_characters(values: pl.Series, max_length: int) -> pl.Series:
    """Values of at most ``max_length`` characters (code points)."""
    return _per_value(values, lambda v: (v.str.len_chars() <= max_length).fill_null(True))


def unique(values: pl.Series) -> pl.Series:
    """Values that occur once in the column; every occurrence of a repeated value fails. Missing ones pass.

    Repeats are found on 64-bit hashes (fast), then confirmed on the values themselves among the candidates,
    so that a hash collision never quarantines a row."""
    import polars as pl

    candidates = values.hash().is_duplicated() & values.is_not_null()
    if not candidates.any():
        return pl.Series(values.name, [True] * values.len(), dtype=pl.Boolean)
    index = candidates.arg_true()
    repeated = values.gather(index).is_duplicated()
    return (~candidates).scatter(index.filter(repeated), False)


def has_none_of(values: pl.Series, pattern: str) -> pl.Series:
    """No match of ``pattern`` (a character class of ``convoc.text``) anywhere in the value."""
    return _per_value(values, lambda v: ~v.str.contains(pattern).fill_null(False))


def offending(values: pl.Series, pattern: str, limit: int = 3) -> pl.Series:
    """The first few distinct characters matching ``pattern`` in each value, named (``U+200B ZERO WIDTH
    SPACE``): what the register team is told, without the value itself."""
    import polars as pl

    from convoc.text import describe

    found = values.str.extract_all(pattern).list.unique(maintain_order=True).list.head(limit)
    return found.map_elements(
        lambda chars: "; ".join(describe(c[0]) for c in chars if c), return_dtype=pl.String, skip_nulls=True
    )


def _address_ok(value: str) -> bool:
    """One address, checked by ``email-validator`` (syntax only: no DNS): True only for the ASCII form it would
    store — a mail server without SMTPUTF8 takes it. Total: any exception is a refusal."""
    from email_validator import validate_email

    try:
        return bool(validate_email(value, check_deliverability=False, allow_smtputf8=False).ascii_email == value)
    except Exception:  # EmailNotValidError, or anything else the library may raise on odd input
        return False


PLAIN_EMAIL = r"^[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
"""The plain addresses nearly everyone has (dot-atom local part of common characters, a lower-case ASCII
host name of several labels ending in a letter-only TLD): ``email-validator`` accepts every one of them as it
stands, unless it is too long, has a label with ``--`` (Punycode and R-LDH rules) or a special-use domain —
which are left to the library. A test compares the two on generated addresses."""


def _plain_email(values: pl.Series) -> pl.Series:
    """Which of the values are plain addresses the library would accept unchanged (see ``PLAIN_EMAIL``)."""
    from email_validator import SPECIAL_USE_DOMAIN_NAMES

    special = "|".join(re.escape(d) for d in SPECIAL_USE_DOMAIN_NAMES)
    return (
        values.str.contains(PLAIN_EMAIL)
        & (values.str.len_bytes() <= 254)
        & values.str.contains(r"^[^@]{1,64}@").fill_null(False)
        & ~values.str.contains(r"@.*--")
        & ~values.str.contains(rf"[@.](?:{special})$")
    ).fill_null(False)


def is_email(values: pl.Series) -> pl.Series:
    """E-mail addresses in the syntax ``email-validator`` accepts and in the form it stores (ASCII, domain in
    lower case, no display name or quoting). Plain addresses (``PLAIN_EMAIL``) pass on a vectorised match;
    the others take one library call per distinct value (about 17 µs): what cannot be an address (no ``@``,
    a blank, over 254 characters) is refused before it."""
    import polars as pl

    shaped = values.str.contains(r"^[^@\s]{1,64}@[^@\s]{1,252}$").fill_null(False) & (
        values.str.len_chars() <= 254
    ).fill_null(False)
    distinct = values.filter(shaped).unique()
    plain = _plain_email(distinct)
    good = distinct.filter(plain).to_list() + [v for v in distinct.filter(~plain).to_list() if _address_ok(v)]
    known = pl.Series(sorted(good), dtype=pl.String).implode()
    return values.is_in(known) | values.is_null()


def required_when(values: pl.Series, other: pl.Series, when: tuple[str, ...]) -> pl.Series:
    """A value is present wherever ``other`` is one of ``when`` (an e-mail address where the channel needs
    one); elsewhere anything passes."""
    import polars as pl

    needed = other.is_in(pl.Series(when, dtype=pl.String).implode()).fill_null(False)
    return ~needed | values.is_not_null()


def date_not_before(values: pl.Series, other: pl.Series) -> pl.Series:
    """A date (``YYYY-MM-DD``) on or after the date in ``other`` on the same row (withdrawn on or after
    consented); rows where either is missing or no date pass (their own rules report them)."""
    import polars as pl

    if values.len() == 0:
        return pl.Series(values.name, [], dtype=pl.Boolean)
    first = other.str.to_date("%Y-%m-%d", strict=False)
    then = values.str.to_date("%Y-%m-%d", strict=False)
    return (then >= first).fill_null(True).alias(values.name)
