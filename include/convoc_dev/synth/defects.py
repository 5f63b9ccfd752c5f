"""Damaged register rows, each breaking exactly one validation rule; benign variants; the truth naming both.

A register file of ``rows`` rows gets ``round(rate × rows)`` damaged rows (at least one per class once the
file has 100 rows), spread evenly over the thirteen classes in ``RULES``. Each row is damaged once: in one
column, or in its line as a whole (``LINE_RULES``: the truth's column is then empty); a duplicate pair counts
as two rows, and both are in the truth. Within a class the rows take the class's forms in turn (the j-th row
of the class the form j mod the number of forms), so a class of n rows shows min(n, forms) of them:

- ``matricule_check_digit``: the Luhn (12th) or Verhoeff (13th) digit replaced by another digit; a valid
  matricule written in Arabic-Indic, fullwidth or Devanagari digits (every digit in that script); a valid
  matricule with one digit (a 0 where it has one) typed as the letter ``O``.
- ``duplicate_matricule``: the second row of a pair repeats the first one's matricule, exactly or typed
  with separators (``1950 0314 123 45``: space, U+00A0, U+202F, ``.`` or ``-``, ``MATRICULE_SEPARATORS``),
  which the ingest removes before comparing.
- ``birth_date_unparseable``: month 13+, 30/31 February, DD/MM/YYYY, YYYYMMDD or ``n/a``.
- ``birth_date_future``: up to ``FUTURE_DAYS`` days after the snapshot day.
- ``unknown_postcode``, ``unknown_commune``: an ``L-1234`` the reference does not know; a misspelt commune.
- ``missing_required``: one required column (not the matricule) empty.
- ``control_character``: inside family_name or given_name (never at an end): a C0 control or DEL
  (``CONTROL_CHARACTERS``); a line break ``\\n``, so that the field is quoted and the record spans two
  physical lines; U+0085 NEL; U+2028 LINE SEPARATOR (these two do not break the CSV record).
- ``invisible_character``: inside family_name, given_name or street, one of ``INVISIBLE_CHARACTERS``
  (zero-width, joiner, BOM, bidi marks and overrides, private use).
- ``too_long``: family_name, given_name, street or locality longer than its ``MAX_LENGTHS`` entry, made of
  the value's letters, spaces and hyphens repeated: in turn 1–3 characters over, 1.5–5 times the limit,
  and ``VERY_LONG`` characters.
- ``unprintable_character``: family_name, given_name or street in Greek, Cyrillic, Hebrew, Arabic or CJK
  letters (``FOREIGN``), or the Latin value with one letter swapped for its Cyrillic look-alike.
- ``malformed_row``: the line has one field too many (``,x`` appended), one too few (the last field dropped
  with its comma), a field opening a quote that is never closed, or a ``"`` inside an unquoted field.
- ``bad_encoding``: a name written in Latin-1 (``é`` as the single byte 0xE9) or with an invalid byte
  (``BAD_BYTES``) inserted inside it; the rest of the file is UTF-8.

Apart from its defect a damaged row is valid (a too-long value is printable Latin text, an unprintable one
is short, a malformed row's values are clean). Rows with a line break, malformed rows and bad-encoding rows
are never neighbours, and the only quote characters of the file are the (balanced) quotes of the line-break
fields and those of the malformed rows, so no broken quote can close on a neighbouring line into a record.

Benign variants (``VARIANTS``) are forms a careful ingest normalises and loads: ``matricule_separators``
(``YYYY MMDD NNN CC`` with one of ``MATRICULE_SEPARATORS``), ``nfd_name`` (a name with decomposable letters
in NFD), ``inner_whitespace`` (street with a double space or a tab between words, or a leading or trailing
space), ``postcode_forms`` (``L 1234``, ``l-1234``, ``L1234``, ``1234``). Each kind gets as many rows as an
average defect class, at least ``MIN_VARIANT_ROWS``, on eligible undamaged rows.

Truth files: defects (file, line, column, rule; column empty for ``LINE_RULES``) and variants (file, line,
column, variant, canonical: the value the ingest must store), sorted by line. ``line`` is the physical line
where the record starts (header 1, first record 2, and one more after each record holding a line break).
Rows the caller marks ineligible (priority-list members) are never damaged nor varied, so the lists always
name clean register rows.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from convoc import reference
from convoc.sources.specs import REGISTER
from convoc_dev.synth import pools
from convoc_dev.synth.population import BoolArray, IntArray

if TYPE_CHECKING:
    from numpy.random import Generator

RULES = (
    "matricule_check_digit",
    "duplicate_matricule",
    "birth_date_unparseable",
    "birth_date_future",
    "unknown_postcode",
    "unknown_commune",
    "missing_required",
    "control_character",
    "invisible_character",
    "too_long",
    "unprintable_character",
    "malformed_row",
    "bad_encoding",
)
# Classes that concern the line as a whole: the truth's column is empty.
LINE_RULES = ("malformed_row", "bad_encoding")
VARIANTS = ("matricule_separators", "nfd_name", "inner_whitespace", "postcode_forms")
# Longest value allowed per text column, in characters after normalisation (NFC, whitespace collapsed).
MAX_LENGTHS: Mapping[str, int] = {c.name: c.max_length for c in REGISTER.schema if c.printable and c.max_length}
"""The register's limits on the columns printed in the address window (``convoc.sources.specs``)."""
VERY_LONG = 20_000
# A missing matricule is not a defect class of its own (its row could not be traced back).
REQUIRED = tuple(c for c in REGISTER.required if c != "matricule")
# C0 controls and DEL, without tab, line breaks and NUL, and without \x0b \x0c \x1c–\x1e, which
# Python's str.splitlines() takes for line breaks (a reader using it would miscount the lines).
CONTROL_CHARACTERS = tuple(chr(c) for c in (*range(0x01, 0x09), *range(0x0E, 0x1C), 0x1F, 0x7F))
# Format characters (Cf) and a private-use character (Co): invisible in most fonts.
INVISIBLE_CHARACTERS = ("\u200b", "\u200d", "\u2060", "\ufeff", "\u200e", "\u202e", "\u2066", "\ue000")
# What the ingest strips from a matricule before checking it.
MATRICULE_SEPARATORS = (" ", "\u00a0", "\u202f", ".", "-")
# Zero of the Arabic-Indic, fullwidth and Devanagari digits.
DIGIT_ZEROS = (0x0660, 0xFF10, 0x0966)
# Values in scripts the post cannot read or the letter font cannot draw (letters and spaces only).
FOREIGN: Mapping[str, tuple[str, ...]] = {
    "family_name": ("Παπαδόπουλος", "Иванова", "Коваленко", "כהן", "حداد", "王", "李"),
    "given_name": ("Ελένη", "Ольга", "Дмитрий", "דוד", "محمد", "小明", "美玲"),
    "street": ("Οδός Ερμού", "улица Пушкина", "רחוב הרצל", "شارع الملك فيصل", "人民路"),
}
# Latin letters and their Cyrillic look-alikes.
LOOKALIKES: Mapping[str, str] = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "x": "х"}
BAD_BYTES = (b"\xff", b"\xfe", b"\x80", b"\xc0")
MIN_VARIANT_ROWS = 10
TRUTH_SCHEMA = {"file": pl.String, "line": pl.Int64, "column": pl.String, "rule": pl.String}
VARIANT_SCHEMA = {
    "file": pl.String,
    "line": pl.Int64,
    "column": pl.String,
    "variant": pl.String,
    "canonical": pl.String,
}
FUTURE_DAYS = 3000

