"""The fonts the letters and the report embed: DejaVu Sans, Sans Bold and Sans Mono, shipped with the package.

The files are DejaVu 2.37 as Debian's ``fonts-dejavu-core`` installs them, byte for byte; ``LICENSE`` (the
Bitstream Vera licence, DejaVu's changes in the public domain) travels with them, as the licence asks, and
``README.md`` says where they come from. A machine needs no font package: ``make install`` is enough.
"""

from __future__ import annotations

from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent
"""This folder: the font files, their LICENSE and README.md."""

FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")
"""The shipped font files."""


def font_path(file: str) -> Path:
    """Path of one of the shipped font ``FILES``, e.g. ``font_path("DejaVuSans.ttf")``."""
    if file not in FILES:
        raise ValueError(f"{file!r} is not a font shipped with convoc (one of {', '.join(FILES)})")
    return FONT_DIR / file
