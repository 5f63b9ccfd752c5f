"""Verification of rendered batch PDFs: page count, QR codes on sampled pages, release or rejection."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from datetime import date
from pathlib import Path

import polars as pl
import pypdfium2
import pytest
import zxingcpp
from PIL import ImageDraw

from convoc.errors import ConvocError
from convoc.letters.batches import render_batch_file, verify_batch_file
from convoc.letters.render import BOOKING_URL, Letter, piece_code, render_batch
from convoc.letters.verify import (
    Piece,
    VerificationFailed,
    _page_problem,
    sample_pages,
    verify_pdf,
)

DAY = date(2021, 1, 29)
JOB = "J20210129"


def letter(piece_id: int) -> Letter:
    return Letter(
        piece_id=piece_id,
        invitation_id=f"vaccination:1:{piece_id}:1",
        campaign="vaccination",
        language="fr" if piece_id % 3 else None,
        family_name="Schmit",
        given_name="Marie",
        street="rue de la Gare",
        house_number=str(piece_id),
        postcode="L-1611",
        locality="Luxembourg",
        booking_code=f"7QK2-M0ZD-{piece_id:04d}",
        valid_from=date(2021, 2, 1),
        valid_until=date(2021, 2, 14),
        letter_date=DAY,
        centre_name="Hall Victor Hugo",
        centre_address=("60, avenue Victor Hugo", "L-1750 Luxembourg"),
        phase="2a",
    )


def pieces(letters: list[Letter]) -> list[Piece]:
    return [Piece(x.piece_id, x.booking_code) for x in letters]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Letter]]:
    """A rendered 12-piece batch (read-only: tests that change files copy it)."""
    letters = [letter(k) for k in range(1, 13)]
    out = tmp_path_factory.mktemp("good") / "good.pdf"
    render_batch(letters, out, job_id=JOB)
    return out, letters


def without_code(src: Path, dst: Path, text: str) -> None:
    """``src`` rasterized page by page into ``dst`` with the QR code that decodes to ``text`` painted over;
    the code is found by decoding, wherever it is drawn."""
    images = []
    with pypdfium2.PdfDocument(src) as pdf:
        for page in pdf:
            image = page.render(scale=4).to_pil().convert("L")
            for code in zxingcpp.read_barcodes(image):
                if code.text == text:
                    p = code.position
                    corners = [p.top_left, p.top_right, p.bottom_right, p.bottom_left]
                    ImageDraw.Draw(image).polygon([(c.x, c.y) for c in corners], fill=255, outline=255, width=12)
            images.append(image)
    images[0].save(dst, "PDF", resolution=4 * 72, save_all=True, append_images=images[1:])


def test_good_batch_passes_first_last_and_sample(good: tuple[Path, list[Letter]]) -> None:
    pdf, letters = good
    result = verify_pdf(pdf, pieces(letters), job_id=JOB, sample=4)
    assert result.pages == 12
    assert result.checked[0] == 1 and result.checked[-1] == 12 and len(result.checked) == 6
    assert list(result.checked) == sorted(set(result.checked))
    assert result.as_dict()["checked"] == list(result.checked)
    # Reproducible: the default seed is the file's SHA-256.
    assert verify_pdf(pdf, pieces(letters), job_id=JOB, sample=4).checked == result.checked
    # Tuples serve as well as Piece; a sample larger than the file checks every page.
    every = verify_pdf(pdf, [(x.piece_id, x.booking_code) for x in letters], job_id=JOB, sample=50)
    assert every.checked == tuple(range(1, 13))


@pytest.mark.parametrize(("pages", "sample", "expected"), [(1, 8, (1,)), (2, 8, (1, 2)), (3, 0, (1, 3))])
def test_sample_pages_small_files(pages: int, sample: int, expected: tuple[int, ...]) -> None:
    assert sample_pages(pages, sample, "seed") == expected


def test_sample_pages_seeded() -> None:
    assert sample_pages(5_000, 8, "a") == sample_pages(5_000, 8, "a")
    assert sample_pages(5_000, 8, "a") != sample_pages(5_000, 8, "b")
    assert len(sample_pages(5_000, 8, "a")) == 10


def test_low_resolution_misses_are_read_again(good: tuple[Path, list[Letter]]) -> None:
    pdf, letters = good
    # At 0.5 px/pt no code decodes; each page is read again at the retry scale before it counts as failed.
    assert verify_pdf(pdf, pieces(letters), job_id=JOB, sample=1, scale=0.5).pages == 12


def test_page_count_mismatch_fails(good: tuple[Path, list[Letter]]) -> None:
    pdf, letters = good
    with pytest.raises(VerificationFailed, match=r"12 pages, expected 13 \(13 pieces × 1 page"):
        verify_pdf(pdf, pieces([*letters, letter(13)]), job_id=JOB)
    with pytest.raises(VerificationFailed, match=r"12 pages, expected 24 \(12 pieces × 2 page"):
        verify_pdf(pdf, pieces(letters), job_id=JOB, pages_per_piece=2)


def assert_no_booking_code(failure: VerificationFailed, letters: list[Letter], *urls: str) -> None:
    """Neither the message nor the problems hold a booking code, a booking URL or personal data."""
    for text in (str(failure), *failure.problems):
        for x in letters:
            assert x.booking_code not in text
        for url in (BOOKING_URL, *urls):
            assert url not in text and url.split("//")[1] not in text
        assert "Schmit" not in text and "rue de la Gare" not in text


def test_wrong_booking_code_fails_naming_the_page(good: tuple[Path, list[Letter]]) -> None:
    pdf, letters = good
    expected = pieces(letters)
    expected[6] = Piece(7, "XXXX-XXXX-0007")
    with pytest.raises(VerificationFailed) as failed:
        verify_pdf(pdf, expected, job_id=JOB, sample=50)
    message = str(failed.value)
    assert str(pdf) in message
    assert failed.value.problems == [
        "page 7 (piece 7): booking code: a different code found, of no piece of this batch"
    ]
    assert "XXXX-XXXX-0007" not in message
    assert_no_booking_code(failed.value, letters)


def test_swapped_pieces_fail_on_both_pages(tmp_path: Path) -> None:
    letters = [letter(k) for k in range(1, 6)]
    swapped = [letters[0], letters[2], letters[1], *letters[3:]]
    render_batch(swapped, tmp_path / "swapped.pdf", job_id=JOB)
    with pytest.raises(VerificationFailed) as failed:
        verify_pdf(tmp_path / "swapped.pdf", pieces(letters), job_id=JOB)
    assert failed.value.problems == [
        f"page 2 (piece 2): booking code: the code of piece 3 found instead; "
        f"piece code {piece_code(JOB, 2)}: {piece_code(JOB, 3)} found instead",
        f"page 3 (piece 3): booking code: the code of piece 2 found instead; "
        f"piece code {piece_code(JOB, 3)}: {piece_code(JOB, 2)} found instead",
        # the file's own record boundaries say so too
        f"preflight file: records: record 2 is piece {piece_code(JOB, 3)!r}, expected {piece_code(JOB, 2)!r}",
    ]
    assert_no_booking_code(failed.value, letters)


def test_wrong_job_fails(good: tuple[Path, list[Letter]]) -> None:
    pdf, letters = good
    wrong = piece_code("J20210130", 1)
    with pytest.raises(VerificationFailed, match=re.escape(f"piece code {wrong}: {piece_code(JOB, 1)} found instead")):
        verify_pdf(pdf, pieces(letters), job_id="J20210130", sample=0)


def test_wrong_booking_url_fails_without_showing_it(good: tuple[Path, list[Letter]]) -> None:
    pdf, letters = good
    other = "https://other.example.lu/b/"
    with pytest.raises(VerificationFailed) as failed:
        verify_pdf(pdf, pieces(letters), job_id=JOB, booking_url=other, sample=0)
    assert failed.value.problems == [
        "page 1 (piece 1): booking code: the right code found, under another URL than the booking URL",
        "page 12 (piece 12): booking code: the right code found, under another URL than the booking URL",
    ]
    assert_no_booking_code(failed.value, letters, other)


@pytest.mark.parametrize("which", ["piece code", "booking QR"])
def test_missing_code_fails(good: tuple[Path, list[Letter]], tmp_path: Path, which: str) -> None:
    pdf, letters = good
    gone = piece_code(JOB, 12) if which == "piece code" else BOOKING_URL + letters[11].booking_code
    damaged = tmp_path / "damaged.pdf"
    without_code(pdf, damaged, gone)
    with pytest.raises(VerificationFailed) as failed:
        verify_pdf(damaged, pieces(letters), job_id=JOB, sample=50)
    # every other page of the rasterized copy still passes the codes' check; the copy (a scan: no TrimBox, no
    # fonts) also fails the prepress preflight, reported after the pages' codes
    codes = [p for p in failed.value.problems if not p.startswith("preflight ")]
    after = failed.value.problems[len(codes) :]
    assert after and all(p.startswith("preflight ") for p in after)
    assert "preflight page 1: trim_box: no TrimBox" in failed.value.problems
    [problem] = codes
    what = f"piece code {gone}" if which == "piece code" else "booking code"
    assert problem == f"page 12 (piece 12): {what}: missing"
    assert_no_booking_code(failed.value, letters)


def test_page_problems_name_codes_and_pieces_never_booking_codes() -> None:
    # What a page may hold besides the expected codes: unreadable codes, strays of any kind.
    piece = Piece(2, "7QK2-M0ZD-0002")
    owners = {BOOKING_URL + f"7QK2-M0ZD-000{k}": k for k in (1, 2, 3)}
    booking, own, other = BOOKING_URL + piece.booking_code, piece_code(JOB, 2), piece_code(JOB, 3)

    def problem(found: list[str | None], k: int = 0, pages_per_piece: int = 1) -> str:
        text = _page_problem(
            piece, k, pages_per_piece, found, job_id=JOB, booking_url=BOOKING_URL, booking_owner=owners
        )
        assert "7QK2" not in text and BOOKING_URL not in text and "secret" not in text
        return text

    assert problem([None, own]) == "booking code: unreadable"
    assert problem([booking, None]) == f"piece code {own}: unreadable"
    assert problem([None, None]) == f"booking code: unreadable; piece code {own}: unreadable"
    assert problem([]) == f"booking code: missing; piece code {own}: missing"
    assert problem([BOOKING_URL + "ZZZZ-ZZZZ-ZZZZ", own]) == (
        "booking code: a different code found, of no piece of this batch"
    )
    assert problem([booking, own, booking, other, "secret 7QK2-M0ZD-0002", None, BOOKING_URL + "7QK2-M0ZD-0003"]) == (
        f"5 unexpected codes: booking code of piece 2, piece code {other}, booking code of piece 3, "
        "1 other code, 1 unreadable code"
    )
    # A later page of a piece carries no booking QR: one there is a stray.
    assert problem([booking, piece_code(JOB, 2, 2, 2)], k=1, pages_per_piece=2) == (
        "1 unexpected code: booking code of piece 2"
    )


def test_extra_code_fails(tmp_path: Path) -> None:
    # Two pages of the same piece where one is expected: the file has a page too many.
    render_batch([letter(1), letter(1)], tmp_path / "twice.pdf", job_id=JOB)
    with pytest.raises(VerificationFailed, match="2 pages, expected 1"):
        verify_pdf(tmp_path / "twice.pdf", pieces([letter(1)]), job_id=JOB)


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[: len(b) // 2], lambda b: b[:-500], lambda b: b"", lambda b: b"%PDF-1.4\nnot really\n"],
    ids=["half", "tail-cut", "empty", "garbage"],
)
def test_corrupt_pdf_fails_clearly(good: tuple[Path, list[Letter]], tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    pdf, letters = good
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(damage(pdf.read_bytes()))
    with pytest.raises(VerificationFailed, match=r"broken\.pdf: .*\n  - not a readable PDF, truncated or corrupt"):
        verify_pdf(broken, pieces(letters), job_id=JOB)


def test_missing_file_and_changed_file_fail(good: tuple[Path, list[Letter]], tmp_path: Path) -> None:
    pdf, letters = good
    with pytest.raises(VerificationFailed, match="no such file"):
        verify_pdf(tmp_path / "nothing.pdf", pieces(letters), job_id=JOB)
    with pytest.raises(VerificationFailed, match="the file changed since it was rendered"):
        verify_pdf(pdf, pieces(letters), job_id=JOB, sha256="0" * 64)


# --- release and rejection -------------------------------------------------------------------------


def write_batch(folder: Path, letters: list[Letter]) -> Path:
    """A batch file as cut_batches writes it (every Letter field but the date)."""
    rows = [{k: v for k, v in dataclasses.asdict(x).items() if k != "letter_date"} for x in letters]
    for row in rows:
        row["centre_address"] = list(row["centre_address"])
    path = folder / "batches" / f"{JOB}-0001.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(path)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_verified_batch_is_released(tmp_path: Path) -> None:
    batch = write_batch(tmp_path, [letter(k) for k in range(1, 7)])
    rendered = render_batch_file(batch, DAY).as_dict()
    assert Path(str(rendered["path"])) == tmp_path / "rendered" / f"{JOB}-0001.pdf"
    assert not (tmp_path / "pdf").exists()  # nothing visible to hand-off before verification
    released = verify_batch_file(rendered, DAY)
    path = tmp_path / "pdf" / f"{JOB}-0001.pdf"
    assert released == {
        "path": str(path),
        "pages": 6,
        "pieces": 6,
        "sha256": rendered["sha256"],
        "bytes": rendered["bytes"],
        "checked": [1, 2, 3, 4, 5, 6],
        "preflight": {"profile": "convoc-prepress-2", "result": "passed", "findings": [],
                      "conformance": ["PDF/X-4", "PDF/VT-1"], "records": 6,
                      "document_id": released["preflight"]["document_id"],
                      "fonts": released["preflight"]["fonts"]},
    }  # fmt: skip
    assert released["preflight"]["document_id"].startswith("uuid:")
    assert [f.split("+")[1] for f in released["preflight"]["fonts"]] == ["DejaVuSans", "DejaVuSansMono",
                                                                          "DejaVuSans-Bold"]  # fmt: skip
    assert path.is_file() and not Path(str(rendered["path"])).exists()
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    # Verifying again (a cleared task) checks the released file where it lies.
    assert verify_batch_file(rendered, DAY) == released
    # Rendering the batch again withdraws the release until it is verified again.
    render_batch_file(batch, DAY)
    assert not path.exists()
    assert verify_batch_file(tmp_path / "rendered" / f"{JOB}-0001.pdf", DAY) == released


def test_failed_batch_is_rejected_not_released(tmp_path: Path) -> None:
    letters = [letter(k) for k in range(1, 7)]
    batch = write_batch(tmp_path, letters)
    rendered = render_batch_file(batch, DAY).as_dict()
    # The batch file now expects another code for piece 4 than the one printed.
    frame = pl.read_parquet(batch)
    frame.with_columns(
        pl.when(pl.col("piece_id") == 4).then(pl.lit("XXXX-XXXX-0004")).otherwise("booking_code").alias("booking_code")
    ).write_parquet(batch)
    with pytest.raises(VerificationFailed, match=r"page 4 \(piece 4\)"):
        verify_batch_file(rendered, DAY)
    stem = f"{JOB}-0001"
    assert not (tmp_path / "pdf" / f"{stem}.pdf").exists()
    assert not (tmp_path / "rendered" / f"{stem}.pdf").exists()
    rejected, reason = tmp_path / "rejected" / f"{stem}.pdf", tmp_path / "rejected" / f"{stem}.reason.txt"
    assert rejected.is_file() and mode(rejected) == 0o600 and mode(rejected.parent) == 0o700
    text = reason.read_text(encoding="utf-8")
    assert mode(reason) == 0o600
    assert f"{stem}.pdf" in text and "page 4 (piece 4): booking code: a different code found" in text
    assert "XXXX-XXXX-0004" not in text and "M0ZD" not in text and BOOKING_URL not in text  # no booking code
    assert "Schmit" not in text
    # Rendering the batch again clears the rejection.
    render_batch_file(batch, DAY)
    assert not rejected.exists() and not reason.exists()


def test_released_batch_that_fails_again_is_withdrawn(tmp_path: Path) -> None:
    batch = write_batch(tmp_path, [letter(k) for k in range(1, 4)])
    released = verify_batch_file(render_batch_file(batch, DAY).as_dict(), DAY)
    Path(released["path"]).write_bytes(b"overwritten")
    with pytest.raises(VerificationFailed, match="the file changed since it was rendered"):
        verify_batch_file({**released, "path": str(tmp_path / "rendered" / f"{JOB}-0001.pdf")}, DAY)
    assert not Path(released["path"]).exists()
    assert (tmp_path / "rejected" / f"{JOB}-0001.reason.txt").is_file()


def test_missing_batch_file_fails_clearly(tmp_path: Path) -> None:
    batch = write_batch(tmp_path, [letter(1)])
    rendered = render_batch_file(batch, DAY).as_dict()
    batch.unlink()
    with pytest.raises(Exception, match=r"batch file .* is missing; cut the day's batches again"):
        verify_batch_file(rendered, DAY)


def test_a_batch_with_large_print_pieces_is_verified_by_the_pages_each_piece_takes(tmp_path: Path) -> None:
    large = {"format": "large_print"}
    letters = [letter(1), dataclasses.replace(letter(2), **large), letter(4), dataclasses.replace(letter(3), **large)]
    pdf = tmp_path / "mixed.pdf"
    render_batch(letters, pdf, job_id=JOB)  # piece 3's language is unknown: French and German, three pages
    counts = [1, 2, 1, 3]
    verified = verify_pdf(pdf, pieces(letters), job_id=JOB, pages_per_piece=counts, sample=0)
    assert verified.pages == 7 and verified.checked == (1, 2, 3, 7)  # first, last, every page of the first long one
    assert verified.preflight is not None and verified.preflight["records"] == 4
    with pytest.raises(VerificationFailed, match=r"7 pages, expected 4 \(4 pieces × 1 page\(s\) per piece\)"):
        verify_pdf(pdf, pieces(letters), job_id=JOB)
    # the right total, split wrongly: the pages carry other piece codes, and the records say so too
    with pytest.raises(VerificationFailed) as failed:
        verify_pdf(pdf, pieces(letters), job_id=JOB, pages_per_piece=[2, 1, 1, 3], sample=0)
    assert failed.value.problems[0] == f"page 1 (piece 1): piece code {JOB}|1|1/2: {JOB}|1|1/1 found instead"
    assert (
        failed.value.problems[-1] == f"preflight file: records: record 1 is piece '{JOB}|1|1/1', expected '{JOB}|1|1/2'"
    )
    assert_no_booking_code(failed.value, letters)
    # through the batch file: its pages column is what verification holds the PDF to
    batch = write_batch(tmp_path / "day", letters)
    pl.read_parquet(batch).with_columns(pl.Series("pages", counts, dtype=pl.Int16)).write_parquet(batch)
    released = verify_batch_file(render_batch_file(batch, DAY).as_dict(), DAY)
    assert (released["pages"], released["pieces"]) == (7, 4)
    pl.read_parquet(batch).with_columns(pl.Series("pages", [1, 2, 1, 2], dtype=pl.Int16)).write_parquet(batch)
    with pytest.raises(ConvocError, match=r"piece 3 takes 3 pages, its batch file says 2"):
        render_batch_file(batch, DAY)