NAMES = ("family_name", "given_name")
FORMS: Mapping[str, tuple[str, ...]] = {
    "matricule_check_digit": ("check_digit", "foreign_digits", "letter_o"),
    "duplicate_matricule": ("exact", "separated"),  # per pair
    "control_character": ("c0", "line_break", "nel", "line_separator"),
    "too_long": ("just_over", "several_times", "very_long"),
    "unprintable_character": ("foreign", "lookalike"),
    "malformed_row": ("extra_field", "missing_field", "open_quote", "inner_quote"),
    "bad_encoding": ("latin1", "bad_byte"),
    "inner_whitespace": ("double_space", "tab", "leading", "trailing"),
    "postcode_forms": ("L {}", "l-{}", "L{}", "{}"),
}


def allocate(rows: int, rate: float, eligible: int) -> dict[str, int]:
    """Damaged rows per rule: evenly split, a duplicate pair being two rows of its class."""
    total = round(rate * rows) if rate > 0 else 0
    if rate > 0 and rows >= 100:
        total = max(total, len(RULES) + 1)
    total = min(total, eligible)
    pairs = max(1, round(total / (2 * len(RULES)))) if total > len(RULES) else 0
    others = [r for r in RULES if r != "duplicate_matricule"]
    rest = total - 2 * pairs
    counts = {rule: rest // len(others) + (1 if k < rest % len(others) else 0) for k, rule in enumerate(others)}
    counts["duplicate_matricule"] = 2 * pairs
    return {rule: counts[rule] for rule in RULES}


def forms(kind: str, n: int) -> list[str]:
    """The forms of ``n`` rows of a class (or variant kind), in turn."""
    cycle = FORMS[kind]
    return [cycle[j % len(cycle)] for j in range(n)]


@dataclass(frozen=True)
class Damaged:
    """A damaged register: text columns in file order, rows written by hand, and the two truths.

    ``lines`` holds the bytes (without the final ``\\n``) of the rows polars cannot write: line breaks
    inside a field, malformed rows, invalid UTF-8; every other row is ``register``'s as polars writes it.
    """

    register: pl.DataFrame
    lines: Mapping[int, bytes]
    truth: pl.DataFrame
    variants: pl.DataFrame

    def csv(self) -> bytes:
        """The file's bytes: UTF-8, comma, ``\\n``, header first, empty field = missing."""
        buffer = io.BytesIO()
        self.register.write_csv(buffer, line_terminator="\n", null_value="")
        data = buffer.getvalue()
        if b'"' in data:
            raise AssertionError("a register value needed quoting")
        if not self.lines:
            return data
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
        if len(ends) != self.register.height + 1:
            raise AssertionError("a register value holds a line break")
        view = memoryview(data)
        pieces: list[bytes | memoryview] = []
        done = 0
        for row in sorted(self.lines):
            start, stop = int(ends[row]) + 1, int(ends[row + 1])
            pieces += [view[done:start], self.lines[row]]
            done = stop
        pieces.append(view[done:])
        return b"".join(pieces)


@cache
def _unknown_postcodes() -> tuple[str, ...]:
    known = reference.postcode_set()
    return tuple(code for code in (f"L-{i:04d}" for i in range(1000, 10000)) if code not in known)


@cache
def _unknown_communes() -> tuple[str, ...]:
    known = reference.commune_set()
    return tuple(name for name in pools.UNKNOWN_COMMUNES if name not in known)


def _pick(rng: Generator, values: Sequence[str], n: int) -> pl.Series:
    return pl.Series(values, dtype=pl.String).gather(rng.integers(0, len(values), n))


def _choice(rng: Generator, values: Sequence[str], n: int) -> list[str]:
    return [values[k] for k in rng.integers(0, len(values), n).tolist()]


def _broken_check_digits(rng: Generator, matricules: pl.Series) -> pl.Series:
    """Each matricule with its Luhn (12th) or Verhoeff (13th) digit replaced by another digit."""
    from stdnum import luhn, verhoeff

    n = len(matricules)
    position = 11 + rng.integers(0, 2, n)
    frame = pl.DataFrame({"m": matricules, "pos": position, "shift": rng.integers(1, 10, n)})
    damaged = frame.select(
        pl.col("m").str.slice(0, pl.col("pos"))
        + ((pl.col("m").str.slice(pl.col("pos"), 1).cast(pl.Int64) + pl.col("shift")) % 10).cast(pl.String)
        + pl.col("m").str.slice(pl.col("pos") + 1)
    ).to_series()
    for m in damaged.to_list():
        if luhn.is_valid(m[:12]) and verhoeff.is_valid(m[:11] + m[12]):
            raise AssertionError(f"damaged matricule {m} is still valid")
    return damaged


def _in_digits(matricule: str, zero: int) -> str:
    """The matricule with every digit written in the script whose zero is ``zero``."""
    return "".join(chr(zero + int(d)) for d in matricule)


def _with_letter_o(matricule: str, u: float) -> str:
    """One digit typed as the letter O: one of its zeros, or any digit when it has none."""
    zeros = [k for k, d in enumerate(matricule) if d == "0"] or list(range(len(matricule)))
    k = zeros[int(u * len(zeros))]
    return matricule[:k] + "O" + matricule[k + 1 :]


def grouped(matricule: str, separator: str) -> str:
    """``YYYY MMDD NNN CC``: the matricule typed in groups."""
    m = matricule
    return separator.join((m[:4], m[4:8], m[8:11], m[11:]))


def _unparseable(rng: Generator, dates: pl.Series) -> pl.Series:
    """Dates no YYYY-MM-DD reader accepts: month 13+, day 30/31 of February, other layouts, 'n/a'."""
    frame = pl.DataFrame({"d": dates, "kind": rng.integers(0, 5, len(dates)), "k": rng.integers(0, 7, len(dates))})
    year, month, day = pl.col("d").str.slice(0, 4), pl.col("d").str.slice(5, 2), pl.col("d").str.slice(8, 2)
    return frame.select(
        pl.when(pl.col("kind") == 0)
        .then(year + "-" + (13 + pl.col("k")).cast(pl.String) + "-" + day)
        .when(pl.col("kind") == 1)
        .then(day + "/" + month + "/" + year)
        .when(pl.col("kind") == 2)
        .then(year + month + day)
        .when(pl.col("kind") == 3)
        .then(year + "-02-" + (30 + pl.col("k") % 2).cast(pl.String))
        .otherwise(pl.lit("n/a"))
    ).to_series()


def _future(rng: Generator, n: int, day: date) -> pl.Series:
    later = np.datetime64(day, "D") + rng.integers(1, FUTURE_DAYS + 1, n).astype("timedelta64[D]")
    return pl.Series(later).cast(pl.Date).dt.strftime("%Y-%m-%d")


def _inside(value: str, u: float) -> int:
    """A position strictly inside ``value`` (after its first character, before its last one's end)."""
    if len(value) < 2:
        raise AssertionError(f"{value!r} is too short to insert into")
    return 1 + int(u * (len(value) - 1))


def _insert(value: str, text: str, u: float) -> str:
    k = _inside(value, u)
    return value[:k] + text + value[k:]


def _long_value(value: str, length: int) -> str:
    """``length`` characters of the value's letters, spaces and hyphens, repeated, ending with a letter."""
    base = " ".join("".join(c if c.isalpha() or c == "-" else " " for c in value).split()) or "Lorem"
    text = ((base + " ") * (length // (len(base) + 1) + 1))[:length]
    return text[:-1] + "e" if text[-1] in " -" else text


def _too_long_length(form: str, limit: int, u: float) -> int:
    if form == "just_over":
        return limit + 1 + int(u * 3)
    if form == "several_times":
        return int(limit * (1.5 + 3.5 * u))
    return VERY_LONG


def _lookalike(value: str, u: float) -> str:
    """One Latin letter swapped for its Cyrillic look-alike (a Greek letter inserted when there is none)."""
    at = [k for k, c in enumerate(value) if c in LOOKALIKES]
    if not at:
        return _insert(value, "λ", u)
    k = at[int(u * len(at))]
    return value[:k] + LOOKALIKES[value[k]] + value[k + 1 :]


def _latin1(value: str) -> bytes | None:
    """The value in Latin-1 when it has a non-ASCII letter and Latin-1 can write it (else None)."""
    if value.isascii():
        return None
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return None


@cache
def _latin1_writable(value: str) -> bool:
    return _latin1(value) is not None


@cache
def _decomposes(name: str) -> bool:
    return unicodedata.normalize("NFD", name) != name


def _has_space(value: str) -> bool:
    return " " in value


Where = Callable[[IntArray], BoolArray]


def _where(register: pl.DataFrame, columns: Sequence[str], test: Callable[[str], bool]) -> Where:
    """A filter of rows: those where ``test`` holds for one of the ``columns``' values."""

    def where(at: IntArray) -> BoolArray:
        values = register.select(columns)[at]
        hits = np.zeros(len(at), dtype=bool)
        for column in columns:
            hits |= np.array([v is not None and test(v) for v in values[column].to_list()], dtype=bool)
        return hits

    return where


class _Rows:
    """The eligible rows in a random order, each handed out once."""

    def __init__(self, rng: Generator, eligible: BoolArray) -> None:
        self.order: IntArray = rng.permutation(np.flatnonzero(eligible)).astype(np.int64)
        self.used = np.zeros(len(eligible), dtype=bool)
        self.apart: set[int] = set()

    def _free(self, n: int, where: Where | None) -> Iterator[IntArray]:
        """The free rows (those ``where`` keeps) in order, a chunk at a time (so as not to scan them all)."""
        start, size = 0, 4 * n + 1024
        while start < len(self.order):
            chunk = self.order[start : start + size]
            chunk = chunk[~self.used[chunk]]
            yield chunk[where(chunk)] if where is not None and len(chunk) else chunk
            start, size = start + size, 2 * size

    def take(self, n: int, where: Where | None = None) -> IntArray:
        """``n`` free rows (fewer when ``where`` keeps too few)."""
        parts: list[IntArray] = [np.empty(0, dtype=np.int64)]
        count = 0
        for chunk in self._free(n, where):
            if count == n:
                break
            parts.append(chunk[: n - count])
            count += len(parts[-1])
        chosen = np.concatenate(parts)
        self.used[chosen] = True
        return chosen

    def take_apart(self, n: int, where: Where | None = None) -> IntArray:
        """``n`` free rows, none next to a row taken apart before (fewer apart only when the file is too
        small; fewer in all when ``where`` keeps too few)."""
        picked: list[int] = []
        for chunk in self._free(n, where):
            for r in chunk.tolist():
                if len(picked) == n:
                    break
                if r - 1 not in self.apart and r + 1 not in self.apart:
                    picked.append(r)
                    self.apart.add(r)
            if len(picked) == n:
                break
        spaced = np.array(picked, dtype=np.int64)
        self.used[spaced] = True
        return np.concatenate([spaced, self.take(n - len(spaced), where)])


@dataclass
class _Edits:
    """What ``damage`` does, row by row, before any of it is applied."""

    values: list[tuple[str, int, str | None]]  # column, row, new value
    lines: list[tuple[int, str, str | None, float, bytes]]  # row, form, column, position draw, bad byte
    truth: list[tuple[int, str | None, str]]  # row, column, rule
    variants: list[tuple[int, str, str, str]]  # row, column, variant, canonical

    def set(self, column: str, at: IntArray, values: Sequence[str | None]) -> None:
        self.values.extend((column, int(r), v) for r, v in zip(at.tolist(), values, strict=True))

    def note(self, rule: str, at: IntArray, columns: str | Sequence[str | None] | None) -> None:
        named = [columns] * len(at) if columns is None or isinstance(columns, str) else columns
        self.truth.extend((int(r), c, rule) for r, c in zip(at.tolist(), named, strict=True))


def _matricule_check_digit(rng: Generator, register: pl.DataFrame, at: IntArray, edits: _Edits) -> None:
    n = len(at)
    matricules = register["matricule"].gather(at)
    broken = _broken_check_digits(rng, matricules).to_list()
    zeros, u = rng.integers(0, len(DIGIT_ZEROS), n).tolist(), rng.random(n).tolist()
    values = [
        broken[j]
        if form == "check_digit"
        else _in_digits(m, DIGIT_ZEROS[zeros[j]])
        if form == "foreign_digits"
        else _with_letter_o(m, u[j])
        for j, (form, m) in enumerate(zip(forms("matricule_check_digit", n), matricules.to_list(), strict=True))
    ]
    edits.set("matricule", at, values)
    edits.note("matricule_check_digit", at, "matricule")


def _duplicate_matricule(rng: Generator, register: pl.DataFrame, at: IntArray, edits: _Edits) -> None:
    source, target = at[0::2], at[1::2]
    separators = _choice(rng, MATRICULE_SEPARATORS, len(target))
    values = [
        m if form == "exact" else grouped(m, separators[j])
        for j, (form, m) in enumerate(
            zip(forms("duplicate_matricule", len(target)), register["matricule"].gather(source).to_list(), strict=True)
        )
    ]
    edits.set("matricule", target, values)
    edits.note("duplicate_matricule", at, "matricule")


def _inserted(
    rng: Generator, register: pl.DataFrame, at: IntArray, columns: Sequence[str], characters: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Per row: a column drawn from ``columns`` and its value with a drawn character inserted inside."""
    n = len(at)
    chosen = _choice(rng, columns, n)
    inserted = _choice(rng, characters, n)
    u = rng.random(n).tolist()
    rows = register[at].select(columns).to_dict(as_series=False)
    values = [_insert(rows[c][j], inserted[j], u[j]) for j, c in enumerate(chosen)]
    return chosen, values


def _control_character(
    rng: Generator, register: pl.DataFrame, breaks: IntArray, others: IntArray, edits: _Edits
) -> None:
    """C0, NEL and U+2028 go into the value; a line break is written by hand (``edits.lines``)."""
    n = len(breaks) + len(others)
    kinds = forms("control_character", n)
    at = np.empty(n, dtype=np.int64)
    is_break = np.array([k == "line_break" for k in kinds], dtype=bool)
    at[is_break], at[~is_break] = breaks, others
    characters = {"nel": ("\x85",), "line_separator": ("\u2028",), "c0": CONTROL_CHARACTERS}
    columns = _choice(rng, NAMES, n)
    u = rng.random(n).tolist()
    inserted = [_choice(rng, characters[k], 1)[0] if k != "line_break" else "\n" for k in kinds]
    rows = register[at].select(NAMES).to_dict(as_series=False)
    for j, kind in enumerate(kinds):
        if kind == "line_break":
            edits.lines.append((int(at[j]), kind, columns[j], u[j], b""))
        else:
            edits.set(columns[j], at[j : j + 1], [_insert(rows[columns[j]][j], inserted[j], u[j])])
    edits.note("control_character", at, columns)


def _invisible_character(rng: Generator, register: pl.DataFrame, at: IntArray, edits: _Edits) -> None:
    columns, values = _inserted(rng, register, at, (*NAMES, "street"), INVISIBLE_CHARACTERS)
    for j, column in enumerate(columns):
        edits.set(column, at[j : j + 1], [values[j]])
    edits.note("invisible_character", at, columns)


def _too_long(rng: Generator, register: pl.DataFrame, at: IntArray, edits: _Edits) -> None:
    n = len(at)
    targets = (*NAMES, "street", "locality")
    columns = _choice(rng, targets, n)
    u = rng.random(n).tolist()
    rows = register[at].select(targets).to_dict(as_series=False)
    for j, (form, column) in enumerate(zip(forms("too_long", n), columns, strict=True)):
        length = _too_long_length(form, MAX_LENGTHS[column], u[j])
        edits.set(column, at[j : j + 1], [_long_value(rows[column][j], length)])
    edits.note("too_long", at, columns)


def _unprintable_character(rng: Generator, register: pl.DataFrame, at: IntArray, edits: _Edits) -> None:
    n = len(at)
    targets = (*NAMES, "street")
    columns = _choice(rng, targets, n)
    u = rng.random(n).tolist()
    rows = register[at].select(targets).to_dict(as_series=False)
    for j, (form, column) in enumerate(zip(forms("unprintable_character", n), columns, strict=True)):
        pool = FOREIGN[column]
        value = pool[int(u[j] * len(pool))] if form == "foreign" else _lookalike(rows[column][j], u[j])
        edits.set(column, at[j : j + 1], [value])
    edits.note("unprintable_character", at, columns)


def _malformed_row(rng: Generator, at: IntArray, edits: _Edits) -> None:
    n = len(at)
    columns = _choice(rng, (*NAMES, "street"), n)
    u = rng.random(n).tolist()
    for j, form in enumerate(forms("malformed_row", n)):
        edits.lines.append((int(at[j]), form, columns[j], u[j], b""))
    edits.note("malformed_row", at, None)


def _bad_encoding(rng: Generator, register: pl.DataFrame, latin1: IntArray, other: IntArray, edits: _Edits) -> None:
    """A name in Latin-1 on the ``latin1`` rows (where a name allows it), else an invalid byte inside a name."""
    at = np.concatenate([latin1, other])
    n = len(at)
    columns = _choice(rng, NAMES, n)
    bad = _choice(rng, [b.decode("latin-1") for b in BAD_BYTES], n)
    u = rng.random(n).tolist()
    rows = register[at].select(NAMES).to_dict(as_series=False)
    for j in range(n):
        encodable = [c for c in (columns[j], *NAMES) if _latin1(rows[c][j]) is not None]
        if j < len(latin1) and encodable:
            edits.lines.append((int(at[j]), "latin1", encodable[0], u[j], b""))
        else:
            edits.lines.append((int(at[j]), "bad_byte", columns[j], u[j], bad[j].encode("latin-1")))
    edits.note("bad_encoding", at, None)


def _line(fields: list[str], form: str, column: str | None, u: float, byte: bytes) -> bytes:
    """A hand-written register line (no final ``\\n``) of the given form."""
    for value in fields:
        if any(c in value for c in ',"\n\r'):
            raise AssertionError(f"{value!r} would need quoting")
    if form == "extra_field":
        return ",".join([*fields, "x"]).encode()
    if form == "missing_field":
        return ",".join(fields[:-1]).encode()
    k = REGISTER.columns.index(column or "")
    value = fields[k]
    if form == "open_quote":
        fields[k] = '"' + value
    elif form == "inner_quote":
        fields[k] = _insert(value, '"', u)
    elif form == "line_break":
        fields[k] = '"' + _insert(value, "\n", u) + '"'
    elif form in ("latin1", "bad_byte"):
        head = ",".join(fields[:k]).encode() + (b"," if k else b"")
        tail = (b"," if k < len(fields) - 1 else b"") + ",".join(fields[k + 1 :]).encode()
        if form == "latin1":
            middle = value.encode("latin-1")
        else:
            p = _inside(value, u)
            middle = value[:p].encode() + byte + value[p:].encode()
        line = head + middle + tail
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return line
        raise AssertionError(f"{line!r} is still valid UTF-8")
    else:
        raise ValueError(form)
    return ",".join(fields).encode()


def _variants(rng: Generator, register: pl.DataFrame, rows: _Rows, n: int, edits: _Edits) -> None:
    """``n`` rows of each benign variant, among the rows left."""
    at = rows.take(n)
    separators = _choice(rng, MATRICULE_SEPARATORS, len(at))
    matricules = register["matricule"].gather(at).to_list()
    edits.set("matricule", at, [grouped(m, s) for m, s in zip(matricules, separators, strict=True)])
    edits.variants.extend(
        (int(r), "matricule", "matricule_separators", m) for r, m in zip(at.tolist(), matricules, strict=True)
    )

    at = rows.take(n, _where(register, NAMES, _decomposes))
    flip = (rng.random(len(at)) < 0.5).tolist()
    names = register[at].select(NAMES).to_dict(as_series=False)
    for j, r in enumerate(at.tolist()):
        usable = [c for c in NAMES if _decomposes(names[c][j])]
        column = usable[-1] if flip[j] else usable[0]
        edits.set(column, at[j : j + 1], [unicodedata.normalize("NFD", names[column][j])])
        edits.variants.append((r, column, "nfd_name", names[column][j]))

    at = rows.take(n, _where(register, ("street",), _has_space))
    u = rng.random(len(at)).tolist()
    streets = register["street"].gather(at).to_list()
    for j, (form, street) in enumerate(zip(forms("inner_whitespace", len(at)), streets, strict=True)):
        if form in ("double_space", "tab"):
            spaces = [k for k, c in enumerate(street) if c == " "]
            k = spaces[int(u[j] * len(spaces))]
            value = street[:k] + ("  " if form == "double_space" else "\t") + street[k + 1 :]
        else:
            value = " " + street if form == "leading" else street + " "
        edits.set("street", at[j : j + 1], [value])
        edits.variants.append((int(at[j]), "street", "inner_whitespace", street))

    at = rows.take(n)
    postcodes = register["postcode"].gather(at).to_list()
    written = [f.format(p[2:]) for f, p in zip(forms("postcode_forms", len(at)), postcodes, strict=True)]
    edits.set("postcode", at, written)
    edits.variants.extend(
        (int(r), "postcode", "postcode_forms", p) for r, p in zip(at.tolist(), postcodes, strict=True)
    )


def damage(
    rng: Generator, register: pl.DataFrame, eligible: BoolArray, rate: float, day: date, file_name: str
) -> Damaged:
    """The register (text columns, in file order) with damaged and varied rows, and the truths naming them."""
    counts = allocate(register.height, rate, int(np.count_nonzero(eligible)))
    rows = _Rows(rng, eligible)
    edits = _Edits(values=[], lines=[], truth=[], variants=[])

    # Rows written by hand first, none of them next to another.
    n_breaks = forms("control_character", counts["control_character"]).count("line_break")
    breaks = rows.take_apart(n_breaks)
    malformed = rows.take_apart(counts["malformed_row"])
    n_latin1 = forms("bad_encoding", counts["bad_encoding"]).count("latin1")
    latin1 = rows.take_apart(n_latin1, _where(register, NAMES, _latin1_writable))
    bad_bytes = rows.take_apart(counts["bad_encoding"] - len(latin1))

    _matricule_check_digit(rng, register, rows.take(counts["matricule_check_digit"]), edits)
    _duplicate_matricule(rng, register, rows.take(counts["duplicate_matricule"]), edits)

    at = rows.take(counts["birth_date_unparseable"])
    edits.set("birth_date", at, _unparseable(rng, register["birth_date"].gather(at)).to_list())
    edits.note("birth_date_unparseable", at, "birth_date")

    at = rows.take(counts["birth_date_future"])
    edits.set("birth_date", at, _future(rng, len(at), day).to_list())
    edits.note("birth_date_future", at, "birth_date")

    at = rows.take(counts["unknown_postcode"])
    edits.set("postcode", at, _pick(rng, _unknown_postcodes(), len(at)).to_list())
    edits.note("unknown_postcode", at, "postcode")

    at = rows.take(counts["unknown_commune"])
    edits.set("commune", at, _pick(rng, _unknown_communes(), len(at)).to_list())
    edits.note("unknown_commune", at, "commune")

    at = rows.take(counts["missing_required"])
    emptied = [REQUIRED[k] for k in rng.integers(0, len(REQUIRED), len(at)).tolist()]
    for j, column in enumerate(emptied):
        edits.set(column, at[j : j + 1], [None])
    edits.note("missing_required", at, emptied)

    _control_character(rng, register, breaks, rows.take(counts["control_character"] - n_breaks), edits)
    _invisible_character(rng, register, rows.take(counts["invisible_character"]), edits)
    _too_long(rng, register, rows.take(counts["too_long"]), edits)
    _unprintable_character(rng, register, rows.take(counts["unprintable_character"]), edits)
    _malformed_row(rng, malformed, edits)
    _bad_encoding(rng, register, latin1, bad_bytes, edits)

    per_class = round(sum(counts.values()) / len(RULES))
    _variants(rng, register, rows, max(MIN_VARIANT_ROWS, per_class), edits)

    columns = {c: register[c].clone() for c in register.columns}
    by_column: dict[str, tuple[list[int], list[str | None]]] = {}
    for column, row, value in edits.values:
        at_rows, values = by_column.setdefault(column, ([], []))
        at_rows.append(row)
        values.append(value)
    for column, (at_rows, values) in by_column.items():
        columns[column].scatter(at_rows, pl.Series(values, dtype=pl.String))
    damaged = pl.DataFrame(list(columns.values()))

    lines: dict[int, bytes] = {}
    if edits.lines:
        by_hand = damaged[[r for r, *_ in edits.lines]].rows()
        for (row, form, column, u, byte), record in zip(edits.lines, by_hand, strict=True):
            lines[row] = _line(["" if v is None else v for v in record], form, column, u, byte)

    # Physical lines: the header, then one per record, plus one for each line break before the row.
    shifted = np.sort(breaks)

    def line_of(at: list[int]) -> pl.Series:
        rows_at = np.array(at, dtype=np.int64)
        return pl.Series(rows_at + 2 + np.searchsorted(shifted, rows_at), dtype=pl.Int64)

    truth = pl.DataFrame(
        {
            "file": pl.Series([file_name] * len(edits.truth), dtype=pl.String),
            "line": line_of([r for r, _, _ in edits.truth]),
            "column": pl.Series([c for _, c, _ in edits.truth], dtype=pl.String),
            "rule": pl.Series([rule for *_, rule in edits.truth], dtype=pl.String),
        },
        schema=TRUTH_SCHEMA,
    ).sort("line")
    variants = pl.DataFrame(
        {
            "file": pl.Series([file_name] * len(edits.variants), dtype=pl.String),
            "line": line_of([r for r, *_ in edits.variants]),
            "column": pl.Series([c for _, c, _, _ in edits.variants], dtype=pl.String),
            "variant": pl.Series([v for _, _, v, _ in edits.variants], dtype=pl.String),
            "canonical": pl.Series([c for *_, c in edits.variants], dtype=pl.String),
        },
        schema=VARIANT_SCHEMA,
    ).sort("line")
    return Damaged(register=damaged, lines=lines, truth=truth, variants=variants)
