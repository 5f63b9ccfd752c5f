"""Opaque booking codes printed on invitation letters.

A booking code is typed by a person on the booking site or scanned from the QR code of the letter.
It is derived with HMAC-SHA256 from the invitation id (e.g. ``"vaccination:1:123:1"``) and a secret
key, so it holds no personal data and cannot be made without the key.

Shape: 11 symbols of Crockford's base32 (the first 55 bits of the HMAC digest), then one check
symbol (Luhn mod N from python-stdnum over the 11 symbols), shown as ``XXXX-XXXX-XXXC``; an optional
campaign suffix of 1–3 symbols may follow (``XXXX-XXXX-XXXC-T``). The check symbol covers the
11 body symbols only, not the suffix.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stdnum import luhn

from convoc.errors import ConvocError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base32: digits and upper-case letters without I, L, O and U."""

BODY_LENGTH = 11
"""Symbols taken from the HMAC digest (11 × 5 = 55 bits)."""
CODE_LENGTH = BODY_LENGTH + 1
"""Body plus the check symbol."""
MAX_SUFFIX_LENGTH = 3
"""Longest campaign suffix, in symbols."""
MIN_KEY_LENGTH = 32
"""Shortest signing key accepted, in characters."""
KEY_ENV = "CONVOC_SIGNING_KEY"
"""Environment variable holding the signing key itself."""
KEY_FILE_ENV = "CONVOC_SIGNING_KEY_FILE"
"""Environment variable holding the path of a file that holds the signing key."""
AIRFLOW_CONNECTION = "convoc_signing_key"
"""Airflow connection id under which deployments keep the signing key."""

_CROCKFORD_READING = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -\t")
_ALPHABET_SET = frozenset(ALPHABET)
_SHIFTS = tuple(5 * (BODY_LENGTH - 1 - i) for i in range(BODY_LENGTH))


class InvalidCode(ConvocError):
    """A text that is not a well-formed booking code; the message says what to correct."""


class MissingSigningKey(ConvocError):
    """No signing key for booking codes was provided."""


class SigningKeyRefused(ConvocError):
    """A signing key was provided but is unsafe to use (too short, or its file is readable by others)."""


@dataclass(frozen=True)
class ParsedCode:
    """A booking code taken apart: the 11 body symbols, the check symbol and the optional campaign suffix."""

    body: str
    check: str
    suffix: str | None = None

    def formatted(self) -> str:
        """The code as printed: ``XXXX-XXXX-XXXC`` plus ``-SUFFIX`` when there is one."""
        symbols = self.body + self.check
        groups = [symbols[i : i + 4] for i in range(0, CODE_LENGTH, 4)]
        if self.suffix:
            groups.append(self.suffix)
        return "-".join(groups)


def _check_suffix(suffix: str) -> str:
    if not 1 <= len(suffix) <= MAX_SUFFIX_LENGTH or any(ch not in _ALPHABET_SET for ch in suffix):
        raise ValueError(
            f"campaign suffix {suffix!r} must be 1 to {MAX_SUFFIX_LENGTH} symbols of {ALPHABET} (upper case)"
        )
    return suffix


def _body(invitation_id: str, key: bytes) -> str:
    digest = hmac.new(key, invitation_id.encode("utf-8"), hashlib.sha256).digest()
    bits = int.from_bytes(digest[:7], "big") >> 1  # first 55 of the 56 bits
    return "".join(ALPHABET[(bits >> (5 * (BODY_LENGTH - 1 - i))) & 0x1F] for i in range(BODY_LENGTH))


def make_code(invitation_id: str, key: bytes, suffix: str | None = None) -> str:
    """The printed booking code of an invitation id under a signing key, e.g. ``7QK2-M0ZD-4R1X``.

    ``suffix`` (1–3 symbols of ``ALPHABET``) marks a campaign; it is appended as ``-T`` and not
    covered by the check symbol. Raises ``ValueError`` for an empty key or an invalid suffix.
    """
    if not key:
        raise ValueError("signing key is empty")
    body = _body(invitation_id, key)
    check = luhn.calc_check_digit(body, alphabet=ALPHABET)
    return ParsedCode(body, check, _check_suffix(suffix) if suffix is not None else None).formatted()


