"""Text as convoc stores it: one normalisation rule per kind of column, and the characters it accepts.

Every landing value goes through exactly one of these rules before it is validated, and the value
validated is the value stored (``convoc.sources.extract`` applies them, Great Expectations checks the
result, the load inserts it unchanged). The rules, per column kind:

``text`` (names, street, locality, house number, facility, condition)
    Unicode NFC; runs of spaces, tabs and other space separators (``\\p{Zs}``: no-break space, thin
    space, …) become one space; leading and trailing ones are removed. Nothing else: line breaks,
    control, format (zero-width, bidirectional) and private-use characters are kept, so that the
    checks quarantine the row instead of a silent repair.
``matricule``
    Leading and trailing blanks removed, then the separators people type inside the number (space,
    no-break space U+00A0, narrow no-break space U+202F, ``.`` and ``-``) removed. What is left must be
    13 ASCII digits: non-ASCII digits (``١٩٥٠…``, fullwidth ``１９５０…``) are not converted, the row is
    quarantined.
``postcode``
    Blanks trimmed, upper-cased; ``1234``, ``L1234``, ``L 1234`` and ``l-1234`` become ``L-1234``
    (ASCII digits only); anything else is left for the check to refuse.
``integer``
    Blanks trimmed; leading zeros of an all-ASCII-digit value dropped (``007`` → ``7``), as the
    warehouse stores the number.
``email`` (contact preferences)
    Leading and trailing blanks removed, the domain (after the last ``@``) lower-cased — domains are
    case-insensitive, the part before ``@`` is not and is kept as typed. The check (``invalid_email``) then
    requires the syntax of an address a mail server accepts, in the form ``email-validator`` would store.
``code`` (value sets, dates, timestamps, booking codes, job ids, nationality)
    Leading and trailing blanks removed, nothing else: a code is either canonical or refused.

An empty value (after the rule) is missing (null) in every kind.

Character classes (Rust regex syntax, evaluated by polars): ``CONTROL`` (rule ``control_character``),
``INVISIBLE`` (rule ``invisible_character``) and, for the columns printed on a letter, ``UNPRINTABLE``
(rule ``unprintable_character``): anything outside ``POSTAL_RANGES``, the Latin script the post reads
as drawn by the letters' embedded DejaVu fonts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import polars as pl

Kind = Literal["text", "matricule", "postcode", "integer", "email", "code"]

BLANKS = r"[\t\p{Zs}]"
"""Tab and Unicode space separators: what the normalisation collapses and trims."""
MATRICULE_SEPARATORS = "\u0020\u00a0\u202f.-"
"""What people type between the digit groups of a matricule (``1950 0314 123 45``), removed."""

CONTROL = r"[\p{Cc}\p{Zl}\p{Zp}]"
"""Control characters (C0, DEL, C1 — NEL included) and line or paragraph separators."""
INVISIBLE = r"[\p{Cf}\p{Co}]"
"""Format characters (zero-width space and joiners, soft hyphen, bidirectional controls, BOM) and
private-use code points. (Surrogates cannot occur: the text was decoded from valid UTF-8, which has none;
unassigned code points are outside ``POSTAL_RANGES``.)"""

POSTAL_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII letters, digits and punctuation
    (0x00AA, 0x00AA),  # ª
    (0x00B0, 0x00B0),  # ° (n°)
    (0x00B7, 0x00B7),  # · (Catalan l·l)
    (0x00BA, 0x00BA),  # º
    (0x00C0, 0x00D6),  # Latin-1 letters À–Ö
    (0x00D8, 0x00F6),  # Ø–ö (without ×)
    (0x00F8, 0x024F),  # ø–ÿ, Latin Extended-A and -B (without ÷)
    (0x02BC, 0x02BC),  # ʼ modifier letter apostrophe
    (0x0300, 0x034F),  # combining diacritical marks that DejaVu draws (after NFC: marks with no precomposed form)
    (0x0351, 0x0353),
    (0x0357, 0x0358),
    (0x035A, 0x035A),
    (0x035C, 0x0362),
    (0x1E00, 0x1EFB),  # Latin Extended Additional (Vietnamese, Welsh, …) that DejaVu draws
    (0x2010, 0x2011),  # hyphen, non-breaking hyphen
    (0x2013, 0x2013),  # en dash
    (0x2018, 0x2019),  # single quotation marks (’ as apostrophe)
)
"""Code points a name or an address may hold: the Latin script with any diacritics, as the letters'
fonts (DejaVu Sans and Sans Bold) draw it. A test checks every one against both fonts' tables."""


