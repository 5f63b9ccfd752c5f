"""Print jobs built from real rendered PDFs: manifests, inserter run file and ticket against the files."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import date
from pathlib import Path

import polars as pl
import pypdfium2
import pytest
from print_jobs import BATCHES, JOB, POSTCODES, REPRINT, letter, modes, print_root, rendered, write_batch

from convoc.handoff.job import (
    FORMAT,
    MANIFEST_CSV_COLUMNS,
    RUN_COLUMNS,
    JobError,
    Stock,
    build_job,
    parse_job_id,
    presort_zone,
    read_manifest,
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pages(path: Path) -> int:
    pdf = pypdfium2.PdfDocument(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_manifest_run_file_and_ticket_describe_the_pdfs(print_root: Path, tmp_path: Path) -> None:
    built = build_job(print_root, JOB, tmp_path / "staging")
    job = tmp_path / "staging" / JOB
    assert built.path == job
    pdfs = [f"{stem}.pdf" for stem in BATCHES]
    assert sorted(p.name for p in job.iterdir()) == sorted(
        [*pdfs, "inserter_run.csv", "job_ticket.json", "manifest.csv", "manifest.json"]
    )
    released = print_root / "20210129" / "pdf"
    for name in pdfs:  # byte for byte the released PDFs
        assert (job / name).read_bytes() == (released / name).read_bytes()

    manifest = read_manifest(job)
    assert manifest["format"] == FORMAT
    assert (manifest["job_id"], manifest["origin_job_id"], manifest["kind"], manifest["reprint"]) == (
        JOB, JOB, "original", False)  # fmt: skip
    assert (manifest["wave_date"], manifest["handoff_date"]) == ("2021-01-29", "2021-01-29")
    assert manifest["campaigns"] == {"booster": 2, "vaccination": 7}
    assert (manifest["plex"], manifest["pages_per_piece"], manifest["sheets_per_piece"]) == ("simplex", 1, 1)
    for entry, (stem, ids) in zip(manifest["files"], BATCHES.items(), strict=True):
        pdf = job / entry["name"]
        assert entry["name"] == f"{stem}.pdf"
        assert entry["sha256"] == _sha(pdf) and entry["bytes"] == pdf.stat().st_size
        assert entry["pages"] == _pages(pdf) == len(ids) == entry["pieces"] == entry["sheets"]
        assert (entry["first_piece"], entry["last_piece"]) == (ids[0], ids[-1])
    assert manifest["files"][1]["campaigns"] == {"booster": 1, "vaccination": 3}
    assert {d["name"]: d["sha256"] for d in manifest["documents"]} == {
        n: _sha(job / n) for n in ("inserter_run.csv", "job_ticket.json", "manifest.csv")
    }
    assert manifest["presort"] == {"L-16": 3, "L-20": 1, "L-40": 3, "L-80": 1, "L-99": 1}
    assert manifest["totals"] == {
        "files": 2, "pieces": 9, "envelopes": 9, "pages": 9, "sheets": 9,
        "bytes": sum((job / n).stat().st_size for n in pdfs)}  # fmt: skip
    assert built.manifest_sha256 == _sha(job / "manifest.json")
    assert (built.files, built.pieces, built.pages, built.sheets, built.kind) == (2, 9, 9, 9, "original")

    run = _csv(job / "inserter_run.csv")
    assert tuple(run[0]) == RUN_COLUMNS
    batch_rows = pl.concat(
        [pl.read_parquet(print_root / "20210129" / "batches" / f"{stem}.parquet") for stem in BATCHES]
    )
    assert [int(r["piece_id"]) for r in run] == batch_rows["piece_id"].to_list() == list(range(1, 10))
    assert [int(r["envelope"]) for r in run] == list(range(1, 10))
    assert [(r["file"], int(r["first_page"])) for r in run] == [
        (f"{stem}.pdf", k) for stem, ids in BATCHES.items() for k in range(1, len(ids) + 1)
    ]
    assert {(r["pages"], r["sheets"]) for r in run} == {("1", "1")}
    assert [r["presort_key"] for r in run] == POSTCODES
    assert [r["presort_zone"] for r in run][:3] == ["L-16", "L-16", "L-16"]

    rows = _csv(job / "manifest.csv")
    assert tuple(rows[0]) == MANIFEST_CSV_COLUMNS
    files = [r for r in rows if r["record"] == "file"]
    assert [(r["name"], r["sha256"], int(r["pages"]), int(r["first_piece"]), int(r["last_piece"])) for r in files] == [
        (e["name"], e["sha256"], e["pages"], e["first_piece"], e["last_piece"]) for e in manifest["files"]
    ]
    assert {r["job_id"] for r in rows} == {JOB} and {r["wave_date"] for r in rows} == {"2021-01-29"}
    assert {r["name"]: int(r["pieces"]) for r in rows if r["record"] == "presort"} == manifest["presort"]
    assert {r["campaign"]: int(r["pieces"]) for r in rows if r["record"] == "campaign"} == manifest["campaigns"]
    assert [r["name"] for r in rows if r["record"] == "document"] == ["inserter_run.csv", "job_ticket.json"]
    (total,) = [r for r in rows if r["record"] == "total"]
    assert (int(total["pieces"]), int(total["pages"]), int(total["sheets"])) == (9, 9, 9)

    ticket = json.loads((job / "job_ticket.json").read_text(encoding="utf-8"))
    assert ticket["plex"] == "simplex" and "A4" in ticket["paper"] and "window" in ticket["envelope"]
    assert ticket["quantities"] == {"files": 2, "envelopes": 9, "pages": 9, "sheets": 9}
    assert (ticket["reprint"], ticket["sheets_per_envelope"], ticket["print_files"]) == (False, 1, pdfs)

    assert modes(tmp_path / "staging") == {("dir", 0o700), ("file", 0o600)}


def test_no_names_or_addresses_outside_the_pdfs(print_root: Path, tmp_path: Path) -> None:
    job = build_job(print_root, JOB, tmp_path / "staging").path
    for name in ("inserter_run.csv", "job_ticket.json", "manifest.csv", "manifest.json"):
        text = (job / name).read_text(encoding="utf-8")
        assert "Schmit" not in text and "rue de la Gare" not in text and "7QK2" not in text


def test_building_again_gives_the_same_bytes_and_leaves_nothing_aside(print_root: Path, tmp_path: Path) -> None:
    first = build_job(print_root, JOB, tmp_path / "staging")
    before = {p.name: p.read_bytes() for p in first.path.iterdir()}
    second = build_job(print_root, JOB, tmp_path / "staging")
    assert second == first
    assert {p.name: p.read_bytes() for p in second.path.iterdir()} == before
    assert [p.name for p in (tmp_path / "staging").iterdir()] == [JOB]


def test_pages_per_piece_come_from_the_pdf_and_duplex_halves_the_sheets(tmp_path: Path) -> None:
    # Six pages for three pieces: two pages per piece.
    folder = tmp_path / "print" / "20210129"
    write_batch(folder, f"{JOB}-0001", [letter(k) for k in (1, 2, 3)],
                pdf_letters=[letter(k) for k in (1, 1, 2, 2, 3, 3)], pages=False)  # fmt: skip
    simplex = build_job(tmp_path / "print", JOB, tmp_path / "simplex")
    run = _csv(simplex.path / "inserter_run.csv")
    assert [(int(r["first_page"]), int(r["pages"]), int(r["sheets"])) for r in run] == [(1, 2, 2), (3, 2, 2), (5, 2, 2)]
    assert (simplex.pages, simplex.sheets) == (6, 6)
    duplex = build_job(tmp_path / "print", JOB, tmp_path / "duplex", stock=Stock(plex="duplex"))
    assert (duplex.pages, duplex.sheets) == (6, 3)
    assert json.loads((duplex.path / "job_ticket.json").read_bytes())["sheets_per_envelope"] == 1
    with pytest.raises(JobError, match=r"6 pages for the 3 pieces .* expected 3 pages per piece"):
        build_job(tmp_path / "print", JOB, tmp_path / "other", pages_per_piece=3)


def test_large_print_pieces_take_their_pages_in_the_presort_sequence(tmp_path: Path) -> None:
    folder = tmp_path / "print" / "20210129"
    large = {"format": "large_print"}
    write_batch(folder, f"{JOB}-0001", [letter(1), letter(2, **large), letter(3), letter(4, language=None, **large)])
    write_batch(folder, f"{JOB}-0002", [letter(5), letter(6)])
    built = build_job(tmp_path / "print", JOB, tmp_path / "staging")
    run = [(r["piece_id"], r["file"][-8:], int(r["first_page"]), int(r["pages"]), int(r["sheets"]))
           for r in _csv(built.path / "inserter_run.csv")]  # fmt: skip
    assert run == [("1", "0001.pdf", 1, 1, 1), ("2", "0001.pdf", 2, 2, 2), ("3", "0001.pdf", 4, 1, 1),
                   ("4", "0001.pdf", 5, 3, 3), ("5", "0002.pdf", 1, 1, 1), ("6", "0002.pdf", 2, 1, 1)]  # fmt: skip
    assert (built.pieces, built.pages, built.sheets) == (6, 9, 9)
    assert _pages(built.path / f"{JOB}-0001.pdf") == 7
    ticket = json.loads((built.path / "job_ticket.json").read_bytes())
    assert (ticket["pages_per_piece"], ticket["sheets_per_envelope"]) == (None, None)  # it varies: see the run file
    assert ticket["envelopes_by_pages"] == {"1": 4, "2": 1, "3": 1}
    manifest = read_manifest(built.path)
    assert manifest["formats"] == {"large_print": 2, "standard": 4} and manifest["envelopes_by_pages"]["3"] == 1
    assert [(f["pieces"], f["pages"], f["sheets"]) for f in manifest["files"]] == [(4, 7, 7), (2, 2, 2)]
    duplex = build_job(tmp_path / "print", JOB, tmp_path / "duplex", stock=Stock(plex="duplex"))
    assert (duplex.pages, duplex.sheets) == (9, 7)  # 2 and 3 pages take 1 and 2 sheets
    # a batch file whose pages do not add up to its PDF's is refused
    batch = folder / "batches" / f"{JOB}-0001.parquet"
    pl.read_parquet(batch).with_columns(pl.lit(1).alias("pages")).write_parquet(batch)
    with pytest.raises(JobError, match=r"7 pages for the 4 pieces of .*0001.parquet, which take 4"):
        build_job(tmp_path / "print", JOB, tmp_path / "other")


def test_a_reprint_is_a_job_of_its_own(print_root: Path, tmp_path: Path) -> None:
    with pytest.raises(JobError, match="give the day it is handed off"):
        build_job(print_root, REPRINT, tmp_path / "staging")
    built = build_job(print_root, REPRINT, tmp_path / "staging", handoff_date=date(2021, 2, 1))
    assert (built.path.name, built.kind, built.origin_job_id, built.pieces) == (REPRINT, "reprint", JOB, 2)
    manifest = read_manifest(built.path)
    assert (manifest["reprint"], manifest["kind"], manifest["wave_date"], manifest["handoff_date"]) == (
        True, "reprint", "2021-01-29", "2021-02-01")  # fmt: skip
    assert json.loads((built.path / "job_ticket.json").read_bytes())["reprint"] is True
    assert [r["piece_id"] for r in _csv(built.path / "inserter_run.csv")] == ["2", "7"]


def _reject(folder: Path) -> None:
    (folder / "pdf" / f"{JOB}-0002.pdf").unlink()
    (folder / "rejected").mkdir()
    (folder / "rejected" / f"{JOB}-0002.reason.txt").write_text("page 3: piece code missing\n")


def _stray(folder: Path) -> None:
    (folder / "pdf" / f"{JOB}-0003.pdf").write_bytes((folder / "pdf" / f"{JOB}-0001.pdf").read_bytes())


def _foreign(folder: Path) -> None:
    for sub, ext in (("batches", "parquet"), ("pdf", "pdf")):
        (folder / sub / f"{JOB}-0002.{ext}").rename(folder / sub / f"J20210130-0002.{ext}")


def _pages_off(folder: Path) -> None:
    write_batch(folder, f"{JOB}-0002", [letter(k) for k in (6, 7, 8, 9)], pdf_letters=[letter(k) for k in (6, 7, 8)])


def _twice(folder: Path) -> None:
    write_batch(folder, f"{JOB}-0002", [letter(k) for k in (5, 6, 7)])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_reject, rf"{JOB}-0002.parquet has no released PDF .*rejected, see .*{JOB}-0002.reason.txt"),
        (_stray, rf"{JOB}-0003.pdf has no batch file"),
        (_foreign, r"J20210130-0002.pdf belongs to job J20210130, not J20210129"),
        (_pages_off, rf"{JOB}-0002.pdf: 3 pages for the 4 pieces"),
        (_twice, r"piece 5 occurs twice in job J20210129"),
    ],
)
def test_refused_jobs_leave_the_last_build_as_it_was(
    print_root: Path, tmp_path: Path, damage: object, message: str
) -> None:
    good = build_job(print_root, JOB, tmp_path / "staging")
    before = {p.name: p.read_bytes() for p in good.path.iterdir()}
    damage(print_root / "20210129")  # type: ignore[operator]
    with pytest.raises(JobError, match=message):
        build_job(print_root, JOB, tmp_path / "staging")
    assert {p.name: p.read_bytes() for p in good.path.iterdir()} == before
    assert [p.name for p in (tmp_path / "staging").iterdir()] == [JOB]


def test_nothing_to_build(tmp_path: Path) -> None:
    with pytest.raises(JobError, match="no batch files"):
        build_job(tmp_path / "print", JOB, tmp_path / "staging")
    with pytest.raises(JobError, match="not a print job id"):
        build_job(tmp_path / "print", "J2021-01-29", tmp_path / "staging")


@pytest.mark.parametrize(
    ("postcode", "zone"),
    [("L-1611", "L-16"), ("1611", "L-16"), ("l-9990", "L-99"), ("", "other"), ("D-54290", "other")],
)
def test_presort_zone(postcode: str, zone: str) -> None:
    assert presort_zone(postcode) == zone


def test_parse_job_id() -> None:
    assert parse_job_id("J20210129-R12").reprint == 12
    assert parse_job_id("J20210129").origin_job_id == "J20210129"
    with pytest.raises(JobError, match="not a date"):
        parse_job_id("J20211329")


def test_the_manifest_records_each_files_preflight_from_its_release(print_root: Path, tmp_path: Path) -> None:
    from convoc.letters.batches import verify_batch_file

    first, second = (f"{stem}.pdf" for stem in BATCHES)
    released = print_root / "20210129" / "pdf"
    verified = verify_batch_file(released / first, date(2021, 1, 29))  # what verification writes at release
    assert verified["preflight"]["result"] == "passed"
    build_job(print_root, JOB, tmp_path / "staging")
    files = {f["name"]: f for f in read_manifest(tmp_path / "staging" / JOB)["files"]}
    assert files[first]["preflight"] == {
        "profile": "convoc-prepress-2",
        "result": "passed",
        "conformance": ["PDF/X-4", "PDF/VT-1"],
        "document_id": verified["preflight"]["document_id"],
        "records": len(next(iter(BATCHES.values()))),
        "fonts": verified["preflight"]["fonts"],
    }
    assert files[second]["preflight"] is None  # released without a preflight: the manifest claims none
    # a record for other bytes than the file's (the PDF changed since) is not claimed either
    record = print_root / "20210129" / "preflight" / f"{next(iter(BATCHES))}.json"
    record.write_text(record.read_text().replace(_sha(released / first), "0" * 64))
    build_job(print_root, JOB, tmp_path / "staging")
    assert read_manifest(tmp_path / "staging" / JOB)["files"][0]["preflight"] is None


def test_a_job_whose_files_conflict_for_prepress_is_refused(print_root: Path, tmp_path: Path) -> None:
    """Each file passes its own preflight; only the job sees that two files name different subsets alike or
    share a document id — a RIP merging them would print wrong glyphs or take one file for the other."""
    from convoc.letters.batches import verify_batch_file

    released = print_root / "20210129" / "pdf"
    records = {}
    for stem in BATCHES:
        verify_batch_file(released / f"{stem}.pdf", date(2021, 1, 29))
        records[stem] = print_root / "20210129" / "preflight" / f"{stem}.json"
    first, second = (json.loads(records[stem].read_text()) for stem in BATCHES)
    assert build_job(print_root, JOB, tmp_path / "staging").files == 2  # as rendered: no conflict
    # the same subset name for another program in the second file
    font = next(iter(first["fonts"]))
    changed = {**second, "fonts": {**second["fonts"], font: "f" * 64}}
    records[list(BATCHES)[1]].write_text(json.dumps(changed))
    with pytest.raises(JobError, match=rf"{font.replace('+', '[+]')} names different font programs in"):
        build_job(print_root, JOB, tmp_path / "staging")
    records[list(BATCHES)[1]].write_text(json.dumps({**second, "document_id": first["document_id"]}))
    with pytest.raises(JobError, match="carry the same document id"):
        build_job(print_root, JOB, tmp_path / "staging")
