"""Keeping personal data out of logs, quarantine tables and reports."""

from __future__ import annotations

_MAX_SHOWN = 64


def _escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def mask_value(value: object, personal: bool) -> str | None:
    """How a rejected value is shown: control characters escaped, and if ``personal`` only its shape.

    The shape keeps what explains a rejection without the data: letters become ``x``/``X``, digits
    ``9``, anything else (separators, control characters) stays. ``"Jo\\x07ão"`` → ``"Xx\\x07xx"``,
    ``"31/02/1985"`` → ``"99/99/9999"``.
    """
    if value is None or (isinstance(value, float) and value != value):  # None or NaN
        return None
    full = str(value)
    text = full[:_MAX_SHOWN]
    if personal:
        text = "".join(("X" if ch.isupper() else "x") if ch.isalpha() else "9" if ch.isdigit() else ch for ch in text)
    shown = "".join(_escape(ch) for ch in text[:_MAX_SHOWN])
    return shown + ("…" if len(full) > _MAX_SHOWN else "")
