"""Atomic delivery through LocalTransport: READY last, crashes at every step, unchanged re-delivery,
new versions for changed content, modes; and LocalTransport's own guarantees."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from print_jobs import JOB, REPRINT, letter, modes, print_root, rendered, write_batch

from convoc.handoff import transport as transport_module
from convoc.handoff.deliver import READY, DeliveryError, deliver, delivered_versions
from convoc.handoff.job import build_job
from convoc.handoff.transport import LocalTransport, Transport

JOB_FILES = {f"{JOB}-0001.pdf", f"{JOB}-0002.pdf", "inserter_run.csv", "job_ticket.json", "manifest.csv",
             "manifest.json"}  # fmt: skip


@pytest.fixture
def job(print_root: Path, tmp_path: Path) -> Path:
    return build_job(print_root, JOB, tmp_path / "staging").path


class Crash(Exception):
    """The process died here."""


class Crashing:
    """A transport that dies just before its ``crash_at``-th operation (None: never), counting them."""

    def __init__(self, inner: Transport, crash_at: int | None = None) -> None:
        self.inner = inner
        self.crash_at = crash_at
        self.calls: list[str] = []

    def __getattr__(self, op: str) -> Any:
        method = getattr(self.inner, op)

        def call(*args: Any) -> Any:
            self.calls.append(op)
            if self.crash_at is not None and len(self.calls) >= self.crash_at:
                raise Crash(f"{op} {args}")
            return method(*args)

        return call


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under ``root``: mtime (ns), inode and content."""
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_ino, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_delivered_job_is_complete_private_and_ready_last(job: Path, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    spy = Crashing(LocalTransport(outbox))
    result = deliver(job, spy)  # type: ignore[arg-type]
    assert (result.name, result.status, result.job_id, result.kind) == (JOB, "delivered", JOB, "original")
    assert (result.files, result.print_files, result.pieces, result.pages, result.sheets) == (6, 2, 9, 9, 9)
    assert result.bytes == sum((job / n).stat().st_size for n in JOB_FILES)
    assert result.as_dict()["name"] == JOB and json.dumps(result.as_dict())
    assert sorted(os.listdir(outbox)) == [JOB]
    assert set(os.listdir(outbox / JOB)) == {*JOB_FILES, READY}
    for name in JOB_FILES:
        assert (outbox / JOB / name).read_bytes() == (job / name).read_bytes()
    ready = json.loads((outbox / JOB / READY).read_bytes())
    assert ready["manifest_sha256"] == _sha(job / "manifest.json") == result.manifest_sha256
    assert (ready["job_id"], ready["name"], ready["files"]) == (JOB, JOB, 6)
    assert modes(outbox) == {("dir", 0o700), ("file", 0o600)}
    # READY is the very last thing made visible; the job folder appears only complete, by one rename.
    assert spy.calls[-2:] == ["put_bytes", "rename"]
    assert spy.calls.count("rename") == 2
    assert delivered_versions(LocalTransport(outbox), JOB) == [JOB]


def test_a_crash_at_any_step_shows_no_ready_job_and_the_retry_completes_it(job: Path, tmp_path: Path) -> None:
    counter = Crashing(LocalTransport(tmp_path / "count"))
    deliver(job, counter)  # type: ignore[arg-type]
    steps = len(counter.calls)
    assert steps > 10
    for crash_at in range(1, steps + 1):
        outbox = tmp_path / f"outbox-{crash_at}"
        with pytest.raises(Crash):
            deliver(job, Crashing(LocalTransport(outbox), crash_at))  # type: ignore[arg-type]
        transport = LocalTransport(outbox)
        assert delivered_versions(transport, JOB) == [], f"crash before step {crash_at}"
        assert list(outbox.glob(f"*/{READY}")) == []
        result = deliver(job, transport)
        assert (result.name, result.status) == (JOB, "delivered"), f"crash before step {crash_at}"
        assert os.listdir(outbox) == [JOB]  # partial folders of the crash cleaned up, no .v2
        assert set(os.listdir(outbox / JOB)) == {*JOB_FILES, READY}
        for name in JOB_FILES:
            assert _sha(outbox / JOB / name) == _sha(job / name)


def test_a_stale_partial_is_never_a_job_and_only_its_own_job_cleans_it(job: Path, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    for name in (f".partial-{JOB}-0123456789ab", f".partial-{REPRINT}-ba9876543210"):
        (outbox / name).mkdir(parents=True)
        (outbox / name / "manifest.json").write_text("{}")
    assert delivered_versions(LocalTransport(outbox), JOB) == []
    deliver(job, LocalTransport(outbox))
    assert sorted(os.listdir(outbox)) == [f".partial-{REPRINT}-ba9876543210", JOB]


def test_delivering_again_changes_nothing(print_root: Path, job: Path, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    first = deliver(job, LocalTransport(outbox))
    before = _snapshot(outbox)
    spy = Crashing(LocalTransport(outbox))
    again = deliver(job, spy)  # type: ignore[arg-type]
    assert (again.name, again.status, again.manifest_sha256) == (JOB, "unchanged", first.manifest_sha256)
    assert not {"put_file", "put_bytes", "rename", "remove_tree", "makedir"} & set(spy.calls)
    # Rebuilt from the same released PDFs: the same checksums, so still unchanged.
    rebuilt = build_job(print_root, JOB, tmp_path / "staging")
    assert deliver(rebuilt.path, LocalTransport(outbox)).status == "unchanged"
    assert _snapshot(outbox) == before


def test_changed_content_becomes_a_new_version_and_the_delivered_one_stays(
    print_root: Path, job: Path, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    original = deliver(job, LocalTransport(outbox))
    before = _snapshot(outbox / JOB)
    # Batch 2 re-rendered with other codes (the day re-cut): a different PDF.
    folder = print_root / "20210129"
    write_batch(folder, f"{JOB}-0002", [letter(k, booking_code=f"8XK2-M0ZD-{k:04d}") for k in (6, 7, 8, 9)])
    changed = build_job(print_root, JOB, tmp_path / "staging")
    second = deliver(changed.path, LocalTransport(outbox))
    assert (second.name, second.status) == (f"{JOB}.v2", "delivered")
    assert second.manifest_sha256 != original.manifest_sha256
    assert _snapshot(outbox / JOB) == before
    assert (outbox / f"{JOB}.v2" / f"{JOB}-0002.pdf").read_bytes() == (folder / "pdf" / f"{JOB}-0002.pdf").read_bytes()
    assert delivered_versions(LocalTransport(outbox), JOB) == [JOB, f"{JOB}.v2"]
    assert deliver(changed.path, LocalTransport(outbox)).name == f"{JOB}.v2"
    assert deliver(changed.path, LocalTransport(outbox)).status == "unchanged"
    # A third content: .v3, the others untouched.
    write_batch(folder, f"{JOB}-0002", [letter(k, booking_code=f"9XK2-M0ZD-{k:04d}") for k in (6, 7, 8, 9)])
    third = deliver(build_job(print_root, JOB, tmp_path / "staging").path, LocalTransport(outbox))
    assert (third.name, third.status) == (f"{JOB}.v3", "delivered")
    assert sorted(os.listdir(outbox)) == [JOB, f"{JOB}.v2", f"{JOB}.v3"]


def test_a_job_without_ready_is_completed_not_duplicated(job: Path, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    deliver(job, LocalTransport(outbox))
    (outbox / JOB / READY).unlink()  # as if the delivery stopped after the rename
    result = deliver(job, LocalTransport(outbox))
    assert (result.name, result.status) == (JOB, "delivered")
    assert (outbox / JOB / READY).is_file() and os.listdir(outbox) == [JOB]
    # Damaged in place and never marked READY: left alone, the job goes to a new version.
    (outbox / JOB / READY).unlink()
    (outbox / JOB / "inserter_run.csv").write_text("damaged\n")
    result = deliver(job, LocalTransport(outbox))
    assert result.name == f"{JOB}.v2" and not (outbox / JOB / READY).exists()


class Corrupting:
    """A transport whose uploads of PDFs arrive damaged (the last byte flipped)."""

    def __init__(self, inner: LocalTransport) -> None:
        self.inner = inner

    def __getattr__(self, op: str) -> Any:
        return getattr(self.inner, op)

    def put_file(self, local: Path, rel: str) -> None:
        data = local.read_bytes()
        if rel.endswith("-0002.pdf"):
            data = data[:-1] + bytes([data[-1] ^ 1])
        self.inner.put_bytes(data, rel)


def test_a_file_damaged_on_the_way_is_named_and_nothing_is_delivered(job: Path, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    with pytest.raises(DeliveryError) as failed:
        deliver(job, Corrupting(LocalTransport(outbox)))  # type: ignore[arg-type]
    expected = json.loads((job / "manifest.json").read_bytes())["files"][1]["sha256"]
    assert f"{JOB}-0002.pdf: SHA-256 " in str(failed.value) and f"expected {expected}" in str(failed.value)
    assert os.listdir(outbox) == []


def test_an_incomplete_local_job_is_refused(job: Path, tmp_path: Path) -> None:
    (job / "job_ticket.json").unlink()
    with pytest.raises(DeliveryError, match=r"missing job_ticket\.json"):
        deliver(job, LocalTransport(tmp_path / "outbox"))
    renamed = shutil.move(job, job.with_name("elsewhere"))
    with pytest.raises(DeliveryError, match="must be named J20210129"):
        deliver(Path(renamed), LocalTransport(tmp_path / "outbox"))
    with pytest.raises(DeliveryError, match="not a built print job"):
        deliver(tmp_path, LocalTransport(tmp_path / "outbox"))


# LocalTransport


def test_local_transport_files_folders_and_modes(tmp_path: Path) -> None:
    saved = os.umask(0o002)  # a permissive umask changes nothing
    try:
        _exercise(LocalTransport(tmp_path / "drop"), tmp_path)
    finally:
        os.umask(saved)


def _exercise(t: LocalTransport, tmp_path: Path) -> None:
    assert t.listdir("") == [] and not t.exists("job")
    t.makedir("job")
    t.makedir("job")
    t.put_bytes(b"abc", "job/a")
    (tmp_path / "b").write_bytes(b"b" * 3_000_000)
    t.put_file(tmp_path / "b", "job/b")
    assert t.listdir("job") == ["a", "b"] and t.exists("job/a")
    assert t.read_bytes("job/a") == b"abc"
    assert t.sha256("job/b") == hashlib.sha256(b"b" * 3_000_000).hexdigest()
    (tmp_path / "drop" / "job" / "a").chmod(0o644)
    t.put_bytes(b"new", "job/a")  # overwriting also makes it private
    assert modes(tmp_path / "drop") == {("dir", 0o700), ("file", 0o600)}
    with pytest.raises(FileNotFoundError):
        t.makedir("missing/child")
    with pytest.raises(FileNotFoundError):
        t.put_bytes(b"x", "missing/f")
    with pytest.raises(FileNotFoundError):
        t.read_bytes("job/zzz")
    with pytest.raises(OSError):
        t.makedir("job/a")
    t.remove_tree("job")
    t.remove_tree("never-was")
    assert t.listdir("") == []
    with pytest.raises(ValueError, match="drop folder itself"):
        t.remove_tree("")


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "look-then-rename"])
def test_local_rename_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renameat2: bool) -> None:
    if not renameat2:
        monkeypatch.setattr(transport_module, "_RENAMEAT2", None)
    t = LocalTransport(tmp_path / "drop")
    t.put_bytes(b"new", "f.part")
    t.put_bytes(b"old", "f")
    with pytest.raises(FileExistsError):
        t.rename("f.part", "f")
    assert t.read_bytes("f") == b"old"
    t.makedir(".partial")
    t.put_bytes(b"pdf", ".partial/a.pdf")
    t.makedir("job")  # even an empty folder is not replaced
    with pytest.raises(FileExistsError):
        t.rename(".partial", "job")
    t.remove_tree("job")
    t.rename(".partial", "job")
    assert t.read_bytes("job/a.pdf") == b"pdf"
    with pytest.raises(FileNotFoundError):
        t.rename("gone", "elsewhere")


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "job/../../x"])
def test_local_paths_outside_the_drop_folder_are_refused(tmp_path: Path, rel: str) -> None:
    with pytest.raises(ValueError, match="inside the print shop's drop folder"):
        LocalTransport(tmp_path / "drop").put_bytes(b"x", rel)
