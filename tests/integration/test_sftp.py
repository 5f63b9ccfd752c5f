"""SftpTransport against a real OpenSSH server on 127.0.0.1 (see sshd.py): file operations, the drop
user's jail, key-only login, Airflow connection forms, lost connections; whole jobs delivered by
``convoc.handoff.deliver``, including a connection cut in the middle of an upload and the retry."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import posixpath
import random
import shutil
import signal
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import paramiko
import pytest
from sshd import SshServer, ed25519_pair, missing_requirement

from convoc.errors import TransportUnavailable
from convoc.handoff.sftp import SftpTransport

pytestmark = pytest.mark.integration

CONN_ENV = "AIRFLOW_CONN_PRINT_SHOP_SFTP"


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshServer]:
    reason = missing_requirement()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no SFTP server for the integration tests: {reason}")
        pytest.skip(reason)
    server = SshServer.start()
    yield server
    server.stop()


@pytest.fixture
def print_shop(sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> SshServer:
    """The server with an empty drop folder, and the Airflow connection ``print_shop_sftp`` pointing at it."""
    for child in sshd.drop.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    monkeypatch.setenv(CONN_ENV, sshd.connection_json())
    return sshd


@pytest.fixture
def transport(print_shop: SshServer) -> Iterator[SftpTransport]:
    with SftpTransport.from_connection(conn_retry_attempts=1) as t:
        yield t


def _raw_client(server: SshServer, key: Path | None = None) -> paramiko.SSHClient:
    """A plain paramiko client logged in as the drop user (or trying to, with ``key``)."""
    host_key = paramiko.PKey.from_type_string("ssh-ed25519", base64.b64decode(server.host_public_key.split()[1]))
    client = paramiko.SSHClient()
    client.get_host_keys().add(f"[{server.host}]:{server.port}", host_key.get_name(), host_key)
    client.connect(
        server.host,
        server.port,
        username=server.user,
        key_filename=str(key or server.client_key),
        look_for_keys=False,
        allow_agent=False,
    )
    return client


# file operations


def test_put_read_and_checksum_are_the_stored_bytes(transport: SftpTransport, tmp_path: Path) -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)  # several chunks
    local = tmp_path / "batch.pdf"
    local.write_bytes(big)
    transport.makedir("job")
    transport.put_file(local, "job/batch.pdf")
    transport.put_bytes(b'{"files": []}', "job/manifest.json")

    assert transport.read_bytes("job/batch.pdf") == big
    assert transport.sha256("job/batch.pdf") == hashlib.sha256(big).hexdigest()
    assert transport.read_bytes("job/manifest.json") == b'{"files": []}'
    assert transport.listdir("job") == ["batch.pdf", "manifest.json"]


def test_files_are_0600_and_folders_0700_owned_by_the_drop_user(
    print_shop: SshServer, transport: SftpTransport, tmp_path: Path
) -> None:
    transport.makedir("job")
    transport.put_bytes(b"x", "job/a")
    (tmp_path / "b").write_bytes(b"y")
    transport.put_file(tmp_path / "b", "job/b")
    folder = print_shop.drop / "job"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # sshd's umask 022 would have given 0755 and 0644
    for name in ("a", "b"):
        st = (folder / name).stat()
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert st.st_uid == (print_shop.drop.stat().st_uid)


def test_sha256_reads_the_remote_file_back(print_shop: SshServer, transport: SftpTransport) -> None:
    transport.put_bytes(b"as sent", "f")
    (print_shop.drop / "f").write_bytes(b"damaged at the print shop")
    assert transport.sha256("f") == hashlib.sha256(b"damaged at the print shop").hexdigest()


def test_overwrite_with_put_and_missing_files(transport: SftpTransport) -> None:
    transport.put_bytes(b"first, longer content", "f")
    transport.put_bytes(b"second", "f")
    assert transport.read_bytes("f") == b"second"
    with pytest.raises(FileNotFoundError):
        transport.read_bytes("missing")
    with pytest.raises(FileNotFoundError):
        transport.sha256("missing")
    with pytest.raises(FileNotFoundError):
        transport.put_bytes(b"x", "no-such-folder/f")


def test_rename_moves_and_never_overwrites(print_shop: SshServer, transport: SftpTransport) -> None:
    transport.put_bytes(b"new", "f.part")
    transport.put_bytes(b"old", "f")
    with pytest.raises(FileExistsError):
        transport.rename("f.part", "f")
    assert transport.read_bytes("f") == b"old"
    assert transport.read_bytes("f.part") == b"new"

    transport.makedir(".job.partial")
    transport.put_bytes(b"pdf", ".job.partial/a.pdf")
    transport.makedir("job")  # even an empty folder is not replaced
    with pytest.raises(FileExistsError):
        transport.rename(".job.partial", "job")
    assert transport.listdir("job") == []

    transport.remove_tree("job")
    transport.rename(".job.partial", "job")
    assert transport.listdir("") == ["f", "f.part", "job"]
    assert transport.read_bytes("job/a.pdf") == b"pdf"
    with pytest.raises(FileNotFoundError):
        transport.rename("gone", "elsewhere")


def test_listdir_exists_makedir(transport: SftpTransport) -> None:
    assert transport.listdir("") == []
    assert transport.listdir("nothing-here") == []
    assert not transport.exists("job")
    transport.makedir("job")
    transport.makedir("job")  # already there: fine
    transport.makedir("job/sub")
    for name in ("c", "a", "b"):
        transport.put_bytes(name.encode(), f"job/{name}")
    assert transport.exists("job") and transport.exists("job/a")
    assert transport.listdir("job") == ["a", "b", "c", "sub"]
    with pytest.raises(FileNotFoundError):
        transport.makedir("missing-parent/child")
    with pytest.raises(OSError):
        transport.makedir("job/a")  # a file is in the way


def test_remove_tree(transport: SftpTransport) -> None:
    transport.makedir("job")
    transport.makedir("job/sub")
    transport.put_bytes(b"1", "job/sub/deep")
    transport.put_bytes(b"2", "job/top")
    transport.put_bytes(b"3", "single")
    transport.remove_tree("job")
    transport.remove_tree("single")
    transport.remove_tree("never-was")
    assert transport.listdir("") == []
    with pytest.raises(ValueError, match="drop folder itself"):
        transport.remove_tree("")


@pytest.mark.parametrize("rel", ["../x", "/etc/passwd", "job/../../x"])
def test_paths_outside_the_drop_folder_are_refused_before_sending(transport: SftpTransport, rel: str) -> None:
    with pytest.raises(ValueError, match="inside the print shop's drop folder"):
        transport.put_bytes(b"x", rel)


# the server's restrictions on the drop user


def test_drop_user_sees_only_its_folder(print_shop: SshServer) -> None:
    client = _raw_client(print_shop)
    try:
        sftp = client.open_sftp()
        assert sftp.listdir("/") == ["drop"]
        with pytest.raises(FileNotFoundError):
            sftp.listdir("/etc")
        with pytest.raises(FileNotFoundError):
            sftp.open("/drop/../../../etc/passwd")
        with pytest.raises(PermissionError):
            sftp.open("/drop/../x", "w")
        with pytest.raises(PermissionError):
            sftp.mkdir("/elsewhere")
        with pytest.raises(paramiko.ChannelException):  # no port forwarding out of the jail
            client.get_transport().open_channel("direct-tcpip", ("127.0.0.1", 5432), ("127.0.0.1", 0))
    finally:
        client.close()
    assert sorted(p.name for p in print_shop.drop.parent.iterdir()) == ["drop"]


def test_password_and_unknown_keys_are_refused(print_shop: SshServer, tmp_path: Path) -> None:
    with socket.create_connection((print_shop.host, print_shop.port), timeout=5) as sock:
        t = paramiko.Transport(sock)
        try:
            t.start_client(timeout=5)
            with pytest.raises(paramiko.BadAuthenticationType) as refused:
                t.auth_password(print_shop.user, "any password")
            assert refused.value.allowed_types == ["publickey"]
        finally:
            t.close()

    stranger = tmp_path / "stranger"
    stranger.write_bytes(ed25519_pair()[0])
    stranger.chmod(0o600)
    with pytest.raises(paramiko.AuthenticationException):
        _raw_client(print_shop, key=stranger).close()


# the Airflow connection and the hook


@pytest.mark.parametrize("form", ["json, private_key", "json, key_file", "uri, key_file"])
def test_airflow_connection_forms(print_shop: SshServer, monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    value = (
        print_shop.connection_uri()
        if form.startswith("uri")
        else print_shop.connection_json(key_file="key_file" in form)
    )
    monkeypatch.setenv(CONN_ENV, value)
    with SftpTransport.from_connection(conn_retry_attempts=1) as t:
        assert type(t.hook).__name__ == "SFTPHook" and t.hook.ssh_conn_id == "print_shop_sftp"
        t.put_bytes(b"through the provider's hook", "hello")
        assert t.sha256("hello") == hashlib.sha256(b"through the provider's hook").hexdigest()
    assert (print_shop.drop / "hello").read_bytes() == b"through the provider's hook"


def _refused(print_shop: SshServer, monkeypatch: pytest.MonkeyPatch, value: str) -> str:
    monkeypatch.setenv(CONN_ENV, value)
    with pytest.raises(TransportUnavailable) as refused, SftpTransport.from_connection(conn_retry_attempts=1) as t:
        t.listdir("")
    message = str(refused.value)
    assert "PRIVATE KEY" not in message and print_shop.client_key.read_text().splitlines()[1] not in message
    return message


def test_unreachable_server_names_host_port_and_user(print_shop: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    message = _refused(print_shop, monkeypatch, print_shop.connection_json(port=closed_port))
    assert f"127.0.0.1 port {closed_port} as user convoc-printshop" in message


def test_wrong_key_or_wrong_host_key_is_refused(print_shop: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    stranger = ed25519_pair()[0].decode()
    message = _refused(print_shop, monkeypatch, print_shop.connection_json(private_key=stranger))
    assert f"127.0.0.1 port {print_shop.port} as user convoc-printshop" in message
    assert "Authentication failed" in message

    impostor = json.loads(print_shop.connection_json())
    impostor["extra"]["host_key"] = ed25519_pair()[1]
    message = _refused(print_shop, monkeypatch, json.dumps(impostor))
    assert f"127.0.0.1 port {print_shop.port}" in message


def test_undefined_connection(print_shop: SshServer) -> None:
    with pytest.raises(TransportUnavailable, match="no_such_connection"):
        SftpTransport.from_connection("no_such_connection")


def test_lost_connection_is_reported_and_the_next_call_reconnects(
    print_shop: SshServer, transport: SftpTransport
) -> None:
    transport.put_bytes(b"1", "a")
    client_port = transport.hook.client.get_transport().sock.getsockname()[1]
    assert print_shop.kill_session(client_port)
    with pytest.raises(TransportUnavailable) as lost:
        transport.put_bytes(b"2", "b")
    assert f"127.0.0.1 port {print_shop.port} as user convoc-printshop lost while uploading 'b'" in str(lost.value)
    transport.put_bytes(b"2", "b")
    assert transport.listdir("") == ["a", "b"]


def test_a_server_that_stops_answering_is_given_up(print_shop: SshServer) -> None:
    with SftpTransport.from_connection(conn_retry_attempts=1, reply_timeout=0.5) as t:
        t.put_bytes(b"1", "a")
        session = print_shop.session_pids(t.hook.client.get_transport().sock.getsockname()[1])
        assert session
        for pid in session:
            os.kill(pid, signal.SIGSTOP)
        try:
            with pytest.raises(TransportUnavailable, match="lost while reading 'a'"):
                t.read_bytes("a")
        finally:
            for pid in session:
                os.kill(pid, signal.SIGKILL)
        assert t.read_bytes("a") == b"1"  # a new session


# whole jobs delivered over SFTP (convoc.handoff.deliver)

JOB = "J20210129"


def make_job(parent: Path, *, seed: int = 1) -> Path:
    """A small job folder as ``build_job`` leaves it: two print files (one of several MiB, so that an upload
    can be cut in the middle), an inserter run file, a job ticket and ``manifest.json`` with their SHA-256."""
    from convoc.handoff.job import FORMAT, MANIFEST_JSON

    rng = random.Random(seed)
    job = parent / JOB
    job.mkdir(parents=True)
    contents = {
        f"{JOB}-0001.pdf": rng.randbytes(3 * 1024 * 1024 + 5),
        f"{JOB}-0002.pdf": rng.randbytes(40_000),
        "inserter_run.csv": b"envelope,piece_id,file\n1,1,J20210129-0001.pdf\n2,2,J20210129-0002.pdf\n",
        "job_ticket.json": json.dumps({"job_id": JOB, "plex": "duplex"}).encode(),
    }
    listed = []
    for name, data in contents.items():
        (job / name).write_bytes(data)
        listed.append({"name": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    manifest = {
        "format": FORMAT,
        "job_id": JOB,
        "origin_job_id": JOB,
        "kind": "original",
        "files": listed[:2],
        "documents": listed[2:],
        "totals": {"pieces": 2, "pages": 2, "sheets": 2},
    }
    (job / MANIFEST_JSON).write_text(json.dumps(manifest, indent=2))
    return job


def _assert_delivered(drop: Path, job: Path, name: str = JOB) -> None:
    """``name`` in the drop folder holds exactly the job's files, byte for byte, plus READY."""
    from convoc.handoff.deliver import READY

    delivered = drop / name
    assert sorted(p.name for p in delivered.iterdir()) == sorted([*(p.name for p in job.iterdir()), READY])
    for local in job.iterdir():
        assert _sha(delivered / local.name) == _sha(local), local.name
    ready = json.loads((delivered / READY).read_bytes())
    assert (ready["job_id"], ready["name"]) == (JOB, name)
    assert ready["manifest_sha256"] == _sha(job / "manifest.json")
    for path in [delivered, *delivered.iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_job_delivered_over_sftp_arrives_ready_with_its_checksums(
    print_shop: SshServer, transport: SftpTransport, tmp_path: Path
) -> None:
    from convoc.handoff.deliver import deliver

    job = make_job(tmp_path / "built")
    result = deliver(job, transport)
    assert (result.name, result.status, result.files) == (JOB, "delivered", 5)
    assert sorted(p.name for p in print_shop.drop.iterdir()) == [JOB]  # no partial folder left
    _assert_delivered(print_shop.drop, job)

    assert deliver(job, transport).status == "unchanged"
    changed = make_job(tmp_path / "rebuilt", seed=2)
    assert (deliver(changed, transport).name, sorted(p.name for p in print_shop.drop.iterdir())) == (
        f"{JOB}.v2",
        [JOB, f"{JOB}.v2"],
    )
    _assert_delivered(print_shop.drop, changed, f"{JOB}.v2")
    _assert_delivered(print_shop.drop, job)  # the first version is untouched


@pytest.mark.parametrize(
    ("cut_in", "job_folder_visible"),
    [(f"{JOB}-0001.pdf", False), ("manifest.json", False), (".READY.partial", True)],
    ids=["first print file, after its first MiB", "manifest.json, the last file", "READY, after the rename"],
)
def test_a_connection_dropped_mid_upload_leaves_no_ready_job_and_the_retry_completes_it(
    print_shop: SshServer,
    transport: SftpTransport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cut_in: str,
    job_folder_visible: bool,
) -> None:
    """The server side of the test's connection is killed (SIGKILL, by PID) while a file is being
    written: after the first chunk was handed to paramiko, before the file is complete and closed."""
    from convoc.handoff import sftp as sftp_module
    from convoc.handoff.deliver import deliver

    job = make_job(tmp_path / "built")
    write = sftp_module._write
    killed: list[int] = []

    def write_and_cut(sftp: object, path: str, src: IO[bytes]) -> None:
        if posixpath.basename(path) != cut_in or killed:
            return write(sftp, path, src)
        return write(
            sftp, path, _CutAfterFirstRead(src, lambda: killed.extend(_kill_connection(print_shop, transport)))
        )

    monkeypatch.setattr(sftp_module, "_write", write_and_cut)
    with pytest.raises(TransportUnavailable) as lost:
        deliver(job, transport)
    assert killed, f"the delivery failed before the cut: {lost.value!r} from {lost.value.__cause__!r}"
    assert f"127.0.0.1 port {print_shop.port} as user convoc-printshop lost while uploading" in str(lost.value)
    assert list(print_shop.drop.rglob("READY")) == []
    visible = [p.name for p in print_shop.drop.iterdir() if not p.name.startswith(".")]
    assert visible == ([JOB] if job_folder_visible else [])

    # The task's retry: a new process, a new session.
    with SftpTransport.from_connection(conn_retry_attempts=1) as retry:
        result = deliver(job, retry)
    assert (result.name, result.status) == (JOB, "delivered")
    assert sorted(p.name for p in print_shop.drop.iterdir()) == [JOB]
    _assert_delivered(print_shop.drop, job)


class _CutAfterFirstRead(io.RawIOBase):
    """Reads ``src``, calling ``cut()`` once between its first and second read."""

    def __init__(self, src: IO[bytes], cut: Callable[[], None]) -> None:
        self.src, self.cut, self.reads = src, cut, 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads == 2:
            self.cut()
        return self.src.read(size)


def _kill_connection(server: SshServer, transport: SftpTransport) -> list[int]:
    """Kill the sshd processes serving ``transport``'s connection and wait until they are gone."""
    pids = server.kill_session(transport.hook.client.get_transport().sock.getsockname()[1])
    assert pids, "no sshd process found for the test's connection"
    deadline = time.monotonic() + 5
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    return pids


def _running(pid: int) -> bool:
    """False once ``pid`` is gone or a zombie (its sockets closed), whoever reaps it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # ESRCH: read while the process was being reaped
        return False


def test_the_dag_delivers_over_sftp_when_configured(print_shop: SshServer, tmp_path: Path) -> None:
    # What print_handoff's deliver_job runs with CONVOC_PRINT_TRANSPORT=sftp: the transport comes from the
    # Airflow connection print_shop_sftp, nothing is written to the local outbox.
    from convoc.config import Settings
    from convoc.handoff.daily import deliver_built_job

    job = make_job(tmp_path / "built")
    settings = Settings.from_env({"CONVOC_HOME": str(tmp_path / "home"), "CONVOC_PRINT_TRANSPORT": "sftp"})
    result = deliver_built_job({"path": str(job)}, settings.print_transport, settings.outbox)
    assert (result["transport"], result["status"], result["name"]) == ("sftp", "delivered", JOB)
    _assert_delivered(print_shop.drop, job)
    assert not settings.outbox.exists()
    with pytest.raises(ValueError, match="CONVOC_PRINT_TRANSPORT must be 'local' or 'sftp'"):
        Settings.from_env({"CONVOC_PRINT_TRANSPORT": "ftp"})
