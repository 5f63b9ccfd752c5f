"""Prepress preflight of a print file, as a print shop's prepress would run it before anything is printed.

Checked with pikepdf (qpdf), on every page and every form the pages use:

- ``page_count``: the pages the batch must have;
- ``media_box`` / ``trim_box``: each page has a MediaBox and a TrimBox, both exactly A4 (no bleed: nothing
  prints to the edge);
- ``font_not_embedded``: every font has its program embedded (FontFile, FontFile2 or FontFile3);
- ``base14_font``: no standard-14 font (Helvetica, Times, Courier, Symbol, ZapfDingbats) is named at all;
- ``subset_name``: every font is a subset named ``ABCDEF+Name``; ``duplicate_subset``: no two different
  font programs in the file share a name (``layout.subset_tag`` names a subset by its content);
- ``colour``: text and codes are pure black on one channel — no RGB or CMYK colour operator (``rg``, ``RG``,
  ``k``, ``K``), no colour space or colour-space operator (``cs``, ``CS``, ``sc``, ``scn``…), every image a
  mask or DeviceGray (inline images on the pages verification decodes, ``preflight``'s ``image_pages``); a
  content stream is parsed by qpdf only when one of its words is a colour operator's name (``_maybe_colour``);

and, on the file, what a PDF/X-4 and PDF/VT-1 preflight asks of it (``convoc.letters.prepress`` makes it so):

- ``pdf_version``: PDF 1.6; ``file_id``: the trailer's ID, two 16-byte strings;
- ``output_intent``: exactly one ``GTS_PDFX`` output intent, with an ``OutputConditionIdentifier`` and an
  embedded ICC output profile (class ``prtr``, gray or CMYK, ``/N`` matching its channels);
- ``metadata``: an unfiltered XMP packet declaring PDF/X-4 and PDF/VT-1, with title, document, instance and
  version ids, rendition class, create, modify and metadata dates, ``Trapped`` True or False — title, dates and
  trapping the same as in the Info dictionary, the PDF/VT modification date the XMP's;
- ``forbidden``: nothing a print file must not hold (JavaScript, actions, forms, embedded files, encryption,
  annotations);
- ``records``: the PDF/VT record boundaries — a ``DPartRoot`` at ``RecordLevel`` 1 whose leaves, in page order,
  cover every page exactly once, each page pointing back to its leaf; as many records as pieces expected.

Findings name the file's page and the rule, never a text of the page.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from convoc.letters import prepress

PROFILE = "convoc-prepress-2"
"""The name of the rules above, recorded with each released file."""
A4_PT = (595.2756, 841.8898)
TOLERANCE_PT = 0.01
BASE_14 = ("Helvetica", "Times", "Courier", "Symbol", "ZapfDingbats")
COLOUR_OPERATORS = frozenset({"rg", "RG", "k", "K", "cs", "CS", "sc", "SC", "scn", "SCN"})
GRAY = frozenset({"/DeviceGray", "/G", "/CalGray"})
_SUBSET = re.compile(r"[A-Z]{6}\+.+")
_COLOUR_ONLY = " ".join(sorted(COLOUR_OPERATORS))
_WATCHED = f"{_COLOUR_ONLY} BI ID EI"
# Every colour operator qpdf's parser would find is a whole word of a stream's bytes once PDF's delimiters are read as
# white space (more words than tokens: a string's words too): a stream none of whose words is one needs no parse.
_SPACED = bytes.maketrans(b"\x00()<>[]{}/%", b" " * 11)
_COLOUR_WORDS = frozenset(op.encode() for op in COLOUR_OPERATORS)


@dataclass(frozen=True, slots=True)
class Finding:
    page: int | None  # None: the file as a whole
    rule: str
    detail: str

    def __str__(self) -> str:
        where = "file" if self.page is None else f"page {self.page}"
        return f"{where}: {self.rule}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Preflight:
    """What the preflight of one file found (nothing: it passed) and the fonts it embeds."""

    path: Path
    pages: int
    fonts: dict[str, str]  # subset name → SHA-256 of its program: a job's files must agree (``subset_conflicts``)
    findings: tuple[Finding, ...]
    document_id: str | None = None
    records: int = 0
    conformance: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": PROFILE,
            "result": "passed" if self.passed else "failed",
            "conformance": list(self.conformance) if self.passed else [],
            "document_id": self.document_id,
            "records": self.records,
            "fonts": dict(sorted(self.fonts.items())),
            "findings": [str(f) for f in self.findings],
        }


def subset_conflicts(files: dict[str, dict[str, str]]) -> list[str]:
    """Across the files of a job (file name → its ``fonts``): each subset name that names two different font
    programs, with two of the files — a RIP merging them could print one's glyphs with the other's."""
    first: dict[str, tuple[str, str]] = {}
    conflicts = []
    for name, fonts in files.items():
        for font, digest in fonts.items():
            seen = first.setdefault(font, (digest, name))
            if seen[0] != digest:
                conflicts.append(f"{font} names different font programs in {seen[1]} and {name}")
    return conflicts


def _inherited(node: Any, key: str) -> Any:
    """``key`` of a page, or inherited from its page tree (MediaBox, Resources, CropBox, Rotate may be)."""
    for _ in range(64):  # a page tree is never that deep; a cycle is
        if node is None:
            return None
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _not_a4(name: str, box: Any) -> str | None:
    """What is wrong with a page's ``name`` box (``/MediaBox``, ``/TrimBox``), or None when it is exactly A4."""
    x0, y0, x1, y1 = (float(v) for v in box)
    size = (x1 - x0, y1 - y0)
    if abs(size[0] - A4_PT[0]) > TOLERANCE_PT or abs(size[1] - A4_PT[1]) > TOLERANCE_PT or x0 or y0:
        return f"{name[1:]} {x0:g} {y0:g} {x1:g} {y1:g}, not A4 (0 0 {A4_PT[0]} {A4_PT[1]})"
    return None


