"""Delivery receipts: what reached the print shop is recorded from the receipts written at delivery, so a
job delivered in a run that failed later is recorded, and a reprint's number follows what was delivered."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from print_jobs import DAY, JOB, REPRINT, make_reprint, print_root, rendered

from convoc import warehouse
from convoc.errors import ConvocError
from convoc.handoff.daily import (
    RECEIPTS,
    build_planned_job,
    check_delivered,
    deliver_planned_job,
    record_deliveries,
)
from convoc.handoff.deliver import DeliveryError, deliver
from convoc.handoff.job import build_job
from convoc.handoff.transport import LocalTransport

HANDOFF = date(2021, 2, 2)


@pytest.fixture
def con(tmp_path: Path):  # type: ignore[no-untyped-def]
    with warehouse.connect(tmp_path / "warehouse.duckdb") as con:
        warehouse.ensure_schema(con)
        yield con


def _deliver(print_root: Path, tmp_path: Path, job: str) -> dict[str, object]:
    built = build_job(print_root, job, tmp_path / "staging", handoff_date=HANDOFF).as_dict()
    return deliver_planned_job(built, "local", tmp_path / "outbox", print_root, HANDOFF)


def test_a_delivery_leaves_a_receipt_that_is_recorded_once(print_root: Path, tmp_path: Path, con) -> None:  # type: ignore[no-untyped-def]
    result = _deliver(print_root, tmp_path, JOB)
    receipt = json.loads((print_root / RECEIPTS / f"{JOB}.json").read_text())
    assert receipt["name"] == JOB and receipt["manifest_sha256"] == result["manifest_sha256"]
    assert receipt["handoff_date"] == HANDOFF.isoformat() and receipt["pieces"] == 9
    assert (print_root / RECEIPTS / f"{JOB}.json").stat().st_mode & 0o777 == 0o600

    assert record_deliveries(con, print_root) == [JOB]
    assert record_deliveries(con, print_root) == []  # recorded as it is: nothing to do
    assert con.execute(
        "select job_id, delivered_as, kind, pieces, handoff_date from core.fct_print_job"
    ).fetchall() == [(JOB, JOB, "original", 9, HANDOFF)]
    pieces = con.execute("select piece_id, invitation_id, print_file from core.fct_print_piece order by 1").fetchall()
    assert [p[0] for p in pieces] == list(range(1, 10))
    assert pieces[0][1] == "vaccination:1:1:1" and pieces[0][2] == f"{JOB}-0001.pdf"


def test_a_reprint_delivered_but_not_recorded_is_recorded_before_the_next_plan(  # type: ignore[no-untyped-def]
    print_root: Path, tmp_path: Path, con
) -> None:
    # The run that delivered the reprint died before recording it: the next record (plan_jobs runs it
    # first) catches up, so the pending-reprint query numbers the next reprint R2, never R1 again.
    _deliver(print_root, tmp_path, JOB)
    record_deliveries(con, print_root)
    plan = {"job_id": REPRINT, "kind": "reprint", "origin_day": DAY.isoformat(),
            "batch": str(make_reprint(print_root) / "batches" / f"{REPRINT}-0001.parquet")}  # fmt: skip
    built = build_planned_job(plan, print_root, tmp_path / "staging", HANDOFF)
    deliver_planned_job(built, "local", tmp_path / "outbox", print_root, HANDOFF)
    con.execute(
        "insert into core.fct_print_event values (?, ?, 3, ?, 'spoiled', ?, 'x')",
        [JOB, JOB, "vaccination:1:3:1", HANDOFF],
    )
    assert record_deliveries(con, print_root) == [REPRINT]
    pending = warehouse.query(con, warehouse.select("intermediate/int_print__pending_reprints.sql"))
    assert pending.select("piece_id", "reprint_job_id").rows() == [(3, f"{JOB}-R2")]


def test_a_delivered_reprint_is_never_delivered_again_with_other_pieces(print_root: Path, tmp_path: Path) -> None:
    outbox = LocalTransport(tmp_path / "outbox")
    deliver(build_job(print_root, REPRINT, tmp_path / "staging", handoff_date=HANDOFF).path, outbox)
    make_reprint(print_root, pieces=(2, 7, 9))
    other = build_job(print_root, REPRINT, tmp_path / "staging", handoff_date=HANDOFF).path
    with pytest.raises(DeliveryError, match=f"{REPRINT}: delivered before as {REPRINT} with other pieces"):
        deliver(other, outbox)
    assert sorted(p.name for p in (tmp_path / "outbox").iterdir()) == [REPRINT]


def test_jobs_not_delivered_are_named() -> None:
    plans = [{"job_id": REPRINT}, {"job_id": JOB}]
    check_delivered(plans, [{"job_id": REPRINT}, {"job_id": JOB}])
    check_delivered([], [])
    with pytest.raises(ConvocError, match=rf"1 of 2 print jobs not delivered: {JOB}; the 1 delivered are recorded"):
        check_delivered(plans, [{"job_id": REPRINT}])
