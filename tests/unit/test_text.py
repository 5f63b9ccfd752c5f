"""convoc.text: one normalisation rule per column kind, and the characters a letter may carry."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest
from reportlab.pdfbase import pdfmetrics

from convoc import text
from convoc.letters import layout


def _normalise(values: list[str | None], kind: text.Kind) -> list[str | None]:
    return text.normalise(pl.Series(values, dtype=pl.String), kind).to_list()


def test_text_is_nfc_with_blanks_collapsed_and_trimmed_but_controls_kept() -> None:
    kept = ["Jo\x07ão", "a\u200bb", "x\ny"]
    values = [" Zoe\u0308 ", "Anne\u00a0\u2003Marie", "rue\tde  la Gare", "\u3000", "", None]
    assert _normalise(values + kept, "text") == ["Zoë", "Anne Marie", "rue de la Gare", None, None, None, *kept]


def test_matricule_separators_removed_digits_never_converted() -> None:
    assert _normalise(
        ["1950 0314 123 45", "1950.0314.12345", "1950\u00a00314\u202f12345", " 1950-0314-12345 ", "１９５０"],
        "matricule",
    ) == ["1950031412345"] * 4 + ["１９５０"]


def test_postcodes_take_their_canonical_form() -> None:
    assert _normalise(["1009", "L1009", "l-1009", "L 1009", " L-1009 ", "L-10090", "D-1009", "L-١٠٠٩"], "postcode") == [
        "L-1009",
        "L-1009",
        "L-1009",
        "L-1009",
        "L-1009",
        "L-10090",
        "D-1009",
        "L-١٠٠٩",
    ]


def test_integers_lose_leading_zeros_codes_only_blanks() -> None:
    assert _normalise(["007", "0", "000", "00a", " 12 "], "integer") == ["7", "0", "0", "00a", "12"]
    assert _normalise([" F ", "f", "\tresident"], "code") == ["F", "f", "resident"]


@pytest.mark.parametrize("font", [layout.FONT_REGULAR, layout.FONT_BOLD])
def test_every_postal_character_is_drawn_by_the_letter_fonts(font: str) -> None:
    layout.register_fonts()
    cmap = pdfmetrics.getFont(font).face.charToGlyph
    missing = sorted(f"U+{ord(ch):04X}" for ch in text.postal_characters() if ord(ch) not in cmap)
    assert missing == []


def test_postal_characters_are_latin_letters_digits_and_address_punctuation() -> None:
    for ch in text.postal_characters():
        name = unicodedata.name(ch, "")
        category = unicodedata.category(ch)
        assert category[0] in "LNPZM" or ch in "$+<=>^`|~°", (hex(ord(ch)), name)
        if category[0] == "L":
            assert "LATIN" in name or ch in "ªºʼ", name


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("Müller", None),
        ("Nguyễn Thị Minh Khai", None),
        ("Đorđević-Şahin", None),
        ("O’Neil d'Ávila", None),
        ("n°12½", "unprintable"),
        ("Jo\x07ão", "control"),
        ("Jo\u2028ão", "control"),
        ("Jo\x85ão", "control"),
        ("Mül\u200bler", "invisible"),
        ("\u202eabc", "invisible"),
        ("\ue000", "invisible"),
        ("\u00adx", "invisible"),  # soft hyphen
        ("Παπαδόπουλος", "unprintable"),
        ("Иванова", "unprintable"),
        ("Wagnеr", "unprintable"),  # Cyrillic е among Latin letters
        ("שלום", "unprintable"),
        ("محمد", "unprintable"),
        ("王小明", "unprintable"),
        ("Ｍüller", "unprintable"),  # fullwidth
        ("\u0301abc", "unprintable"),  # a diacritic on nothing
        ("a\u0301\u0302\u0303", "unprintable"),  # three stacked
        ("\U0001f600", "unprintable"),
        ("\U000e0001", "invisible"),
    ],
)
def test_each_character_falls_to_exactly_one_rule(value: str, rule: str | None) -> None:
    series = pl.Series([value])
    patterns = {"control": text.CONTROL, "invisible": text.INVISIBLE, "unprintable": text.UNPRINTABLE}
    hits = {name for name, pattern in patterns.items() if series.str.contains(pattern)[0]}
    assert hits == ({rule} if rule else set())
