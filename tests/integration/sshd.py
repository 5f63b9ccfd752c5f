"""A real OpenSSH server on 127.0.0.1 standing in for the print shop's SFTP drop.

``SshServer.start()`` runs ``/usr/sbin/sshd -D -e -f <config>`` (Debian package ``openssh-server``,
installed by ``.ci/run``) on a free port, as root, with:

- a host key and a client key pair, both ed25519, generated for the run;
- public-key authentication only (no password, no keyboard-interactive, no PAM), and only for the
  drop user;
- the drop user ``convoc-printshop`` jailed in its folder: ``ChrootDirectory <base>/chroot`` (root-owned
  0755, as sshd demands of every component of the chroot path, hence a base under ``/run`` rather than
  ``/tmp``, which is world-writable) and ``ForceCommand internal-sftp``, no forwarding. Inside the jail
  the user sees only ``/drop``, owned by it and mode 0700.

The drop user is a system account created once per machine, if missing, by ``ensure_drop_user()``:
``useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --password '*'``.
The password field ``*`` matches no password, yet the account is not "locked" (``!``), which sshd
without PAM would refuse; an existing account with a locked field is switched to ``*`` for that reason.

The server is stopped by its PID, and so are its session processes (``kill_session`` drops a single
client's connection, found through the socket it holds).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

SSHD = Path("/usr/sbin/sshd")
DROP_USER = "convoc-printshop"
# sshd refuses a chroot unless every folder on its path is root-owned and not group/other writable.
_BASE_CANDIDATES = (Path("/run"), Path("/var/lib"))
_PRIVSEP_DIR = Path("/run/sshd")


def missing_requirement() -> str | None:
    """Why a real sshd cannot be started here, or None if it can."""
    if not SSHD.is_file():
        return f"{SSHD} not found: install the Debian package openssh-server (.ci/run does)"
    if os.geteuid() != 0:
        return "starting sshd with a chroot and a dedicated drop user needs root"
    for tool in ("useradd", "usermod", "getent"):
        if shutil.which(tool) is None:
            return f"{tool} not found (package passwd)"
    return None


def ensure_drop_user(name: str = DROP_USER) -> pwd.struct_passwd:
    """The drop user, created once if missing (idempotent, safe against a concurrent creation)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        useradd = ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"]
        created = subprocess.run(
            [*useradd, "--shell", "/usr/sbin/nologin", "--password", "*", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if created.returncode not in (0, 9):  # 9: created meanwhile by someone else
            raise RuntimeError(f"useradd {name} failed: {created.stderr.strip()}") from None
    shadow = subprocess.run(["getent", "shadow", name], capture_output=True, text=True, check=True).stdout
    if shadow.split(":")[1].startswith("!"):
        subprocess.run(["usermod", "--password", "*", name], check=True, capture_output=True)
    return pwd.getpwnam(name)


def _secure_parent() -> Path:
    for candidate in _BASE_CANDIDATES:
        if all((st := p.stat()).st_uid == 0 and not st.st_mode & 0o022 for p in (candidate, *candidate.parents)):
            return candidate
    raise RuntimeError(f"no root-owned, non-writable folder to hold a chroot among {_BASE_CANDIDATES}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ed25519_pair() -> tuple[bytes, str]:
    """(private key in OpenSSH PEM form, public key line ``ssh-ed25519 AAAA…``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


def _write(path: Path, data: bytes, mode: int) -> Path:
    path.touch(mode=mode)
    path.chmod(mode)
    path.write_bytes(data)
    return path


@dataclass
class SshServer:
    """A running sshd; ``drop`` is the drop folder as seen locally (``/drop`` for the drop user)."""

    base: Path
    port: int
    process: subprocess.Popen[bytes]
    client_key: Path
    host_public_key: str
    user: str = DROP_USER
    host: str = "127.0.0.1"
    remote_drop: str = "/drop"
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.base / "sshd.log"

    @property
    def drop(self) -> Path:
        return self.base / "chroot" / "drop"

    @classmethod
    def start(cls, timeout: float = 10.0) -> SshServer:
        user = ensure_drop_user()
        base = Path(tempfile.mkdtemp(prefix="convoc-sshd-", dir=_secure_parent()))
        base.chmod(0o755)
        host_private, host_public = ed25519_pair()
        client_private, client_public = ed25519_pair()
        host_key = _write(base / "ssh_host_ed25519_key", host_private, 0o600)
        client_key = _write(base / "client_ed25519_key", client_private, 0o600)
        authorized = _write(base / "authorized_keys", f"{client_public}\n".encode(), 0o644)
        chroot = base / "chroot"
        chroot.mkdir()
        chroot.chmod(0o755)  # explicit: the process's umask may be convoc's own 077
        drop = chroot / "drop"
        drop.mkdir(mode=0o700)
        os.chown(drop, user.pw_uid, user.pw_gid)
        port = _free_port()
        config = base / "sshd_config"
        config.write_text(
            f"""\
ListenAddress 127.0.0.1:{port}
HostKey {host_key}
PidFile none
LogLevel VERBOSE
UsePAM no
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers {user.pw_name}
AuthorizedKeysFile {authorized}
Subsystem sftp internal-sftp
Match User {user.pw_name}
    ChrootDirectory {chroot}
    ForceCommand internal-sftp
    AllowTcpForwarding no
    AllowAgentForwarding no
    X11Forwarding no
    PermitTunnel no
"""
        )
        _PRIVSEP_DIR.mkdir(exist_ok=True)  # normally made by the service's unit file
        _PRIVSEP_DIR.chmod(0o755)
        with (base / "sshd.log").open("wb") as log:
            process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        server = cls(base, port, process, client_key, host_public, user=user.pw_name)
        try:
            server._wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd not answering on port {self.port} after {timeout}s:\n{self.log.read_text()}")

    def connection_extra(self, *, key_file: bool = False, private_key: str | None = None) -> dict[str, str]:
        """Extras of an Airflow ``sftp`` connection for the drop user: the key as text or as a file path."""
        extra = {"host_key": self.host_public_key, "drop_folder": self.remote_drop, "look_for_keys": "false"}
        if key_file:
            extra["key_file"] = str(self.client_key)
        else:
            extra["private_key"] = private_key or self.client_key.read_text()
        return extra

    def connection_json(self, *, port: int | None = None, **extra_options: Any) -> str:
        """An ``AIRFLOW_CONN_…`` value in JSON form; ``extra_options`` go to ``connection_extra``."""
        return json.dumps(
            {
                "conn_type": "sftp",
                "host": self.host,
                "port": port or self.port,
                "login": self.user,
                "extra": self.connection_extra(**extra_options),
            }
        )

    def connection_uri(self) -> str:
        """An ``AIRFLOW_CONN_…`` value in URI form (extras as query parameters; key given as a file)."""
        query = urlencode(self.connection_extra(key_file=True))
        return f"sftp://{quote(self.user)}@{self.host}:{self.port}/?{query}"

    def session_pids(self, client_port: int) -> list[int]:
        """PIDs of the sshd processes serving the client connected from local port ``client_port``."""
        inode = _tcp_inode(self.port, client_port)
        if inode is None:
            return []
        target = f"socket:[{inode}]"
        holders = []
        for pid in _descendants(self.process.pid):
            with_socket = False
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    if os.readlink(fd) == target:
                        with_socket = True
                        break
            except (FileNotFoundError, ProcessLookupError):
                continue
            if with_socket:
                holders.append(pid)
        return holders

    def kill_session(self, client_port: int) -> list[int]:
        """Kill (SIGKILL) the server side of one client's connection; the PIDs killed."""
        pids = self.session_pids(client_port)
        for pid in pids:
            _kill(pid, signal.SIGKILL)
        return pids

    def stop(self) -> None:
        """Stop sshd and any session it still serves, by PID; remove its files."""
        for pid in _descendants(self.process.pid):
            _kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def _kill(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat_file.read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat_file.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _tcp_inode(server_port: int, client_port: int) -> str | None:
    """Inode of the server-side socket of 127.0.0.1:client_port -> 127.0.0.1:server_port."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == local and fields[2] == remote:
            return fields[9]
    return None
