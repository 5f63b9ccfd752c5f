"""Verification of a rendered batch PDF before it may leave: page count and the QR codes on sampled pages.

A batch PDF passes when it opens, has exactly ``pieces × pages_per_piece`` pages, and each checked page
holds exactly the QR codes expected of it — no more, no fewer: the piece code (``render.piece_code``) on
every page and the booking QR (booking URL + booking code) on the first page of each piece. Checked are
the first page, the last page and a seeded random sample of the others; the seed defaults to the file's
SHA-256, so the same file is always checked on the same pages and a re-rendered one on new ones.

Codes are found by decoding the whole rasterized page (pypdfium2, zxing-cpp), never by position, and
expectations are built by the renderer's own functions, so the layout and the piece-code format can
change without this module. Reads the PDF only; never writes or moves files.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from convoc.errors import ConvocError
from convoc.letters.render import BOOKING_URL, piece_code

SCALE = 2.0
"""Pixels per PDF point (144 dpi). On a 5,000-letter batch both codes decode on every page from 1.25 (90 dpi,
the 12 mm piece code at 1.5 pixels per module); at 1.0 a third of the piece codes are lost. 2.0 leaves a
margin for smaller codes at about 4 ms a page."""
RETRY_SCALE = 4.0
"""A page that does not match at ``SCALE`` is read once more at this scale with zxing's full search, so that
only a page that is really wrong fails the batch."""
SAMPLE = 8
"""Pages checked besides the first and the last."""
_QR_FORMATS = "QRCode,MicroQRCode,rMQRCode"
"""Every QR symbology: a stray code of any of them on a page is a finding."""


class VerificationFailed(ConvocError):
    """A rendered batch that must not be released; the message names the file, pages, expected and found."""

    def __init__(self, pdf: Path, problems: Sequence[str]) -> None:
        self.pdf = pdf
        self.problems = list(problems)
        super().__init__(
            f"{pdf}: verification failed, the batch is not released:\n" + "\n".join(f"  - {p}" for p in problems)
        )


class Piece(NamedTuple):
    """What one piece's pages must carry (booking codes are opaque, not personal data)."""

    piece_id: int
    booking_code: str


@dataclass(frozen=True, slots=True)
class Verification:
    """A batch PDF that passed: its page count, SHA-256 and the pages (1-based) whose codes were read."""

    path: Path
    pages: int
    sha256: str
    checked: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (Airflow XCom)."""
        return {"path": str(self.path), "pages": self.pages, "sha256": self.sha256, "checked": list(self.checked)}


def sample_pages(pages: int, sample: int, seed: int | str) -> tuple[int, ...]:
    """Page numbers (1-based, ascending) to check: first, last and ``sample`` others drawn from ``seed``."""
    if pages < 1:
        return ()
    inner = range(2, pages)
    drawn = random.Random(seed).sample(inner, min(sample, len(inner)))
    return tuple(sorted({1, pages, *drawn}))


def expected_codes(
    pieces: Sequence[Piece], page: int, *, job_id: str, booking_url: str, pages_per_piece: int = 1
) -> list[str]:
    """The QR texts page ``page`` (1-based) must hold, exactly."""
    index, k = divmod(page - 1, pages_per_piece)
    piece = pieces[index]
    codes = [piece_code(job_id, piece.piece_id, k + 1, pages_per_piece)]
    if k == 0:
        codes.insert(0, booking_url + piece.booking_code)
    return codes


def _read_codes(document: Any, page: int, scale: float, *, thorough: bool) -> list[str]:
    """Every QR code on the page, decoded; a code found but not decodable is listed as unreadable."""
    import zxingcpp

    handle = document[page - 1]
    try:
        bitmap = handle.render(scale=scale, grayscale=True)
        try:
            found = zxingcpp.read_barcodes(
                bitmap.to_numpy(),
                formats=zxingcpp.barcode_formats_from_str(_QR_FORMATS),
                try_rotate=thorough,
                try_downscale=thorough,
                try_invert=thorough,
                return_errors=True,
            )
        finally:
            bitmap.close()
    finally:
        handle.close()
    return [str(b.text) if b.error is None else f"<unreadable {b.format}: {b.error}>" for b in found]


def _difference(expected: list[str], found: list[str]) -> str:
    missing = sorted((Counter(expected) - Counter(found)).elements())
    extra = sorted((Counter(found) - Counter(expected)).elements())
    parts = [f"expected {expected}, found {sorted(found)}"]
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"unexpected {extra}")
    return "; ".join(parts)


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def verify_pdf(
    pdf: Path,
    pieces: Sequence[Piece | tuple[int, str]],
    *,
    job_id: str,
    booking_url: str | None = None,
    pages_per_piece: int = 1,
    sample: int = SAMPLE,
    seed: int | str | None = None,
    scale: float = SCALE,
    sha256: str | None = None,
) -> Verification:
    """Check ``pdf`` against the pieces it was rendered from (in print order); VerificationFailed if it fails.

    ``sha256``, when given (the renderer's), must match the file: a file changed since rendering fails.
    Every checked page is reported, not only the first that fails.
    """
    import pypdfium2

    if pages_per_piece < 1:
        raise ValueError("pages_per_piece must be at least 1")
    expected_pieces = [Piece(int(p[0]), str(p[1])) for p in pieces]
    url = BOOKING_URL if booking_url is None else booking_url
    if not pdf.is_file():
        raise VerificationFailed(pdf, ["no such file"])
    digest = file_sha256(pdf)
    if sha256 is not None and digest != sha256:
        raise VerificationFailed(pdf, [f"the file changed since it was rendered: SHA-256 {digest}, rendered {sha256}"])
    try:
        document = pypdfium2.PdfDocument(pdf)
    except pypdfium2.PdfiumError as exc:
        raise VerificationFailed(pdf, [f"not a readable PDF, truncated or corrupt ({exc})"]) from exc
    try:
        pages = len(document)
        expected_pages = len(expected_pieces) * pages_per_piece
        if pages != expected_pages:
            raise VerificationFailed(
                pdf,
                [
                    f"{pages} pages, expected {expected_pages} "
                    f"({len(expected_pieces)} pieces × {pages_per_piece} page(s) per piece)"
                ],
            )
        checked = sample_pages(pages, sample, digest if seed is None else seed)
        problems = []
        for page in checked:
            expected = expected_codes(
                expected_pieces, page, job_id=job_id, booking_url=url, pages_per_piece=pages_per_piece
            )
            found = _read_codes(document, page, scale, thorough=False)
            if Counter(found) != Counter(expected):
                found = _read_codes(document, page, max(scale, RETRY_SCALE), thorough=True)
            if Counter(found) != Counter(expected):
                piece = expected_pieces[(page - 1) // pages_per_piece].piece_id
                problems.append(f"page {page} (piece {piece}): {_difference(expected, found)}")
        if problems:
            raise VerificationFailed(pdf, problems)
    finally:
        document.close()
    return Verification(path=pdf, pages=pages, sha256=digest, checked=checked)
