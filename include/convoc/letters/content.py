"""What a letter says: the person's letter (``Letter``), its templates and languages, and its text with the
placeholders filled in — one source for the printed letter (standard and large print) and the e-mail invitation.

Pure: reads template files, draws nothing.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date

from convoc.errors import ConvocError

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGUAGES = ("fr", "de", "en", "pt")
BILINGUAL = ("fr", "de")
"""Languages of the letter sent when the person's language is unknown, one after the other."""
LOCALES = {"fr": "fr_LU", "de": "de_LU", "en": "en_GB", "pt": "pt_PT"}
PLACE_AND_DATE = {
    "fr": "Luxembourg, le {date}",
    "de": "Luxemburg, den {date}",
    "en": "Luxembourg, {date}",
    "pt": "Luxemburgo, {date}",
}
LABELS: Mapping[str, Mapping[str, str]] = {
    "fr": {"code": "Votre code personnel", "book": "Rendez-vous sur", "phone": "ou par téléphone au"},
    "de": {"code": "Ihr persönlicher Code", "book": "Termin auf", "phone": "oder telefonisch unter"},
    "en": {"code": "Your personal code", "book": "Book at", "phone": "or by telephone on"},
    "pt": {"code": "O seu código pessoal", "book": "Marcação em", "phone": "ou pelo telefone"},
}
PLACEHOLDERS = frozenset(
    {
        "given_name",
        "family_name",
        "valid_from",
        "valid_until",
        "centre_name",
        "centre_address",
        "booking_code",
        "hotline",
        "booking_url",
    }
)
OTHER_RESIDENTS = {
    "fr": "et les autres résidents",
    "de": "und die weiteren Bewohner",
    "en": "and the other residents",
    "pt": "e os restantes residentes",
}
"""The last name line of a household letter to more residents than it names (``household_names``)."""
BOOKING_URL = "https://convoc.example.lu/b/"
"""Where codes are booked: the booking QR code encodes this URL followed by the code."""
HOTLINE = "+352 8002 8080"
FORMATS = ("standard", "large_print")
"""Letter formats: the standard one-page letter, and large print (``layout.LARGE_*``) on as many pages as its
text needs."""


class MissingTemplate(ConvocError):
    """No template for a (campaign, language) the batch needs."""

    def __init__(self, campaign: str, language: str, path: Path) -> None:
        self.campaign = campaign
        self.language = language
        super().__init__(f"no letter template for campaign {campaign!r} in language {language!r} (expected {path})")


@dataclass(frozen=True, slots=True)
class Letter:
    """One piece: one person's invitation, printed on one page."""

    piece_id: int
    invitation_id: str
    campaign: str
    language: str | None
    family_name: str
    given_name: str
    street: str
    house_number: str | None
    postcode: str
    locality: str
    booking_code: str
    valid_from: date
    valid_until: date
    letter_date: date
    centre_name: str
    centre_address: tuple[str, ...]
    phase: str
    co_residents: tuple[str, ...] = ()  # a household letter: the other residents named, oldest first
    household_size: int = 1
    format: str = "standard"  # or "large_print" (FORMATS)


@dataclass(frozen=True, slots=True)
class Template:
    """A letter text: subject line and body paragraphs, with ``{placeholders}``; ``labels``: the template's
    own words for the booking box (``code``, ``book``, ``phone``) where the defaults (``LABELS``) do not fit —
    a mailing books nothing."""

    subject: str
    paragraphs: tuple[str, ...]
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


def letter_languages(language: str | None) -> tuple[str, ...]:
    """Languages printed on a letter: the person's one, or French then German when unknown."""
    lang = (language or "").strip().lower()
    return (lang,) if lang in LANGUAGES else BILINGUAL


def load_template(path: Path) -> Template:
    """Read a template: first line ``subject: …``, then optionally lines ``code: …``, ``book: …``, ``phone: …``
    (the booking box's labels), then the body; blank lines separate paragraphs."""
    text = path.read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise ConvocError(f"{path}: the first line must be 'subject: …'")
    subject = first.split(":", 1)[1].strip()
    labels = {}
    while True:
        line, _, rest = body.partition("\n")
        key, sep, value = line.partition(":")
        if not sep or key.strip().lower() not in ("code", "book", "phone") or not value.strip():
            break
        labels[key.strip().lower()], body = value.strip(), rest
    paragraphs = tuple(" ".join(p.split()) for p in body.strip().split("\n\n") if p.strip())
    for part in (subject, *paragraphs):
        for _, field, spec, conversion in string.Formatter().parse(part):
            if field is not None and (field not in PLACEHOLDERS or spec or conversion):
                raise ConvocError(f"{path}: unknown placeholder {{{field}}}; allowed: {sorted(PLACEHOLDERS)}")
    return Template(subject, paragraphs, labels)


