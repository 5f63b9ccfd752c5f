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
  mask or DeviceGray (inline images on the pages verification decodes, ``preflight``'s ``image_pages``).

Not checked here (the renderer does not make them yet): an output intent with its ICC profile and the PDF/X
metadata. Findings name the file's page and the rule, never a text of the page.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROFILE = "convoc-prepress-1"
"""The name of the rules above, recorded with each released file."""
A4_PT = (595.2756, 841.8898)
TOLERANCE_PT = 0.01
BASE_14 = ("Helvetica", "Times", "Courier", "Symbol", "ZapfDingbats")
COLOUR_OPERATORS = frozenset({"rg", "RG", "k", "K", "cs", "CS", "sc", "SC", "scn", "SCN"})
GRAY = frozenset({"/DeviceGray", "/G", "/CalGray"})
_SUBSET = re.compile(r"[A-Z]{6}\+.+")
_COLOUR_ONLY = " ".join(sorted(COLOUR_OPERATORS))
_WATCHED = f"{_COLOUR_ONLY} BI ID EI"


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
    fonts: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": PROFILE,
            "result": "passed" if self.passed else "failed",
            "fonts": list(self.fonts),
            "findings": [str(f) for f in self.findings],
        }


class _Check:
    """One file's walk: each font and form object looked at once, findings in page order."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.fonts: dict[str, str] = {}  # BaseFont → SHA-256 of its program
        self.seen: set[tuple[int, int]] = set()

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
            box = page.obj.get(name)
            if box is None:
                self.add(n, rule, f"no {name[1:]}")
                continue
            x0, y0, x1, y1 = (float(v) for v in box)
            size = (x1 - x0, y1 - y0)
            if abs(size[0] - A4_PT[0]) > TOLERANCE_PT or abs(size[1] - A4_PT[1]) > TOLERANCE_PT or x0 or y0:
                self.add(n, rule, f"{name[1:]} {x0:g} {y0:g} {x1:g} {y1:g}, not A4 (0 0 {A4_PT[0]} {A4_PT[1]})")

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
        if resources is None:
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


def preflight(path: Path, pages: int | None = None, image_pages: Collection[int] | None = None) -> Preflight:
    """Preflight ``path`` (a print file); ``pages``: the pages it must have. Never raises for what it finds.

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
        for n, page in enumerate(pdf.pages, start=1):
            check.boxes(page, n)
            check.resources(page.obj.get("/Resources"), n)
            check.content(page, n, images=wanted is None or n in wanted)
    return Preflight(path, count, tuple(sorted(check.fonts)), tuple(check.findings))