class _Check:
    """One file's walk: each font and form object looked at once, findings in page order."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.fonts: dict[str, str] = {}  # BaseFont → SHA-256 of its program
        self.seen: set[tuple[int, int]] = set()
        self.judged: dict[tuple[str, bytes], str | None] = {}  # (box name, its value) → what is wrong with it

    def add(self, page: int | None, rule: str, detail: str) -> None:
        if not any(f.page == page and f.rule == rule and f.detail == detail for f in self.findings[-20:]):
            self.findings.append(Finding(page, rule, detail))

    def once(self, obj: Any) -> bool:
        key = obj.objgen
        if key == (0, 0):  # a direct object: no identity, always looked at
            return True
        if key in self.seen:
            return False
        self.seen.add(key)
        return True

    def boxes(self, page: Any, n: int) -> None:
        for name, rule in (("/MediaBox", "media_box"), ("/TrimBox", "trim_box")):
            box = _inherited(page.obj, name) if name == "/MediaBox" else page.obj.get(name)
            if box is None:
                self.add(n, rule, f"no {name[1:]}")
                continue
            key = (name, box.unparse(resolved=True))  # the pages' boxes are alike: each kind judged once
            if key not in self.judged:
                self.judged[key] = _not_a4(name, box)
            if (detail := self.judged[key]) is not None:
                self.add(n, rule, detail)

    def font(self, font: Any, n: int) -> None:
        if not self.once(font):
            return
        base = str(font.get("/BaseFont", "/(none)"))[1:]
        if font.get("/Subtype") == "/Type0":
            descendants = font.get("/DescendantFonts") or []
            for descendant in descendants:
                self.font(descendant, n)
            return
        bare = base.split("+", 1)[-1]
        if bare.startswith(BASE_14):
            self.add(n, "base14_font", f"{base} is a standard-14 font")
        if font.get("/Subtype") == "/Type3":
            return
        descriptor = font.get("/FontDescriptor")
        program = None
        if descriptor is not None:
            program = next((descriptor[k] for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor), None)
        if program is None:
            self.add(n, "font_not_embedded", f"{base} is not embedded")
            return
        if not _SUBSET.fullmatch(base):
            self.add(n, "subset_name", f"{base} is not named as a subset (ABCDEF+Name)")
        digest = hashlib.sha256(program.read_raw_bytes()).hexdigest()
        if self.fonts.setdefault(base, digest) != digest:
            self.add(n, "duplicate_subset", f"two different font programs are both named {base}")

    def resources(self, resources: Any, n: int) -> None:
        # a resource dictionary shared by the pages (the renderer writes one) is looked at once, on its first page
        if resources is None or not self.once(resources):
            return
        for font in (resources.get("/Font") or {}).values():
            self.font(font, n)
        if resources.get("/ColorSpace"):
            for name, space in resources.ColorSpace.items():
                if str(space if not isinstance(space, list) else space[0]) not in GRAY:
                    self.add(n, "colour", f"colour space {name} is not gray")
        for xobject in (resources.get("/XObject") or {}).values():
            if not self.once(xobject):
                continue
            if xobject.get("/Subtype") == "/Form":
                self.resources(xobject.get("/Resources"), n)
                self.content(xobject, n)
            elif (
                xobject.get("/Subtype") == "/Image"
                and not xobject.get("/ImageMask", False)
                and str(xobject.get("/ColorSpace")) not in GRAY
            ):
                self.add(n, "colour", f"an image in {xobject.get('/ColorSpace')}, not gray")

    def content(self, stream: Any, n: int, images: bool = True) -> None:
        import pikepdf

        if not images and not _maybe_colour(stream):
            return  # no colour operator can be in it: qpdf's parse would find nothing
        # qpdf keeps only these operators (fast on 5,000 pages); "BI ID EI" returns each inline image whole,
        # which costs as much again: ``images`` False leaves them out
        for instruction in pikepdf.parse_content_stream(stream, _WATCHED if images else _COLOUR_ONLY):
            operands, operator = instruction.operands, instruction.operator
            op = str(operator)
            if op in COLOUR_OPERATORS:
                self.add(n, "colour", f"colour operator {op} (text and codes must be gray, one channel)")
            elif op == "INLINE IMAGE":
                header = operands[0].obj
                mask = bool(header.get("/IM", header.get("/ImageMask", False)))
                space = str(header.get("/CS", header.get("/ColorSpace", "/DeviceGray")))
                if not mask and space not in GRAY:
                    self.add(n, "colour", f"an inline image in {space}, not gray")


def _maybe_colour(stream: Any) -> bool:
    """Whether a page's or form's content may hold a colour operator; True whenever it cannot tell (contents in
    several streams, a filter qpdf cannot decode): then the content is parsed. Decoding one stream and splitting its
    bytes into words take half the time of qpdf's parse, which was 40 % of a file's preflight."""
    import pikepdf

    contents = stream.obj.get("/Contents") if isinstance(stream, pikepdf.Page) else stream
    if not isinstance(contents, pikepdf.Stream):
        return True
    try:
        data = contents.read_bytes()
    except pikepdf.PdfError:
        return True
    return not _COLOUR_WORDS.isdisjoint(data.translate(_SPACED).split())


def preflight(
    path: Path,
    pages: int | None = None,
    image_pages: Collection[int] | None = None,
    records: Sequence[str] | None = None,
) -> Preflight:
    """Preflight ``path`` (a print file); ``pages``: the pages it must have, ``records``: the piece codes of the
    PDF/VT records it must hold, in order (their first pages'). Never raises for what it finds.

    Everything is checked on every page and form, except the inline images of the pages' own content (the QR
    codes, drawn alike on every page), which are checked on ``image_pages`` only (1-based; None: every page):
    verification passes the pages whose codes it decodes, which halves the preflight's time."""
    import pikepdf

    check = _Check()
    with pikepdf.open(path) as pdf:
        count = len(pdf.pages)
        if pages is not None and count != pages:
            check.add(None, "page_count", f"{count} pages, expected {pages}")
        wanted = None if image_pages is None else frozenset(image_pages)
        doc_id = _file(check, pdf)
        leaves = _records(check, pdf, records)
        for n, page in enumerate(pdf.pages, start=1):
            check.boxes(page, n)
            if "/Annots" in page.obj:
                check.add(n, "forbidden", "annotations")
            if leaves is not None and (
                n > len(leaves) or page.obj.get("/DPart") is None or page.obj.DPart.objgen != leaves[n - 1]
            ):
                check.add(n, "records", "the page does not point to its record (/DPart)")
            check.resources(_inherited(page.obj, "/Resources"), n)
            check.content(page, n, images=wanted is None or n in wanted)
    conformance = (prepress.PDFX_VERSION, prepress.PDFVT_VERSION)
    return Preflight(
        path,
        count,
        dict(sorted(check.fonts.items())),
        tuple(check.findings),
        document_id=doc_id,
        records=len({leaf for leaf in leaves or ()}),
        conformance=conformance,
    )


