"""Verification of a rendered batch PDF before it may leave: page count, the QR codes on sampled pages, and the
prepress preflight of the whole file (``convoc.letters.preflight``: fonts, boxes, colour).

A batch PDF passes when it opens, has exactly the pages its pieces take (``pages_per_piece``: one number for
every piece, or one per piece — a large-print letter takes more than one), and each checked page holds exactly
the QR codes expected of it — no more, no fewer: the piece code (``render.piece_code``, ``job|piece|k/n``) on
every page and the booking QR (booking URL + booking code) on the first page of each piece. Checked are the
first page, the last page, every page of the first piece of several pages and a seeded random sample of the
others; the seed defaults to the file's SHA-256, so the same file is always checked on the same pages and a
re-rendered one on new ones.

Codes are found by decoding the whole rasterized page (pypdfium2, zxing-cpp), never by position, and
expectations are built by the renderer's own functions, so the layout can change without this module.
Reads the PDF only; never writes or moves files.

Failure messages reach task logs and the ``.reason.txt`` beside a rejected batch: they name pages, piece ids
and piece codes (``job|piece|k/n``, not personal), and say of a booking QR only whether it is missing,
unreadable or another one (another piece's, or none of the batch's); never a booking code or booking URL.
"""

from __future__ import annotations

import hashlib
import random
import re
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
_PIECE_CODE = re.compile(r"[!-{}~]+\|[0-9]+\|[0-9]+/[0-9]+")
"""What a piece code (``render.piece_code``: ``job|piece|k/n``) looks like: a found code of this form may be
shown in a message; any other found text (a booking URL, a stray code) never is."""


class VerificationFailed(ConvocError):
    """A rendered batch that must not be released; the message names the file, and per failed page the piece
    and what is wrong with which code; ``problems`` lists those findings. Never a booking code or URL."""

    def __init__(self, pdf: Path, problems: Sequence[str]) -> None:
        self.pdf = pdf
        self.problems = list(problems)
        super().__init__(
            f"{pdf}: verification failed, the batch is not released:\n" + "\n".join(f"  - {p}" for p in problems)
        )


class Piece(NamedTuple):
    """What one piece's pages must carry. The booking code is the person's: never put it in a message."""

    piece_id: int
    booking_code: str


