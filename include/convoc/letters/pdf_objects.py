"""A letter file's per-page objects, written byte for byte as reportlab writes them, without its generic machinery.

reportlab formats every object of a PDF through one recursive function (a name object made per key, an
``isinstance`` cascade per value): for a batch of 5,000 letters, its 5,000 page dictionaries and 5,000
content streams took 1.1–1.4 s of an 8 s render, and the 5,000 records (PDF/VT ``DPart`` leaves) more.
``LetterPage``, ``PageStream`` and ``RecordPart`` write the same bytes directly: a dictionary's keys sorted
and joined as ``PDFDictionary`` does, the references numbered by the document in the same order (``Contents``
before ``Parent``, as ``PDFCatalog.format`` makes them), the stream compressed by reportlab's own Flate
filter, strings escaped by reportlab's ``PDFString``. Whatever they do not expect — another filter,
encryption, a dictionary entry of the stream's own — goes to reportlab's own code.
The text of a page goes the same way: ``text_object`` writes a text object's operators as reportlab's
``PDFTextObject`` writes them for a TrueType font, each line's characters mapped to the font subset's codes by
one ``str.translate`` instead of ``TTFont.splitString``'s Python loop over every character (17 % of a render's
time in a profile of a 10,000-letter batch). ``tests/unit/letters/test_render.py`` compares a whole batch file with
reportlab's own output (``ENABLED`` false), byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reportlab import rl_config
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase import pdfdoc, pdfmetrics

ENABLED = True
"""Pages, their content streams and the records written here; False: by reportlab itself (what the test
compares with)."""


class PageStream(pdfdoc.PDFStream):  # type: ignore[misc]
    """A page's content stream: Flate-compressed, its dictionary ``/Filter`` and ``/Length`` alone."""

    def format(self, document: Any) -> bytes:
        if (
            self.filters != [pdfdoc.PDFZCompress]
            or self.dictionary.dict
            or not isinstance(document.encrypt, pdfdoc.NoEncryption)
        ):
            result: bytes = super().format(document)
            return result
        data = pdfdoc.PDFZCompress.encode(self.content)
        return b"<<\n/Filter [ /FlateDecode ] /Length %d\n>>\nstream\n%sendstream\n" % (len(data), data)


def _constant(value: Any, document: Any) -> bytes:
    """A value every page repeats (its ``/Type``, its ``/TrimBox``), formatted by reportlab once per document."""
    if type(value) is str:
        key: Any = value
    elif type(value) is pdfdoc.PDFArray and all(type(x) in (int, float) for x in value.sequence):
        key = (float, *value.sequence)
    else:
        result: bytes = pdfdoc.format(value, document)
        return result
    cache: dict[Any, bytes] = document.__dict__.setdefault("_convoc_constants", {})
    if key not in cache:
        cache[key] = pdfdoc.format(value, document)
    return cache[key]


class LetterPage(pdfdoc.PDFPage):  # type: ignore[misc]
    """A page object: the entries reportlab's ``PDFPage`` would write, formatted without ``pdfdoc.format``
    where the value is a reference (all but one or two of them)."""

    def check_format(self, document: Any) -> None:
        super().check_format(document)
        if type(self.Contents) is pdfdoc.PDFStream:
            self.Contents.__class__ = PageStream

    def format(self, document: Any) -> bytes:
        self.check_format(document)
        entries: dict[str, Any] = {}
        for key, default in self.__Defaults__.items():
            value = getattr(self, key, default)
            if value is not None:
                entries[key] = value
        for key in self.__NoDefault__:
            value = getattr(self, key, None)
            if value is not None:
                entries[key] = value
        for key in self.__Refs__:
            if key in entries:
                entries[key] = document.Reference(entries[key])
        numbers = document.idToObjectNumberAndVersion
        items = []
        for key in sorted(entries):
            value = entries[key]
            if type(value) is pdfdoc.PDFObjectReference:
                formatted = b"%d %d R" % numbers[value.name]
            else:
                formatted = _constant(value, document)
            items.append(b"/" + key.encode("ascii") + b" " + formatted)
        if rl_config.pdfMultiLine:  # PDFDictionary.format, multiline
            return b"<<\n" + b"\n ".join(items) + b"\n>>"
        for i in reversed(range(6, len(items), 6)):  # PDFDictionary.format: a line break every six entries
            items.insert(i, b"\n ")
        return b"<<\n" + b" ".join(items) + b"\n>>"