# --- the file: version, identity, output intent, metadata (PDF/X-4, PDF/VT-1) ------------------------------

_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "pdfxid": "http://www.npes.org/pdfx/ns/id/",
    "pdfvtid": "http://www.npes.org/pdfvt/ns/id/",
}
_XMP_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:\d{2})")
_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(Z|[+-]\d{2}'\d{2}'?)?")
_CHANNELS = {b"GRAY": 1, b"RGB ": 3, b"CMYK": 4}
_FORBIDDEN_IN_CATALOG = ("/AcroForm", "/OpenAction", "/AA", "/Names", "/Collection")


def _tz(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _xmp_date(text: str | None) -> datetime | None:
    m = _XMP_DATE.fullmatch(text or "")
    if m is None:
        return None
    y, mo, d, h, mi, sec, tz = m.groups()
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec or 0), tzinfo=_tz(tz))


def _pdf_date(text: str | None) -> datetime | None:
    m = _PDF_DATE.match(text or "")
    if m is None:
        return None
    y, mo, d, h, mi, sec, tz = m.groups()
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec), tzinfo=_tz(tz and tz.replace("'", ":")[:6]))


def _xmp_properties(packet: bytes) -> dict[str, str] | None:
    """``prefix:Name`` → value of every simple property of an XMP packet (``dc:title``: its x-default); None
    when it does not parse. A property given twice (ambiguous) is dropped."""
    try:
        root = ET.fromstring(packet)
    except ET.ParseError:
        return None
    names = {uri: prefix for prefix, uri in _NS.items()}
    found: dict[str, list[str]] = {}

    def key(tag: str) -> str | None:
        uri, _, local = tag[1:].partition("}")
        return f"{names[uri]}:{local}" if uri in names else None

    for description in root.iter(f"{{{_NS['rdf']}}}Description"):
        for attribute, value in description.attrib.items():
            if (k := key(attribute)) is not None:
                found.setdefault(k, []).append(value)
        for child in description:
            k = key(child.tag)
            if k is None:
                continue
            items = child.findall(f".//{{{_NS['rdf']}}}li")
            if items:
                lang = "{http://www.w3.org/XML/1998/namespace}lang"
                default = [i for i in items if i.get(lang) in (None, "x-default")]
                found.setdefault(k, []).append((default or items)[0].text or "")
            else:
                found.setdefault(k, []).append(child.text or "")
    return {k: v[0] for k, v in found.items() if len(v) == 1}


