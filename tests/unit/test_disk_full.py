"""A full disk (ENOSPC raised where the file helpers write) leaves nothing half-written and nothing released,
and says where and what to do; the step's retry, once there is room, completes it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from print_jobs import DAY, JOB, print_root, rendered  # noqa: F401 (fixtures)

from convoc import files
from convoc.errors import DiskFull
from convoc.handoff import job as job_module
from convoc.handoff.job import build_job
from convoc.letters.batches import render_batch_file, verify_batch_file


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Every fsync of a file being written fails with ENOSPC, as on a full file system (delayed allocation
    reports it at the flush); ``room()`` frees the space again."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if os.path.isfile(f"/proc/self/fd/{fd}") and not os.path.isdir(os.readlink(f"/proc/self/fd/{fd}")):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(job_module.os, "fsync", fsync)

    def room() -> None:
        monkeypatch.setattr(files.os, "fsync", real)
        monkeypatch.setattr(job_module.os, "fsync", real)

    return room


def test_a_file_that_does_not_fit_leaves_the_old_one_and_no_part(tmp_path: Path, full_disk) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "manifest.json"
    target.write_bytes(b"old")
    with pytest.raises(DiskFull, match=r"no space left on the device writing manifest.json \(3 bytes\)"):
        files.write_private(target, b"new")
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_a_batch_that_does_not_fit_is_neither_rendered_nor_released(  # type: ignore[no-untyped-def]
    print_root: Path,  # noqa: F811
    full_disk,
) -> None:
    folder = print_root / f"{DAY:%Y%m%d}"
    batch = folder / "batches" / f"{JOB}-0001.parquet"
    with pytest.raises(DiskFull, match=rf"{folder / 'rendered'}: no space left on the device writing {JOB}-0001.pdf"):
        render_batch_file(batch, DAY)
    assert not (folder / "pdf" / f"{JOB}-0001.pdf").exists()  # the earlier release withdrawn, nothing new
    assert not list((folder / "rendered").iterdir())  # nothing half-written
    full_disk()  # space freed: the retry renders and releases it
    released = verify_batch_file(render_batch_file(batch, DAY).as_dict(), DAY)
    assert Path(released["path"]) == folder / "pdf" / f"{JOB}-0001.pdf"


def test_a_job_that_does_not_fit_is_not_built(  # type: ignore[no-untyped-def]
    print_root: Path,  # noqa: F811
    tmp_path: Path,
    full_disk,
) -> None:
    staging = tmp_path / "staging"
    with pytest.raises(DiskFull, match=r"no space left on the device writing J20210129-0001\.pdf"):
        build_job(print_root, JOB, staging)
    assert list(staging.iterdir()) == []  # the job being built aside is gone: nothing to deliver
    full_disk()
    assert (build_job(print_root, JOB, staging).path / "manifest.json").is_file()