HMAC_BLOCK = 64
"""SHA-256's block size in bytes: HMAC pads (or first hashes) the key to it."""


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104) for ``key``: what the warehouse's
    ``booking_code_bits`` macro (``sql/macros/booking_code.sql``) takes in place of the key, so that a wave's codes
    are made in one statement. Raises ``ValueError`` for an empty key."""
    if not key:
        raise ValueError("signing key is empty")
    block = (hashlib.sha256(key).digest() if len(key) > HMAC_BLOCK else key).ljust(HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def check_suffix(suffix: str | None) -> str | None:
    """``suffix`` if it is a valid campaign suffix (or None); ``ValueError`` naming the rule otherwise."""
    return None if suffix is None else _check_suffix(suffix)


def _compact(text: str) -> str:
    return text.upper().translate(_IGNORED).translate(_CROCKFORD_READING)


def normalize(text: str) -> str:
    """The symbols a person typed, read the Crockford way.

    Upper-cases, drops spaces and hyphens, reads O as 0 and I, L as 1. The first 12 symbols are the
    code; anything after them is the campaign suffix and is kept separated by one hyphen:
    ``"7qk2 m0zd 4r1x t"`` → ``"7QK2M0ZD4R1X-T"``. Does not validate (see ``parse``).
    """
    compact = _compact(text)
    if len(compact) > CODE_LENGTH:
        return compact[:CODE_LENGTH] + "-" + compact[CODE_LENGTH:]
    return compact


def parse(text: str) -> ParsedCode:
    """The booking code in ``text`` (as printed or as typed), taken apart and checked.

    Raises ``InvalidCode`` with a message a person can act on: a symbol outside the alphabet (named,
    with its position), a wrong number of symbols, or a check symbol that does not match.
    """
    compact = _compact(text)
    for position, ch in enumerate(compact, start=1):
        if ch not in _ALPHABET_SET:
            hint = " (the letter U is not used in booking codes)" if ch == "U" else ""
            raise InvalidCode(
                f"symbol {ch!r} at position {position} (not counting spaces and hyphens) is not used in "
                f"booking codes{hint}; codes use the digits 0-9 and the letters A-Z except I, L, O and U"
            )
    if not CODE_LENGTH <= len(compact) <= CODE_LENGTH + MAX_SUFFIX_LENGTH:
        raise InvalidCode(
            f"wrong length: a booking code has {CODE_LENGTH} symbols (XXXX-XXXX-XXXX), optionally followed "
            f"by a campaign suffix of 1 to {MAX_SUFFIX_LENGTH} symbols; got {len(compact)} symbols"
        )
    body, check, suffix = compact[:BODY_LENGTH], compact[BODY_LENGTH], compact[CODE_LENGTH:]
    if luhn.calc_check_digit(body, alphabet=ALPHABET) != check:
        raise InvalidCode("check symbol does not match: probably a mistyped symbol; please compare with the letter")
    return ParsedCode(body, check, suffix or None)


def is_well_formed(text: str) -> bool:
    """Whether ``text`` is a booking code of the right shape with a matching check symbol (no key needed)."""
    try:
        parse(text)
    except InvalidCode:
        return False
    return True


def verify(text: str, invitation_id: str, key: bytes) -> bool:
    """Whether ``text`` is the booking code the key gives for ``invitation_id`` (any campaign suffix).

    Compares in constant time; a malformed text is simply not valid.
    """
    try:
        parsed = parse(text)
    except InvalidCode:
        return False
    body = _body(invitation_id, key)
    expected = body + luhn.calc_check_digit(body, alphabet=ALPHABET)
    return hmac.compare_digest(parsed.body + parsed.check, expected)


def checked_key(key: str, origin: str) -> bytes:
    """``key`` as bytes, if long enough to sign with; ``SigningKeyRefused`` naming ``origin`` (never the key)."""
    if len(key) < MIN_KEY_LENGTH:
        raise SigningKeyRefused(
            f"signing key from {origin} is {len(key)} characters long; at least {MIN_KEY_LENGTH} are needed "
            '(make one with: python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    return key.encode("utf-8")


def _read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MissingSigningKey(f"signing key file {path} (from {KEY_FILE_ENV}) does not exist") from None
    if mode & 0o077:
        raise SigningKeyRefused(
            f"signing key file {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"restrict it with: chmod 600 {path}"
        )
    return checked_key(path.read_text(encoding="utf-8").strip(), f"file {path}")


def load_key(env: Mapping[str, str] | None = None) -> bytes:
    """The secret key booking codes are signed with, as bytes.

    Taken from ``CONVOC_SIGNING_KEY`` (the key itself, UTF-8) or else from the file named by
    ``CONVOC_SIGNING_KEY_FILE`` (which must not be readable by group or others). ``env`` defaults to
    ``os.environ``. Raises ``MissingSigningKey`` when neither is set (there is no built-in key) and
    ``SigningKeyRefused`` for a key under 32 characters or a key file open to others.
    """
    env = os.environ if env is None else env
    key = env.get(KEY_ENV)
    if key:
        return checked_key(key, KEY_ENV)
    key_file = env.get(KEY_FILE_ENV)
    if key_file:
        return _read_key_file(Path(key_file))
    raise MissingSigningKey(
        f"no signing key for booking codes: set {KEY_ENV} to the key itself (at least {MIN_KEY_LENGTH} "
        f"characters), or {KEY_FILE_ENV} to a file holding it (mode 0600), or, under Airflow, the connection "
        f"`{AIRFLOW_CONNECTION}`. There is no built-in key: codes made with a published key could be forged."
    )


def create_key_file(path: Path) -> Path:
    """A signing key file for the demo at ``path``, created if missing, and returned.

    A missing file gets a fresh random key (``secrets.token_urlsafe(48)``) with mode 0600, its missing
    parent directories mode 0700. An existing file is left as it is but checked like ``load_key`` does.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
    _read_key_file(path)
    return path
