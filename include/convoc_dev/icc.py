"""Make the print files' output profile: a monochrome press (one black channel) as an ICC v2 output profile.

The letters are printed in black only on a production press, so the files' output intent is a gray *output*
profile (device class ``prtr``, colour space ``GRAY``): DeviceGray is then the press's one black channel, and a
PDF/X preflight finds the output condition it needs. No such profile is shipped by a Debian package under a free
licence (icc-profiles-free and colord ship display profiles; Ghostscript's press profiles are AGPL), so convoc
makes its own, public domain (CC0), with this module; the result is kept in
``include/convoc/letters/icc/convoc-gray-press.icc`` and a test keeps the two identical.

The tone curve is a black toner on uncoated paper: maximum density 1.5 and a dot gain of 15 % at the 50 % tint
(parabolic), so gray values print darker than they read on a screen, as they do on the press. Text and codes
are solid black (tint 100 %) and do not depend on it.

    python -m convoc_dev.icc include/convoc/letters/icc/convoc-gray-press.icc
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

DESCRIPTION = "convoc monochrome press (black toner, uncoated paper, dot gain 15 %)"
COPYRIGHT = "No copyright: CC0 1.0, public domain (convoc)"
MAX_DENSITY = 1.5
DOT_GAIN = 0.15
D50 = (0.9642, 1.0, 0.8249)
CREATED = (2026, 11, 30, 0, 0, 0)
ENTRIES = 256


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(xyz: tuple[float, float, float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _text(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _desc(text: str) -> bytes:
    """textDescriptionType (ICC v2): ASCII, an empty Unicode and an empty ScriptCode description."""
    ascii_ = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_)) + ascii_ + b"\0" * 8 + b"\0\0" + b"\0" + b"\0" * 67


def tone_curve() -> list[int]:
    """Device gray (0 black … 1 paper white) → relative luminance Y, as 16-bit entries."""
    solid = 10 ** (-MAX_DENSITY)
    entries = []
    for i in range(ENTRIES):
        tint = 1 - i / (ENTRIES - 1)
        coverage = min(1.0, tint + 4 * DOT_GAIN * tint * (1 - tint))
        entries.append(round((1 - coverage * (1 - solid)) * 65535))
    return entries


def _curve(entries: list[int]) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(f">I{len(entries)}H", len(entries), *entries)


def gray_press_profile() -> bytes:
    """The profile's bytes (deterministic)."""
    tags = [
        (b"desc", _desc(DESCRIPTION)),
        (b"cprt", _text(COPYRIGHT)),
        (b"wtpt", _xyz(D50)),
        (b"kTRC", _curve(tone_curve())),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = [], b""
    for signature, body in tags:
        start = offset + len(data)
        table.append(struct.pack(">4sII", signature, start, len(body)))
        data += body + b"\0" * (-len(body) % 4)  # each tag on a 4-byte boundary
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"  # preferred CMM: none
        + struct.pack(">I", 0x02100000)  # version 2.1
        + b"prtr"  # output device
        + b"GRAY"
        + b"XYZ "
        + struct.pack(">6H", *CREATED)
        + b"acsp"
        + b"\0\0\0\0"  # primary platform: none
        + b"\0\0\0\0"  # flags
        + b"\0\0\0\0" * 2  # manufacturer, model
        + b"\0" * 8  # attributes: reflective, glossy, positive, colour media (ICC defaults)
        + struct.pack(">I", 1)  # rendering intent: relative colorimetric
        + b"".join(_s15(v) for v in D50)  # PCS illuminant
        + b"\0\0\0\0"  # creator
    )
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + b"".join(table) + data


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m convoc_dev.icc OUT.icc", file=sys.stderr)
        return 2
    Path(args[0]).write_bytes(gray_press_profile())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
