"""Where print jobs are delivered: the print shop's drop folder, local or remote.

A transport is a small set of file operations on paths *relative to the drop root* (POSIX separators).
``convoc.handoff.deliver`` builds atomic delivery on top of them (upload aside, verify checksums,
rename, ``READY`` last), so every transport gets the same guarantees. Implementations:
``LocalTransport`` (a folder, the default) and ``SftpTransport`` (the print shop's SFTP server through
the Airflow SFTP provider, ``convoc.handoff.sftp``).
"""

from __future__ import annotations

import ctypes
import errno
import io
import os
import shutil
import sys
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from convoc.files import fsync_dir as _fsync_dir
from convoc.files import sha256_file


class Transport(Protocol):
    """File operations on the print shop's drop folder; paths are relative to its root."""

    def exists(self, rel: str) -> bool:
        """True if a file or folder exists at ``rel``."""
        ...

    def listdir(self, rel: str) -> list[str]:
        """Names in folder ``rel`` (``""`` is the root), sorted; empty if the folder does not exist."""
        ...

    def makedir(self, rel: str) -> None:
        """Create folder ``rel`` (owner-only, 0700); parents must exist; no error if it exists."""
        ...

    def put_file(self, local: Path, rel: str) -> None:
        """Copy ``local`` to ``rel`` (owner-only, 0600), flushed to stable storage before returning."""
        ...

    def put_bytes(self, data: bytes, rel: str) -> None:
        """Write ``data`` to ``rel`` (owner-only, 0600), flushed to stable storage before returning."""
        ...

    def read_bytes(self, rel: str) -> bytes:
        """Content of file ``rel``; FileNotFoundError if missing."""
        ...

    def sha256(self, rel: str) -> str:
        """Hex SHA-256 of file ``rel`` as stored at the destination (read back, not remembered)."""
        ...

    def rename(self, src: str, dst: str) -> None:
        """Atomically rename ``src`` to ``dst``; FileExistsError if ``dst`` exists (never overwrites)."""
        ...

    def remove_tree(self, rel: str) -> None:
        """Remove file or folder ``rel`` and everything under it; no error if missing."""
        ...


class LocalTransport:
    """The drop folder ``root`` on a local (or mounted) file system: the default transport.

    Files are created 0600 and folders 0700 whatever the umask; every write is fsynced, and so is the
    folder that gained or lost a name (after writes, renames and removals), so that what a rename made
    visible survives a crash. ``rename`` never replaces an existing target (``renameat2`` with
    ``RENAME_NOREPLACE`` where the system has it, else a look before renaming). Relative paths must stay
    inside ``root``. ``root`` itself is created (0700) on first write.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalTransport({str(self.root)!r})"

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self._path(rel))

    def listdir(self, rel: str) -> list[str]:
        try:
            return sorted(os.listdir(self._path(rel)))
        except FileNotFoundError:
            return []

    def makedir(self, rel: str) -> None:
        path = self._path(rel)
        self._ensure_root()
        try:
            path.mkdir(mode=_DIR_MODE)
        except FileExistsError:
            if path.is_dir() and not path.is_symlink():
                return
            raise
        os.chmod(path, _DIR_MODE)
        _fsync_dir(path.parent)

    def put_file(self, local: Path, rel: str) -> None:
        with Path(local).open("rb") as src:
            self._write(rel, src)

    def put_bytes(self, data: bytes, rel: str) -> None:
        self._write(rel, io.BytesIO(data))

    def read_bytes(self, rel: str) -> bytes:
        return self._path(rel).read_bytes()

    def sha256(self, rel: str) -> str:
        return sha256_file(self._path(rel))

    def rename(self, src: str, dst: str) -> None:
        old, new = self._path(src), self._path(dst)
        if not os.path.lexists(old):
            raise FileNotFoundError(errno.ENOENT, "nothing to rename", src)
        _rename_noreplace(old, new, dst)
        _fsync_dir(new.parent)
        if old.parent != new.parent:
            _fsync_dir(old.parent)

    def remove_tree(self, rel: str) -> None:
        path = self._path(rel)
        if path == self.root:
            raise ValueError("remove_tree: refusing to remove the drop folder itself")
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            try:
                path.unlink()
            except FileNotFoundError:
                return
        _fsync_dir(path.parent)

    def _path(self, rel: str) -> Path:
        """Local path of ``rel``; ValueError if it is absolute or leaves the drop folder."""
        parts = PurePosixPath(rel).parts if rel else ()
        if rel.startswith("/") or ".." in parts:
            raise ValueError(f"not a path inside the print shop's drop folder: {rel!r}")
        return self.root.joinpath(*parts)

    def _ensure_root(self) -> None:
        if not self.root.is_dir():
            self.root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            os.chmod(self.root, _DIR_MODE)

    def _write(self, rel: str, src: IO[bytes]) -> None:
        path = self._path(rel)
        self._ensure_root()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
        with os.fdopen(fd, "wb") as dst:
            os.fchmod(dst.fileno(), _FILE_MODE)  # an existing file keeps its mode through O_CREAT
            shutil.copyfileobj(src, dst, _CHUNK)
            dst.flush()
            os.fsync(dst.fileno())
        _fsync_dir(path.parent)


_FILE_MODE = 0o600
_DIR_MODE = 0o700
_CHUNK = 1 << 20
_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _renameat2() -> Any:
    """libc's ``renameat2`` (Linux, glibc 2.28+ or musl), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def _rename_noreplace(old: Path, new: Path, shown: str) -> None:
    """Rename ``old`` to ``new``, failing with FileExistsError if ``new`` exists (even an empty folder)."""
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(_AT_FDCWD, os.fsencode(old), _AT_FDCWD, os.fsencode(new), _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "already in the print shop's drop folder", shown)
        if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # other errors are real
            raise OSError(err, os.strerror(err), shown)
    # No atomic no-replace rename on this system or file system: look first (one writer per job name).
    if os.path.lexists(new):
        raise FileExistsError(errno.EEXIST, "already in the print shop's drop folder", shown)
    os.rename(old, new)