@dataclass(frozen=True, slots=True)
class Verification:
    """A batch PDF that passed: its page count, SHA-256 and the pages (1-based) whose codes were read."""

    path: Path
    pages: int
    sha256: str
    checked: tuple[int, ...]
    preflight: dict[str, Any] | None = None  # convoc.letters.preflight's result (as_dict), when it ran

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (Airflow XCom)."""
        out = {"path": str(self.path), "pages": self.pages, "sha256": self.sha256, "checked": list(self.checked)}
        if self.preflight is not None:
            out["preflight"] = self.preflight
        return out


def sample_pages(pages: int, sample: int, seed: int | str) -> tuple[int, ...]:
    """Page numbers (1-based, ascending) to check: first, last and ``sample`` others drawn from ``seed``."""
    if pages < 1:
        return ()
    inner = range(2, pages)
    drawn = random.Random(seed).sample(inner, min(sample, len(inner)))
    return tuple(sorted({1, pages, *drawn}))


def page_owners(pieces: int, pages_per_piece: int | Sequence[int]) -> list[tuple[int, int, int]]:
    """Per page of the file (in order): the index of its piece, its page of the piece (0-based) and the pages
    the piece takes. ``pages_per_piece``: one number for all ``pieces``, or one per piece."""
    counts = [pages_per_piece] * pieces if isinstance(pages_per_piece, int) else list(pages_per_piece)
    if len(counts) != pieces:
        raise ValueError(f"{len(counts)} page counts for {pieces} pieces")
    if any(n < 1 for n in counts):
        raise ValueError("every piece takes at least one page")
    return [(index, k, n) for index, n in enumerate(counts) for k in range(n)]


def _expected(piece: Piece, k: int, n: int, job_id: str, booking_url: str) -> list[str]:
    codes = [piece_code(job_id, piece.piece_id, k + 1, n)]
    if k == 0:
        codes.insert(0, booking_url + piece.booking_code)
    return codes


def expected_codes(
    pieces: Sequence[Piece], page: int, *, job_id: str, booking_url: str, pages_per_piece: int | Sequence[int] = 1
) -> list[str]:
    """The QR texts page ``page`` (1-based) must hold, exactly."""
    index, k, n = page_owners(len(pieces), pages_per_piece)[page - 1]
    return _expected(pieces[index], k, n, job_id, booking_url)


def _read_codes(document: Any, page: int, scale: float, *, thorough: bool) -> list[str | None]:
    """The text of every QR code on the page; None for a code found but not decodable."""
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
    return [str(b.text) if b.error is None else None for b in found]


def _matches(expected: Sequence[str], found: Sequence[str | None]) -> bool:
    return Counter(found) == Counter(expected)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _page_problem(
    piece: Piece,
    k: int,
    pages_per_piece: int,
    found: Sequence[str | None],
    *,
    job_id: str,
    booking_url: str,
    booking_owner: dict[str, int],
) -> str:
    """What is wrong on page ``k`` (0-based) of ``piece``, per code, without any booking code or URL.

    ``booking_owner`` maps each booking QR text of the batch to its piece id, to name the piece whose code was
    found instead of the expected one. A found code is taken as a piece code when it looks like one, as a booking
    QR when it starts with the booking URL; an unreadable code stands for an expected one not found.
    """
    texts = [t for t in found if t is not None]
    unreadable = len(found) - len(texts)
    parts = []

    def take(kind: str) -> str | None:
        for text in texts:
            if _kind(text, booking_url) == kind:
                texts.remove(text)
                return text
        return None

    if k == 0:
        booking = booking_url + piece.booking_code
        if booking in texts:
            texts.remove(booking)
        elif (other := take("booking")) is not None:
            owner = booking_owner.get(other)
            parts.append(
                f"booking code: the code of piece {owner} found instead"
                if owner is not None
                else "booking code: a different code found, of no piece of this batch"
            )
        elif piece.booking_code and (other := next((t for t in texts if t.endswith(piece.booking_code)), None)):
            texts.remove(other)
            parts.append("booking code: the right code found, under another URL than the booking URL")
        elif unreadable:
            unreadable -= 1
            parts.append("booking code: unreadable")
        else:
            parts.append("booking code: missing")
    expected = piece_code(job_id, piece.piece_id, k + 1, pages_per_piece)
    if expected in texts:
        texts.remove(expected)
    elif (other := take("piece")) is not None:
        parts.append(f"piece code {expected}: {other} found instead")
    elif unreadable:
        unreadable -= 1
        parts.append(f"piece code {expected}: unreadable")
    else:
        parts.append(f"piece code {expected}: missing")

    stray = []
    for text in texts:
        kind = _kind(text, booking_url)
        if kind == "piece":
            stray.append(f"piece code {text}")
        elif kind == "booking":
            owner = booking_owner.get(text)
            stray.append(f"booking code of piece {owner}" if owner is not None else "a booking code of no piece")
    others = sum(_kind(text, booking_url) == "other" for text in texts)
    if others:
        stray.append(_plural(others, "other code"))
    if unreadable:
        stray.append(_plural(unreadable, "unreadable code"))
    if stray:
        parts.append(f"{_plural(len(texts) + unreadable, 'unexpected code')}: {', '.join(stray)}")
    return "; ".join(parts)


def _kind(text: str, booking_url: str) -> str:
    """``piece`` for a text shaped like a piece code, ``booking`` for a booking QR text, ``other`` otherwise."""
    if _PIECE_CODE.fullmatch(text):
        return "piece"
    return "booking" if text.startswith(booking_url) else "other"


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes, hex."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def verify_pdf(
    pdf: Path,
    pieces: Sequence[Piece | tuple[int, str]],
    *,
    job_id: str,
    booking_url: str | None = None,
    pages_per_piece: int | Sequence[int] = 1,
    sample: int = SAMPLE,
    seed: int | str | None = None,
    scale: float = SCALE,
    sha256: str | None = None,
) -> Verification:
    """Check ``pdf`` against the pieces it was rendered from (in print order); VerificationFailed if it fails.

    ``pages_per_piece``: the pages every piece takes, or a sequence of the pages each takes (the batch file's).
    ``sha256``, when given (the renderer's), must match the file: a file changed since rendering fails.
    Every checked page is reported, not only the first that fails, by piece and code, never by booking code.
    """
    import pypdfium2

    expected_pieces = [Piece(int(p[0]), str(p[1])) for p in pieces]
    owners_of_pages = page_owners(len(expected_pieces), pages_per_piece)
    uniform = pages_per_piece if isinstance(pages_per_piece, int) else None
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
        expected_pages = len(owners_of_pages)
        if pages != expected_pages:
            per_piece = f"× {uniform} page(s) per piece" if uniform else "and the pages each takes"
            raise VerificationFailed(
                pdf, [f"{pages} pages, expected {expected_pages} ({len(expected_pieces)} pieces {per_piece})"]
            )
        checked = sample_pages(pages, sample, digest if seed is None else seed)
        # and every page of the batch's first piece of several pages (a large-print letter), if any
        first_long = next((p for p, (_, k, n) in enumerate(owners_of_pages, start=1) if k == 0 and n > 1), None)
        if first_long is not None:
            checked = tuple(sorted({*checked, *range(first_long, first_long + owners_of_pages[first_long - 1][2])}))
        problems = []
        owners: dict[str, int] = {}
        for page in checked:
            index, k, n = owners_of_pages[page - 1]
            expected = _expected(expected_pieces[index], k, n, job_id, url)
            found = _read_codes(document, page, scale, thorough=False)
            if not _matches(expected, found):
                found = _read_codes(document, page, max(scale, RETRY_SCALE), thorough=True)
            if not _matches(expected, found):
                piece = expected_pieces[index]
                if not owners:
                    for p in expected_pieces:
                        owners.setdefault(url + p.booking_code, p.piece_id)
                problem = _page_problem(piece, k, n, found, job_id=job_id, booking_url=url, booking_owner=owners)
                problems.append(f"page {page} (piece {piece.piece_id}): {problem}")
    finally:
        document.close()
    # Prepress preflight of the whole file (fonts, boxes, colour): a file that fails it is rejected like one
    # whose codes do not read.
    from convoc.letters.preflight import preflight as run_preflight

    records = [piece_code(job_id, expected_pieces[index].piece_id, 1, n) for index, k, n in owners_of_pages if k == 0]
    checked_file = run_preflight(pdf, expected_pages, image_pages=checked, records=records)
    problems += [f"preflight {finding}" for finding in checked_file.findings]
    if problems:
        raise VerificationFailed(pdf, problems)
    return Verification(path=pdf, pages=pages, sha256=digest, checked=checked, preflight=checked_file.as_dict())
