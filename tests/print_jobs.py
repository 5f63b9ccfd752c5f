"""Print folders for the hand-off tests: real rendered batch PDFs and their batch files, laid out as the
letters stage leaves them (``<print root>/<day>/batches/`` and released ``pdf/``)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from convoc.letters.render import Letter, load_templates, piece_pages, render_batch

DAY = date(2021, 1, 29)
JOB = "J20210129"
REPRINT = "J20210129-R1"
# Pieces in presort order (postcode, then street and number), two campaigns.
POSTCODES = ["L-1611", "L-1611", "L-1650", "L-2012", "L-4001", "L-4001", "L-4011", "L-8001", "L-9990"]
BATCHES = {f"{JOB}-0001": [1, 2, 3, 4, 5], f"{JOB}-0002": [6, 7, 8, 9]}


def letter(piece_id: int, **changes: object) -> Letter:
    base = Letter(
        piece_id=piece_id,
        invitation_id=f"{'booster' if piece_id % 4 == 0 else 'vaccination'}:1:{piece_id}:1",
        campaign="booster" if piece_id % 4 == 0 else "vaccination",
        language="fr",
        family_name="Schmit",
        given_name="Marie",
        street="rue de la Gare",
        house_number=str(piece_id),
        postcode=POSTCODES[piece_id - 1],
        locality="Luxembourg",
        booking_code=f"7QK2-M0ZD-{piece_id:04d}",
        valid_from=date(2021, 2, 1),
        valid_until=date(2021, 2, 14),
        letter_date=DAY,
        centre_name="Hall Victor Hugo",
        centre_address=("60, avenue Victor Hugo", "L-1750 Luxembourg"),
        phase="2a",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def write_batch(
    folder: Path, stem: str, letters: list[Letter], *, pdf_letters: list[Letter] | None = None, pages: bool = True
) -> Path:
    """``folder/batches/<stem>.parquet`` (the letters, as cut_batches writes them: with the pages each takes,
    unless ``pages`` is False — a batch cut before formats) and the released ``folder/pdf/<stem>.pdf`` rendered
    from ``pdf_letters`` (default: the same letters)."""
    for sub in ("batches", "pdf"):
        (folder / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    rows = [
        {k: (list(v) if k == "centre_address" else v) for k, v in dataclasses.asdict(x).items() if k != "letter_date"}
        for x in letters
    ]
    if pages:
        templates = load_templates(letters)
        for row, x in zip(rows, letters, strict=True):
            row["pages"] = piece_pages(x, templates)
    pl.DataFrame(rows).write_parquet(folder / "batches" / f"{stem}.parquet")
    job_id = stem.rpartition("-")[0]
    pdf = folder / "pdf" / f"{stem}.pdf"
    render_batch(pdf_letters or letters, pdf, job_id=job_id)
    return pdf


def make_day(print_root: Path, **changes: object) -> Path:
    """The day's folder of job J20210129: two released batches (pieces 1–5 and 6–9)."""
    folder = print_root / f"{DAY:%Y%m%d}"
    for stem, ids in BATCHES.items():
        write_batch(folder, stem, [letter(k, **changes) for k in ids])
    return folder


def make_reprint(print_root: Path, pieces: tuple[int, ...] = (2, 7)) -> Path:
    """Reprint J20210129-R1 of ``pieces``, where write_reprint_batch and verify_batch_file leave it."""
    folder = print_root / f"{DAY:%Y%m%d}" / "reprints" / REPRINT
    write_batch(folder, f"{REPRINT}-0001", [letter(k) for k in pieces])
    return folder


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def modes(root: Path) -> set[tuple[str, int]]:
    """(kind, permission bits) of ``root`` and everything under it."""
    found = {("dir", os.stat(root).st_mode & 0o777)}
    for path in root.rglob("*"):
        found.add(("dir" if path.is_dir() else "file", path.stat().st_mode & 0o777))
    return found


# Fixtures shared by the hand-off tests (imported by name: a conftest.py here would shadow tests/conftest.py,
# which other test modules import from).
@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A print root with job J20210129 and its reprint J20210129-R1, rendered once per module."""
    root = tmp_path_factory.mktemp("rendered") / "print"
    make_day(root)
    make_reprint(root)
    return root


@pytest.fixture
def print_root(rendered: Path, tmp_path: Path) -> Path:
    """A private copy of ``rendered`` for one test."""
    return copy_tree(rendered, tmp_path / "print")
