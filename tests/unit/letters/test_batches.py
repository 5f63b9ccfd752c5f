"""Print batches from a real small wave: presort order, sizes, each letter once, rendered, verified, recorded."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from convoc import ingest, warehouse
from convoc.campaigns import load_centres
from convoc.config import Settings
from convoc.errors import ConvocError
from convoc.letters.batches import cut_batches, record_batches, render_batch_file, verify_batch_file
from convoc.waves.run import run_waves
from convoc_dev.synth import generate

DAY = date(2021, 1, 29)


@pytest.fixture
def waved(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CONVOC_CAPACITY_SCALE", "0.005")
    generate(residents=2_500, seed=9, out=settings.landing, start_date=DAY)
    extracted = ingest.extract_day(settings, DAY)
    ingest.load_day(settings, extracted, ingest.validate_day(settings, extracted, DAY), DAY)
    run_waves(Settings.from_env(), DAY, b"b" * 32)
    return Settings.from_env()


def test_batches_presorted_sized_and_complete(waved: Settings) -> None:
    with warehouse.connect(waved.warehouse) as con:
        letters = con.execute(
            "select count(*) from core.fct_invitation where wave_date = $d and channel <> 'email'", {"d": DAY}
        ).fetchall()
        paths = cut_batches(con, DAY, waved.print_root, load_centres(), batch_size=40)
    total = letters[0][0]
    assert total > 80
    frames = [pl.read_parquet(p) for p in paths]
    assert [f.height for f in frames[:-1]] == [40] * (len(frames) - 1) and 0 < frames[-1].height <= 40
    allp = pl.concat(frames)
    assert allp.height == total and allp["invitation_id"].n_unique() == total
    assert allp["piece_id"].to_list() == list(range(1, total + 1))
    assert allp["postcode"].to_list() == sorted(allp["postcode"].to_list())  # postal presort
    # within a postcode: street, house number (its number, then as written), invitation
    presort = allp.with_columns(
        pl.col("house_number").str.extract(r"^([0-9]+)").cast(pl.Int32, strict=False).alias("number")
    ).sort(
        ["postcode", "street", "number", "house_number", "invitation_id"],
        nulls_last=[True, True, False, True, True],
    )
    assert presort["invitation_id"].to_list() == allp["invitation_id"].to_list()
    assert allp.group_by("postcode").agg(pl.col("house_number").n_unique())["house_number"].max() > 1  # discriminates
    assert stat.S_IMODE(os.stat(paths[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(paths[0].parent).st_mode) == 0o700


def test_a_day_of_more_batches_than_airflow_maps_gets_larger_batches(
    waved: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with warehouse.connect(waved.warehouse) as con:
        total = con.execute(
            "select count(*) from core.fct_invitation where wave_date = $d and channel <> 'email'", {"d": DAY}
        ).fetchall()[0][0]
        paths = cut_batches(con, DAY, waved.print_root, load_centres(), batch_size=10, max_batches=3)
        heights = [pl.read_parquet(p).height for p in paths]
        assert len(cut_batches(con, DAY, waved.print_root, load_centres(), batch_size=total, max_batches=1)) == 1
    wider = -(-total // 3)
    assert total > 30 and heights == [wider, wider, total - 2 * wider]
    assert f"batches of {wider} today" in caplog.text and "more than the 3 tasks Airflow maps at most" in caplog.text


def test_render_verify_and_record(waved: Settings) -> None:
    with warehouse.connect(waved.warehouse) as con:
        paths = cut_batches(con, DAY, waved.print_root, load_centres(), batch_size=60)
    rendered = [render_batch_file(p, DAY).as_dict() for p in paths]
    cut = pl.concat([pl.read_parquet(p) for p in paths])
    # one page per standard letter, more for a large-print one (the generated preferences hold some)
    assert cut.group_by("format").agg(pl.col("pages").min().alias("least"), pl.col("pages").max().alias("most")).sort(
        "format").rows() == [("large_print", 2, 2), ("standard", 1, 1)]  # fmt: skip
    assert [r["pages"] for r in rendered] == [int(pl.read_parquet(p)["pages"].sum()) for p in paths]
    assert [r["pieces"] for r in rendered] == [pl.read_parquet(p).height for p in paths]
    folder = waved.print_root / "20210129"
    assert all(Path(str(r["path"])).parent == folder / "rendered" for r in rendered)
    # Not released, so not recorded.
    with warehouse.connect(waved.warehouse) as con, pytest.raises(ConvocError, match="not a released PDF"):
        record_batches(con, DAY, rendered)
    results = [verify_batch_file(r, DAY) for r in rendered]
    assert [Path(r["path"]) for r in results] == [folder / "pdf" / f"{p.stem}.pdf" for p in paths]
    assert all(Path(r["path"]).is_file() and r["checked"][0] == 1 for r in results)
    assert list((folder / "rendered").iterdir()) == []
    with warehouse.connect(waved.warehouse) as con, warehouse.transaction(con):
        assert record_batches(con, DAY, results) == len(paths)
    with duckdb.connect(str(waved.warehouse), read_only=True) as con:
        batches = con.execute("select count(*), sum(pieces), min(first_piece) from core.fct_print_batch").fetchall()
        recorded = con.execute("select path from core.fct_print_batch order by path").fetchall()
        unprinted = con.execute(
            "select count(*) from core.dim_invitation_current where wave_date = $d and piece_id is null "
            "and channel <> 'email'",  # an invitation by e-mail only has no letter
            {"d": DAY},
        ).fetchall()
        letters = con.execute(
            "select print_batch, piece_id, invitation_id, job_id from core.fct_print_batch_letter order by piece_id"
        ).fetchall()
    assert batches[0][0] == len(paths) and batches[0][2] == 1
    assert [Path(r) for (r,) in recorded] == sorted(Path(r["path"]) for r in results)
    assert unprinted == [(0,)]
    # Each letter recorded once, as the piece and in the batch its batch file holds.
    cut = pl.concat([pl.read_parquet(p).with_columns(pl.lit(p.stem).alias("print_batch")) for p in paths])
    assert letters == [(b, piece, inv, "J20210129") for b, piece, inv in
                       cut.select("print_batch", "piece_id", "invitation_id").iter_rows()]  # fmt: skip


def test_cutting_again_clears_earlier_pdfs_and_records(waved: Settings) -> None:
    folder = waved.print_root / "20210129"
    with warehouse.connect(waved.warehouse) as con:
        paths = cut_batches(con, DAY, waved.print_root, load_centres(), batch_size=60)
    released = verify_batch_file(render_batch_file(paths[0], DAY).as_dict(), DAY)
    with warehouse.connect(waved.warehouse) as con, warehouse.transaction(con):
        record_batches(con, DAY, [released])
    render_batch_file(paths[1], DAY)
    (folder / "rejected").mkdir()
    (folder / "rejected" / "J20210129-0003.reason.txt").write_text("earlier run")
    with warehouse.connect(waved.warehouse) as con:
        again = cut_batches(con, DAY, waved.print_root, load_centres(), batch_size=60)
    assert again == paths
    assert not Path(released["path"]).exists()
    assert sorted(p.name for p in folder.iterdir()) == ["batches"]
    with duckdb.connect(str(waved.warehouse), read_only=True) as con:  # nor the records of the earlier run
        assert con.execute("select count(*) from core.fct_print_batch").fetchall() == [(0,)]
        assert con.execute("select count(*) from core.fct_print_batch_letter").fetchall() == [(0,)]
        assert con.execute("select count(piece_id) from core.dim_invitation_current").fetchall() == [(0,)]


def test_reprint_batch_carries_exactly_the_spoiled_pieces_under_the_reprint_job(waved: Settings) -> None:
    import pypdfium2
    import zxingcpp

    from convoc.letters.batches import batch_job_id, write_reprint_batch
    from convoc.letters.render import BOOKING_URL, piece_code

    with warehouse.connect(waved.warehouse) as con:
        paths = cut_batches(con, DAY, waved.print_root, load_centres(), batch_size=40)
    original = pl.concat([pl.read_parquet(p) for p in paths])
    spoiled = [41, 3]  # in two different batches of the original job
    batch = write_reprint_batch(waved.print_root, DAY, "J20210129-R1", spoiled)
    assert batch.name == "J20210129-R1-0001.parquet" and batch_job_id(batch.stem) == "J20210129-R1"
    rows = pl.read_parquet(batch)
    assert rows.to_dicts() == original.filter(pl.col("piece_id").is_in([3, 41])).sort("piece_id").to_dicts()

    released = verify_batch_file(render_batch_file(batch, DAY).as_dict(), DAY)
    assert (
        Path(released["path"])
        == waved.print_root / "20210129" / "reprints" / "J20210129-R1" / "pdf" / batch.with_suffix(".pdf").name
    )
    pdf = pypdfium2.PdfDocument(released["path"])
    assert len(pdf) == rows["pages"].sum() and sorted(rows["pages"]) == [1, 2]  # one of them in large print
    pages = [(row, k, row["pages"]) for row in rows.iter_rows(named=True) for k in range(1, row["pages"] + 1)]
    for page, (row, k, n) in zip(pdf, pages, strict=True):
        found = {b.text for b in zxingcpp.read_barcodes(page.render(scale=2).to_pil())}
        booking = {BOOKING_URL + row["booking_code"]} if k == 1 else set()
        assert found == booking | {piece_code("J20210129-R1", row["piece_id"], k, n)}
    pdf.close()

    with pytest.raises(ConvocError, match=r"pieces \[99999\] are not in the batch files of J20210129"):
        write_reprint_batch(waved.print_root, DAY, "J20210129-R2", [3, 99999])


@pytest.mark.parametrize("stem", ["J20210129", "20210129-0001", "J20210129-R1-x", ""])
def test_batch_job_id_refuses_names_that_are_not_batches(stem: str) -> None:
    from convoc.letters.batches import batch_job_id

    with pytest.raises(ConvocError, match="is not a batch name"):
        batch_job_id(stem)