def _file(check: _Check, pdf: Any) -> str | None:
    """The file-level rules; returns the XMP document id."""
    import pikepdf

    if pdf.pdf_version != "1.6":
        check.add(None, "pdf_version", f"PDF {pdf.pdf_version}, expected 1.6 (PDF/X-4)")
    if pdf.is_encrypted:
        check.add(None, "forbidden", "the file is encrypted")
    ids = pdf.trailer.get("/ID")
    if not (isinstance(ids, pikepdf.Array) and len(ids) == 2 and all(len(bytes(i)) == 16 for i in ids)):
        check.add(None, "file_id", "the trailer has no ID of two 16-byte strings")
    root = pdf.Root
    for key in _FORBIDDEN_IN_CATALOG:
        if key in root:
            check.add(None, "forbidden", f"the catalog holds {key[1:]}")
    _output_intent(check, root)
    return _metadata(check, pdf)


def _output_intent(check: _Check, root: Any) -> None:
    intents = [i for i in (root.get("/OutputIntents") or []) if i.get("/S") == "/GTS_PDFX"]
    if len(intents) != 1:
        check.add(None, "output_intent", f"{len(intents)} PDF/X output intents, expected exactly one")
        return
    intent = intents[0]
    if not str(intent.get("/OutputConditionIdentifier", "")).strip():
        check.add(None, "output_intent", "no OutputConditionIdentifier")
    profile = intent.get("/DestOutputProfile")
    if profile is None:
        check.add(None, "output_intent", "no embedded ICC profile (DestOutputProfile)")
        return
    data = profile.read_bytes()
    if len(data) < 132 or data[36:40] != b"acsp" or int.from_bytes(data[:4], "big") != len(data):
        check.add(None, "output_intent", "its ICC profile is not a valid profile")
        return
    device, space = data[12:16], data[16:20]
    if device != b"prtr":
        check.add(None, "output_intent", f"its ICC profile is a {device.decode('latin-1')!r} profile, not output")
    if space not in (b"GRAY", b"CMYK"):
        check.add(None, "output_intent", f"its ICC profile is {space.decode('latin-1').strip()}, not gray or CMYK")
    elif int(profile.get("/N", 0)) != _CHANNELS[space]:
        check.add(None, "output_intent", f"/N {profile.get('/N')} for a {_CHANNELS[space]}-channel profile")


