"""A landing file read in pieces and validated in chunks gives exactly what it gives read and validated whole:
the same parked rows, the same rejects (the generator's truth), the same file verdicts — memory holds one
piece or chunk, whatever the file's size."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from conftest import matricule, person, write_register

from convoc.quality.validate import Previous, Verdict, chunk_sizes, validate_files
from convoc.sources.extract import Extracted, extract, find_landing_files
from convoc_dev.synth import generate
from convoc_dev.synth.defects import RULES

DAY = date(2021, 1, 29)


def _extract(landing: Path, work: Path, block_bytes: int) -> Extracted:
    register = next(f for f in find_landing_files(landing, DAY) if f.source == "register")
    return extract(register, work, block_bytes=block_bytes)


def _validate(ex: Extracted, work: Path, chunk_rows: int, **kw: object) -> Verdict:
    [verdict] = validate_files(
        [ex], day=DAY, work_dir=work, previous=kw.pop("previous", {}), max_row_change=0.05, chunk_rows=chunk_rows
    )
    return verdict


def _sorted(path: Path) -> pl.DataFrame:
    return pl.read_parquet(path).sort(pl.all(), nulls_last=True)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate(residents=3_000, seed=11, out=out, start_date=DAY, days=1, defects=0.02)
    return out


def test_a_damaged_register_in_pieces_and_chunks_gives_the_truth_and_what_it_gives_whole(
    landing: Path, tmp_path: Path
) -> None:
    whole = _extract(landing, tmp_path / "whole", block_bytes=1 << 30)
    pieces = _extract(landing, tmp_path / "pieces", block_bytes=8_000)  # ≈ 75 lines a piece, 40 pieces
    assert pieces.sha256 == whole.sha256 and (pieces.rows, pieces.parsed) == (whole.rows, whole.parsed)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(pieces.parquet).num_row_groups >= 30
    assert pl.read_parquet(pieces.parquet).equals(pl.read_parquet(whole.parquet))
    assert _sorted(pieces.rejects).equals(_sorted(whole.rejects))

    one = _validate(whole, tmp_path / "whole", chunk_rows=1_000_000)
    many = _validate(pieces, tmp_path / "pieces", chunk_rows=250)  # 12 chunks
    assert (one.refusals, many.refusals) == ((), ())
    assert _sorted(many.rejects).equals(_sorted(one.rejects))
    assert many.rejected_rows == one.rejected_rows

    truth = pl.read_csv(landing / "_truth" / "defects_20210129.csv", infer_schema=False)
    assert set(truth["rule"]) == set(RULES)
    expected = truth.select("file", pl.col("line").cast(pl.Int64), "column", "rule").rows()
    found = pl.read_parquet(many.rejects).select("source_file", "line_number", "column_name", "rule").rows()
    assert sorted(found, key=repr) == sorted(expected, key=repr)
    # The duplicates the chunks could not see alone were found across them.
    duplicates = truth.filter(pl.col("rule") == "duplicate_matricule")["line"].cast(pl.Int64)
    assert duplicates.len() >= 2 and (duplicates // 250).n_unique() > 1


def test_repeats_in_different_chunks_are_quarantined_every_one(tmp_path: Path) -> None:
    rows = [person(i) for i in range(1, 31)]
    twice = matricule("19600101", 5)
    for i in (2, 17, 29):  # lines 3, 18, 30: chunks 1, 2 and 3 of ten rows
        rows[i]["matricule"] = twice
    rows[5]["matricule"] = rows[6]["matricule"]  # lines 7 and 8: within chunk 1
    write_register(tmp_path / "landing" / "register_20210129.csv", rows)
    verdict = _validate(_extract(tmp_path / "landing", tmp_path / "work", 1 << 20), tmp_path / "work", chunk_rows=10)
    rejects = pl.read_parquet(verdict.rejects)
    assert sorted(rejects.select("line_number", "rule").rows()) == [
        (line, "duplicate_matricule") for line in (4, 7, 8, 19, 31)
    ]
    assert rejects["value_masked"].to_list() == ["9999999999999"] * 5


def test_file_rules_see_the_whole_file_whatever_the_chunks(tmp_path: Path) -> None:
    write_register(tmp_path / "landing" / "register_20210129.csv", [person(i) for i in range(1, 26)])
    ex = _extract(tmp_path / "landing", tmp_path / "work", 1 << 20)
    # 25 rows against 24 before: +4.2 %, within ±5 %, though no chunk (13 and 12 rows) holds anything near 24.
    assert _validate(ex, tmp_path / "work", 10, previous={"register": Previous("r.csv", 24)}).refusals == ()
    refused = _validate(ex, tmp_path / "work", 10, previous={"register": Previous("r.csv", 20)})
    assert refused.refusals[0].startswith("register_20210129.csv: 25 rows, +25.0% against the previous snapshot")
    assert pl.read_parquet(refused.rejects).height == 0  # a refused file quarantines nothing


@pytest.mark.parametrize(
    ("rows", "chunk_rows", "sizes"),
    [
        (0, 10, [0]),  # an empty file: one empty chunk (the file rules still run)
        (9, 10, [9]),
        (19, 10, [19]),  # fewer than twice the chunk: whole
        (20, 10, [10, 10]),
        (25, 10, [13, 12]),
        (650_000, 350_000, [650_000]),  # Luxembourg's register: one GX run
        (6_500_000, 350_000, [361_112] * 2 + [361_111] * 16),
    ],
)
def test_a_file_is_cut_into_chunks_of_the_size_to_twice_it(rows: int, chunk_rows: int, sizes: list[int]) -> None:
    found = chunk_sizes(rows, chunk_rows)
    assert found == sizes and sum(found) == rows
    assert all(chunk_rows <= size < 2 * chunk_rows for size in found) or len(found) == 1