class RecordPart(pdfdoc.PDFObject):  # type: ignore[misc]
    """One record of the file (a PDF/VT ``DPart`` leaf): its parent, first and last page, and the piece code as
    its CIP4 unique id; written as reportlab writes the ``PDFDictionary`` ``convoc.letters.prepress`` would make."""

    __RefOnly__ = 1

    def __init__(self, parent: Any, start: str, end: str | None, piece_code: str) -> None:
        self.parent, self.start, self.end, self.piece_code = parent, start, end, piece_code

    def as_dictionary(self) -> Any:
        """The same record as reportlab's own objects."""
        leaf = {
            "Type": pdfdoc.PDFName("DPart"),
            "Parent": self.parent,
            "Start": pdfdoc.PDFObjectReference(self.start),
            "DPM": pdfdoc.PDFDictionary(
                {
                    "CIP4_Root": pdfdoc.PDFDictionary(
                        {"CIP4_Recipient": pdfdoc.PDFDictionary({"CIP4_UniqueID": pdfdoc.PDFString(self.piece_code)})}
                    )
                }
            ),
        }
        if self.end is not None:
            leaf["End"] = pdfdoc.PDFObjectReference(self.end)
        return pdfdoc.PDFDictionary(leaf)

    def format(self, document: Any) -> bytes:
        if rl_config.pdfMultiLine or not isinstance(document.encrypt, pdfdoc.NoEncryption):
            result: bytes = self.as_dictionary().format(document)
            return result
        numbers = document.idToObjectNumberAndVersion
        code = pdfdoc.PDFString(self.piece_code).format(document)
        end = b"/End %d %d R " % numbers[self.end] if self.end is not None else b""
        dpm = b"<<\n/CIP4_Root <<\n/CIP4_Recipient <<\n/CIP4_UniqueID %s\n>>\n>>\n>>" % code
        parent = pdfdoc.format(self.parent, document)
        start = b"%d %d R" % numbers[self.start]
        return b"<<\n/DPM %s %s/Parent %s /Start %s /Type /DPart\n>>" % (dpm, end, parent, start)


class _Encoding:
    """One TrueType font's character codes in one document, as ``TTFont.splitString`` assigns them: a text whose
    characters all have a code in the first subset is mapped by ``str.translate`` (``show``); any other text (a
    character seen for the first time, one of a later subset, one the font lacks, a no-break space) goes to
    ``splitString`` itself (``split``), which assigns the codes, and the table is read again from its state."""

    def __init__(self, font: Any, document: Any) -> None:
        self.font, self.document = font, document
        self.table: dict[int, int] = {}
        self.known: frozenset[str] = frozenset()
        self.names: dict[int, str] = {}
        self.shown: dict[str, str] = {}

    def split(self, text: str) -> list[tuple[int, bytes]]:
        """``font.splitString(text, document)``: (subset, codes) per run of one subset; the first subset's table
        read again afterwards (the call may have given new characters codes). For the texts ``show`` cannot write."""
        if not text:
            return []
        result: list[tuple[int, bytes]] = self.font.splitString(text, self.document)
        assignments: dict[int, int] = self.font.state[self.document].assignments
        self.table = {char: code for char, code in assignments.items() if code < 256}
        self.known = frozenset(map(chr, self.table))
        return result

    def name(self, subset: int) -> str:
        """The subset's font resource name (``getSubsetInternalName``; fixed once given)."""
        name = self.names.get(subset)
        if name is None:
            name = self.names[subset] = self.font.getSubsetInternalName(subset, self.document)
        return name

    def show(self, text: str) -> str:
        """``(codes) Tj`` for a text of the first subset's characters alone, remembered (a street, a locality and
        the paragraph lines around a code recur on many pages); "" for any other text."""
        shown = self.shown.get(text)
        if shown is None:
            if not text or not self.known.issuperset(text):
                return ""
            shown = self.shown[text] = f"({escapePDF(text.translate(self.table).encode('latin-1'))}) Tj"
        return shown


def text_object(canvas: Any, lines: Iterable[tuple[str, float, float, float, str]]) -> str:
    """The operators of one text object (``BT … ET``) drawing ``lines`` — (font, size, x, y, text), the font a
    registered TrueType one, x and y in points — as reportlab's ``PDFTextObject`` writes them for
    ``setFont(font, size)`` at each change of font or size, ``setTextOrigin`` for the first line,
    ``moveCursor`` from each line's start to the next one's, and ``_textOut`` of its text."""
    document = canvas._doc
    encodings: dict[str, _Encoding] = document.__dict__.setdefault("_convoc_encodings", {})
    code = ["BT", "1 0 0 1 0 0 Tm"]
    current: tuple[str, float] | None = None
    at: tuple[float, float] | None = None
    encoding: Any = None
    selection = ""
    subset = -1
    for name, size, x, y, text in lines:
        if current != (name, size):
            current = (name, size)
            encoding = encodings.get(name)
            if encoding is None:
                encoding = encodings[name] = _Encoding(pdfmetrics.getFont(name), document)
            selection = f"{fp_str(size)} Tf {fp_str(size * 1.2)} TL"
            subset = -1
        if at is None:
            code.append(f"1 0 0 1 {fp_str(x, y)} Tm")
        else:
            dx, dy = round(x - at[0], 2), round(at[1] - y, 2)
            code.append(f"{fp_str(dx, -dy)} Td")
        at = (x, y)
        shown = encoding.show(text)
        if shown:  # the first subset's characters alone
            if subset:
                code.append(f"{encoding.name(0)} {selection} {shown}")
                subset = 0
            else:
                code.append(shown)
            continue
        parts = []
        for part, codes in encoding.split(text):
            if part != subset:
                parts.append(f"{encoding.name(part)} {selection}")
                subset = part
            parts.append(f"({escapePDF(codes)}) Tj")
        code.append(" ".join(parts))
    code.append("ET")
    return " ".join(code)