def _metadata(check: _Check, pdf: Any) -> str | None:
    def fail(detail: str) -> None:
        check.add(None, "metadata", detail)

    stream = pdf.Root.get("/Metadata")
    if stream is None:
        fail("no XMP metadata")
        return None
    if "/Filter" in stream:
        fail("the XMP metadata is compressed")
    xmp = _xmp_properties(stream.read_bytes())
    if xmp is None:
        fail("the XMP metadata does not parse")
        return None
    expected = {"pdfxid:GTS_PDFXVersion": prepress.PDFX_VERSION, "pdfvtid:GTS_PDFVTVersion": prepress.PDFVT_VERSION}
    for name, value in expected.items():
        if xmp.get(name) != value:
            fail(f"{name} is {xmp.get(name)!r}, expected {value!r}")
    for name in ("dc:title", "xmpMM:DocumentID", "xmpMM:InstanceID", "xmpMM:VersionID", "xmpMM:RenditionClass"):
        if not (xmp.get(name) or "").strip():
            fail(f"no {name}")
    dates = {name: _xmp_date(xmp.get(name)) for name in ("xmp:CreateDate", "xmp:ModifyDate", "xmp:MetadataDate")}
    for name, when in dates.items():
        if when is None:
            fail(f"{name} is missing or not a date")
    if xmp.get("pdf:Trapped") not in ("True", "False"):
        fail("pdf:Trapped is neither True nor False")
    if _xmp_date(xmp.get("pdfvtid:GTS_PDFVTModDate")) != dates["xmp:ModifyDate"]:
        fail("pdfvtid:GTS_PDFVTModDate differs from xmp:ModifyDate")
    info = pdf.trailer.get("/Info")
    if info is None:
        fail("no Info dictionary")
        return xmp.get("xmpMM:DocumentID")
    if str(info.get("/Title", "")) != xmp.get("dc:title"):
        fail("Info Title differs from dc:title")
    if str(info.get("/Trapped", ""))[1:] != xmp.get("pdf:Trapped"):
        fail("Info Trapped differs from pdf:Trapped")
    for key, name in (("/CreationDate", "xmp:CreateDate"), ("/ModDate", "xmp:ModifyDate")):
        if _pdf_date(str(info.get(key, ""))) != dates[name]:
            fail(f"Info {key[1:]} differs from {name}")
    return xmp.get("xmpMM:DocumentID")


def _piece_of(leaf: Any) -> str | None:
    """The piece code a record leaf names (``DPM`` → ``CIP4_Root`` → ``CIP4_Recipient`` → ``CIP4_UniqueID``)."""
    try:
        return str(leaf.DPM.CIP4_Root.CIP4_Recipient.CIP4_UniqueID)
    except (AttributeError, KeyError):
        return None


def _records(check: _Check, pdf: Any, expected: Sequence[str] | None) -> list[tuple[int, int]] | None:
    """Each page's record leaf (its object id), from the PDF/VT document-part tree; None when there is none."""

    def fail(detail: str) -> None:
        check.add(None, "records", detail)

    root = pdf.Root.get("/DPartRoot")
    if root is None:
        fail("no record boundaries (DPartRoot)")
        return None
    if int(root.get("/RecordLevel", -1)) != 1:
        fail(f"RecordLevel {root.get('/RecordLevel')}, expected 1 (one level of records under the job)")
    node = root.get("/DPartRootNode")
    groups = node.get("/DParts") if node is not None else None
    if groups is None:
        fail("the root of the record tree has no records (DParts)")
        return None
    first_page = {page.objgen: n for n, page in enumerate(pdf.pages)}
    pages: list[tuple[int, int]] = []
    count = 0
    for group in groups:
        for leaf in group:
            count += 1
            start = first_page.get(leaf.get("/Start").objgen if leaf.get("/Start") is not None else None)
            end_obj = leaf.get("/End")
            end = start if end_obj is None else first_page.get(end_obj.objgen)
            if start is None or end is None or end < start:
                fail(f"record {count} has no valid Start/End pages")
                return None
            if start != len(pages):
                fail(f"record {count} starts on page {start + 1}, expected {len(pages) + 1} (in page order, no gap)")
                return None
            if expected is not None and count <= len(expected):
                if _piece_of(leaf) != expected[count - 1]:
                    fail(f"record {count} is piece {_piece_of(leaf)!r}, expected {expected[count - 1]!r}")
                    return None
                of = expected[count - 1].rpartition("/")[2]  # a piece code ends with 1/n: the piece takes n pages
                if of.isdigit() and end - start + 1 != int(of):
                    fail(f"record {count} spans {end - start + 1} pages, expected {of}")
                    return None
            pages.extend([leaf.objgen] * (end - start + 1))
    if len(pages) != len(pdf.pages):
        fail(f"the records cover {len(pages)} of {len(pdf.pages)} pages")
    if expected is not None and count != len(expected):
        fail(f"{count} records, expected {len(expected)} pieces")
    return pages
