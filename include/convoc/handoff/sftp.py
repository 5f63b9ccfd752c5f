"""The print shop's SFTP drop folder, reached through the Airflow SFTP provider.

``SftpTransport`` implements ``convoc.handoff.transport.Transport`` on an SFTP server. Host, port, user,
private key and the server's host key come from an Airflow connection (``print_shop_sftp``, type
``sftp``) read by the provider's ``SFTPHook``, which also opens the session. File operations then use
the paramiko SFTP client the hook returns, because the hook has no rename-without-overwrite, no
``fsync`` and no chmod of an open file.

Guarantees on top of plain SFTP: files are 0600 before their first byte is written and folders 0700
(the server's umask is not trusted), files are fsynced when the server offers ``fsync@openssh.com``,
``sha256`` reads the stored file back, ``rename`` never replaces an existing target. A lost connection
raises ``TransportUnavailable`` naming host, port and user; the next operation reconnects.

Imported only when SFTP is used (never by a DAG file at parse time): it pulls in paramiko, and Airflow
when built from a connection.
"""

from __future__ import annotations

import errno
import hashlib
import io
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Any

import paramiko

from convoc.errors import TransportUnavailable

DEFAULT_CONN_ID = "print_shop_sftp"
_CHUNK = 1 << 20
_CONNECT_TIMEOUT = 30  # seconds, unless the connection's extras set conn_timeout
_REPLY_TIMEOUT = 120  # seconds without an answer from the server before the session is given up
_FILE_MODE = 0o600
_DIR_MODE = 0o700
# Exceptions through which paramiko reports I/O; whether they mean "connection lost" is decided by
# looking at the connection afterwards, so that missing files and refused renames keep their type.
_WIRE_ERRORS = (paramiko.SSHException, EOFError, OSError)
_LOST = (paramiko.SSHException, EOFError, ConnectionError, TimeoutError)
"""Errors that never are a server's answer: the connection is gone, whatever the transport says yet."""


