"""Private, crash-safe files: what every stage that writes names, addresses or print jobs relies on.

Folders are owner-only (0700) and files owner-only (0600) whatever the umask; a file replaced in place is
written aside, fsynced and renamed, and its folder fsynced, so a crash leaves the old or the new content,
never a mix.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_dirs(*paths: Path) -> None:
    """Create each folder (and missing parents), owner-only."""
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (names created, renamed or removed) to stable storage."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (0600; written aside as ``.<name>.part``, fsynced, renamed,
    folder fsynced); a missing folder is created owner-only."""
    if not path.parent.is_dir():
        private_dirs(path.parent)
    part = path.with_name(f".{path.name}.part")
    try:
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