def load_templates(letters: Iterable[Letter], root: Path | None = None) -> dict[tuple[str, str], Template]:
    """Templates for every (campaign, language) the letters need, from ``root`` (``CONVOC_CAMPAIGNS``'s
    templates) where it has the campaign, else the shipped ones; MissingTemplate if one is absent."""
    return templates_for({(letter.campaign, letter.language) for letter in letters}, root)


def templates_for(pairs: Iterable[tuple[str, str | None]], root: Path | None = None) -> dict[tuple[str, str], Template]:
    """``load_templates`` for letters of these (campaign, letter language) pairs (a bilingual letter language
    needs a template in each of its languages)."""
    needed = sorted({(campaign, lang) for campaign, language in pairs for lang in letter_languages(language)})
    found = {}
    for campaign, lang in needed:
        folder = root / campaign if root is not None and (root / campaign).is_dir() else TEMPLATES_DIR / campaign
        path = folder / f"{lang}.txt"
        if not path.is_file():
            raise MissingTemplate(campaign, lang, path)
        found[campaign, lang] = load_template(path)
    return found


@lru_cache(maxsize=4096)
def long_date(d: date, lang: str) -> str:
    return str(format_date(d, format="long", locale=LOCALES[lang]))


def label(langs: tuple[str, ...], key: str) -> str:
    return " / ".join(LABELS[lang][key] for lang in langs)


def household_names(letter: Letter, langs: tuple[str, ...]) -> tuple[str, ...]:
    """The name lines after the addressee's on a household letter: every other resident when the household
    has at most ``MAX_NAMES``, else the first ``MAX_NAMES - 2`` of them and "and the other residents"."""
    from convoc.campaigns import MAX_NAMES

    if letter.household_size <= 1:
        return ()
    if letter.household_size <= MAX_NAMES:
        return letter.co_residents[: MAX_NAMES - 1]
    return (*letter.co_residents[: MAX_NAMES - 2], OTHER_RESIDENTS[langs[0]])


def labels_of(templates: Mapping[tuple[str, str], Template], campaign: str, langs: tuple[str, ...]) -> dict[str, str]:
    """The booking box's labels for a campaign in ``langs``: the templates' own where they have them, else
    ``LABELS``; one language after the other."""
    return {
        key: " / ".join(templates[campaign, lang].labels.get(key, LABELS[lang][key]) for lang in langs)
        for key in ("code", "book", "phone")
    }


@dataclass(frozen=True)
class Wording:
    """What every letter of a run says besides its person's details: the campaigns' templates (``load_templates``'s,
    keyed by campaign and language), the booking site's address and the hotline."""

    templates: Mapping[tuple[str, str], Template]
    booking_url: str
    hotline: str

    def texts(self, letter: Letter, langs: tuple[str, ...]) -> list[tuple[str, list[str]]]:
        """Subject and paragraphs of the letter's text in each of ``langs``, its placeholders filled in (dates in
        the language's long form): what the letter prints, and what an e-mail invitation says."""
        texts = []
        for lang in langs:
            values = {
                "given_name": letter.given_name,
                "family_name": letter.family_name,
                "valid_from": long_date(letter.valid_from, lang),
                "valid_until": long_date(letter.valid_until, lang),
                "centre_name": letter.centre_name,
                "centre_address": ", ".join(letter.centre_address),
                "booking_code": letter.booking_code,
                "hotline": self.hotline,
                "booking_url": self.booking_url,
            }
            tpl = self.templates[letter.campaign, lang]
            texts.append((tpl.subject.format_map(values), [p.format_map(values) for p in tpl.paragraphs]))
        return texts

    def labels(self, campaign: str, langs: tuple[str, ...]) -> dict[str, str]:
        """The booking box's labels of ``campaign`` in ``langs`` (``labels_of``)."""
        return labels_of(self.templates, campaign, langs)