def _class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(rf"\x{{{lo:x}}}" if lo == hi else rf"\x{{{lo:x}}}-\x{{{hi:x}}}" for lo, hi in ranges)


UNPRINTABLE = (
    rf"[^{_class(POSTAL_RANGES)}\p{{Cc}}\p{{Zl}}\p{{Zp}}\p{{Cf}}\p{{Co}}]"  # outside the set
    r"|^\p{M}"  # a diacritic with no letter to sit on
    r"|\p{M}{3}"  # three or more stacked diacritics
)
"""A character a letter cannot carry: outside ``POSTAL_RANGES`` (and not already a ``CONTROL`` or
``INVISIBLE`` character, which have rules of their own), or diacritics without a letter or stacked."""


def postal_characters() -> frozenset[str]:
    """``POSTAL_RANGES`` as a set of characters."""
    return frozenset(chr(c) for lo, hi in POSTAL_RANGES for c in range(lo, hi + 1))


BLANK_CHARACTERS = "\t\u0020\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u202f\u205f\u3000"
"""``BLANKS`` spelled out (tab and every Unicode space separator), for trimming."""


def _subset(values: pl.Series, needs: pl.Series, rule: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``rule`` applied to the values where ``needs`` holds, the others kept: most values need nothing, and
    NFC or a Unicode regex over a whole 650,000-row column costs ten times the test for it."""
    index = needs.fill_null(False).arg_true()
    if index.len() == 0:
        return values
    return values.scatter(index, rule(values.gather(index)))


def normalise(values: pl.Series, kind: Kind) -> pl.Series:
    """The normalisation rule of ``kind`` (see the module doc) applied to a text column.

    A column with few distinct values (names, streets, communes, codes) is normalised once per value."""
    if kind in ("text", "code", "postcode"):
        distinct = values.unique()
        if distinct.len() * 4 < values.len():
            return values.replace_strict(distinct, _normalise(distinct, kind))
    return _normalise(values, kind)


def _normalise(values: pl.Series, kind: Kind) -> pl.Series:
    out = values.str.strip_chars(BLANK_CHARACTERS)
    if kind == "text":
        out = _subset(out, out.str.len_bytes() != out.str.len_chars(), lambda v: v.str.normalize("NFC"))
        inner = rf"{BLANKS}{{2,}}|[\t\x{{a0}}\x{{1680}}\x{{2000}}-\x{{200a}}\x{{202f}}\x{{205f}}\x{{3000}}]"
        out = _subset(out, out.str.contains(inner), lambda v: v.str.replace_all(rf"{BLANKS}+", " "))
    elif kind == "matricule":
        typed = out.str.contains(r"[\x{20}\x{a0}\x{202f}.\-]")
        out = _subset(out, typed, lambda v: v.str.replace_all(r"[\x{20}\x{a0}\x{202f}.\-]", ""))
    elif kind == "postcode":
        out = _subset(
            out,
            ~out.str.contains(r"^L-[0-9]{4}$"),
            lambda v: v.str.to_uppercase().str.replace(r"^L?[\-\p{Zs}]?([0-9]{4})$", "L-$1"),
        )
    elif kind == "integer":
        out = _subset(out, out.str.contains(r"^0+[0-9]+$"), lambda v: v.str.replace(r"^0+([0-9])", "$1"))
    elif kind == "email":
        out = _subset(
            out,
            out.str.contains(r"@[^@]*\p{Lu}[^@]*$"),
            lambda v: v.str.extract(r"^(.*@)[^@]*$") + v.str.extract(r"@([^@]*)$").str.to_lowercase(),
        )
    elif kind != "code":  # pragma: no cover - Kind is closed
        raise ValueError(f"unknown column kind {kind!r}")
    return out.set(out == "", None) if (out == "").any() else out


def describe(ch: str) -> str:
    """``U+05E9 HEBREW LETTER SHIN``: how a refused character is named (never the text around it)."""
    import unicodedata

    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')}"