class SftpTransport:
    """The drop folder ``root`` on an SFTP server, opened through ``hook``, the provider's ``SFTPHook``.

    One SSH session is opened on first use and kept until ``close()`` (or the end of a ``with`` block);
    if it is lost, the failing operation raises ``TransportUnavailable`` and the next one reconnects.
    ``root`` is a remote folder, absolute or relative to the login folder; the relative paths given to
    the operations must stay inside it.
    """

    def __init__(self, hook: Any, root: str = ".", *, reply_timeout: float = _REPLY_TIMEOUT) -> None:
        self.hook = hook
        self._root = posixpath.normpath(root or ".")
        self._reply_timeout = reply_timeout
        self._sftp: Any = None
        self.where = f"{hook.remote_host} port {hook.port} as user {hook.username}"

    @classmethod
    def from_connection(
        cls,
        conn_id: str = DEFAULT_CONN_ID,
        *,
        root: str | None = None,
        conn_timeout: int | None = None,
        conn_retry_attempts: int = 3,
        reply_timeout: float = _REPLY_TIMEOUT,
    ) -> SftpTransport:
        """A transport configured by Airflow connection ``conn_id`` (type ``sftp``).

        The connection gives host, port and login; its extras give the key (``private_key`` as text, or
        ``key_file`` as a path on the worker), the server's public ``host_key`` (``ssh-ed25519 AAAA…``)
        and ``drop_folder`` (the root, unless ``root`` is given; default: the login folder).
        """
        from airflow.exceptions import AirflowException
        from airflow.providers.sftp.hooks.sftp import SFTPHook

        try:
            hook = SFTPHook(ssh_conn_id=conn_id, conn_timeout=conn_timeout, conn_retry_attempts=conn_retry_attempts)
            if hook.conn_timeout is None:  # the provider would wait for as long as the OS lets it
                hook.conn_timeout = _CONNECT_TIMEOUT
            if root is None:
                root = str(hook.get_connection(conn_id).extra_dejson.get("drop_folder") or ".")
        except (AirflowException, ValueError) as exc:
            raise TransportUnavailable(f"Airflow connection {conn_id!r} for the print shop's SFTP: {exc}") from exc
        return cls(hook, root=root, reply_timeout=reply_timeout)

    def __enter__(self) -> SftpTransport:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the SFTP session and its SSH connection, if open."""
        self._sftp = None
        with suppress(*_WIRE_ERRORS):
            self.hook.close_conn()
        self.hook.conn = None
        client, self.hook.client = self.hook.client, None
        if client is not None:
            client.close()

    # Transport protocol

    def exists(self, rel: str) -> bool:
        path = self._remote(rel)
        with self._session(f"looking up {rel!r}") as sftp:
            return _exists(sftp, path)

    def listdir(self, rel: str) -> list[str]:
        path = self._remote(rel)
        with self._session(f"listing {rel!r}") as sftp:
            try:
                return sorted(sftp.listdir(path))
            except FileNotFoundError:
                return []

    def makedir(self, rel: str) -> None:
        path = self._remote(rel)
        with self._session(f"creating folder {rel!r}") as sftp:
            try:
                sftp.mkdir(path, _DIR_MODE)
            except OSError:
                # An existing folder answers with a bare "Failure"; anything else is a real error.
                with suppress(OSError):
                    if stat.S_ISDIR(sftp.stat(path).st_mode):
                        return
                raise
            sftp.chmod(path, _DIR_MODE)

    def put_file(self, local: Path, rel: str) -> None:
        path = self._remote(rel)
        with local.open("rb") as src, self._session(f"uploading {rel!r}") as sftp:
            _write(sftp, path, src)

    def put_bytes(self, data: bytes, rel: str) -> None:
        path = self._remote(rel)
        with self._session(f"uploading {rel!r}") as sftp:
            _write(sftp, path, io.BytesIO(data))

    def read_bytes(self, rel: str) -> bytes:
        path = self._remote(rel)
        with self._session(f"reading {rel!r}") as sftp, sftp.open(path, "rb") as f:
            f.prefetch()
            data: bytes = f.read()
            return data

    def sha256(self, rel: str) -> str:
        path = self._remote(rel)
        digest = hashlib.sha256()
        with self._session(f"reading back {rel!r}") as sftp, sftp.open(path, "rb") as f:
            f.prefetch()
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def rename(self, src: str, dst: str) -> None:
        old, new = self._remote(src), self._remote(dst)
        with self._session(f"renaming {src!r} to {dst!r}") as sftp:
            # Plain SFTP rename (not posix-rename@openssh.com, which replaces): OpenSSH refuses when the
            # target exists (link+unlink for files, stat then rename for folders). It answers with a
            # bare "Failure", so the target is looked up to tell that case apart.
            if _exists(sftp, new):
                raise FileExistsError(errno.EEXIST, "already in the print shop's drop folder", dst)
            try:
                sftp.rename(old, new)
            except OSError:
                if _exists(sftp, new):
                    raise FileExistsError(errno.EEXIST, "already in the print shop's drop folder", dst) from None
                raise

    def remove_tree(self, rel: str) -> None:
        path = self._remote(rel)
        if path == self._root:
            raise ValueError("remove_tree: refusing to remove the drop folder itself")
        with self._session(f"removing {rel!r}") as sftp:
            _remove_tree(sftp, path)

    # helpers

    def _remote(self, rel: str) -> str:
        """Remote path of ``rel``; ValueError if it is absolute or leaves the drop folder."""
        parts = PurePosixPath(rel).parts if rel else ()
        if rel.startswith("/") or ".." in parts:
            raise ValueError(f"not a path inside the print shop's drop folder: {rel!r}")
        return posixpath.normpath(posixpath.join(self._root, *parts))

    def _alive(self) -> bool:
        if self._sftp is None:
            return False
        channel = self._sftp.get_channel()
        return not channel.closed and channel.get_transport().is_active()

    def _connect(self) -> Any:
        if self._alive():
            return self._sftp
        self.close()
        try:
            self._sftp = self.hook.get_conn()
            self._sftp.get_channel().settimeout(self._reply_timeout)
        except _WIRE_ERRORS as exc:
            self.close()
            raise TransportUnavailable(
                f"cannot open an SFTP session to the print shop at {self.where}: {_reason(exc)}"
            ) from exc
        return self._sftp

    @contextmanager
    def _session(self, action: str) -> Iterator[Any]:
        """The open SFTP client; a connection lost inside the block becomes ``TransportUnavailable``."""
        sftp = self._connect()
        try:
            yield sftp
        except _WIRE_ERRORS as exc:
            # A server that stopped answering leaves requests in flight: the session is of no more use. An
            # end of stream or a reset is a lost connection even while paramiko's reader thread has not yet
            # marked the transport inactive (seen under load); other errors may be the server's answer.
            if self._alive() and not isinstance(exc, _LOST):
                raise
            self.close()
            raise TransportUnavailable(
                f"SFTP connection to the print shop at {self.where} lost while {action}: {_reason(exc)}"
            ) from exc


def _exists(sftp: Any, path: str) -> bool:
    try:
        sftp.lstat(path)
    except FileNotFoundError:
        return False
    return True


def _write(sftp: Any, path: str, src: IO[bytes]) -> None:
    with sftp.open(path, "wb") as dst:
        dst.chmod(_FILE_MODE)  # before the first byte, so the content is never readable by others
        dst.set_pipelined(True)
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
        dst.flush()
        _fsync(sftp, dst)


def _fsync(sftp: Any, handle: Any) -> None:
    """Ask the server to flush ``handle`` to disk (OpenSSH's ``fsync@openssh.com``), if it can."""
    from paramiko.sftp import CMD_EXTENDED

    # paramiko has no public call for extensions; _request is what its own posix_rename uses.
    try:
        sftp._request(CMD_EXTENDED, "fsync@openssh.com", handle.handle)
    except OSError as exc:
        if exc.errno is not None or "unsupported" not in str(exc).lower():
            raise


def _remove_tree(sftp: Any, path: str) -> None:
    try:
        attrs = sftp.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(attrs.st_mode):
        for name in sftp.listdir(path):
            _remove_tree(sftp, posixpath.join(path, name))
        sftp.rmdir(path)
    else:
        sftp.remove(path)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
