"""QR codes for letters, thousands per second, module for module what the ``qrcode`` package makes.

With the version, error-correction level and mask fixed, and the payload in byte mode, a QR matrix is
an affine function of the payload's bits over GF(2): the data bits are placed at fixed modules, the
Reed–Solomon codewords are linear in them, padding, function patterns, format information and the
mask are constants. So, for payloads of one length,

    matrix(p) = matrix(r) ⊕ ⨁ₖ [matrix(r with byte k := p[k]) ⊕ matrix(r)]

where ``r`` is the first payload of that length seen. The terms are built from the ``qrcode``
package's own output — one call per bit that ever differs from ``r``'s (at most 8 per byte
position; 4 where only digits ever stand), cached — so ``qrcode`` stays the encoder of record and
each further code costs a few XORs of Python integers instead of a pure-Python Reed–Solomon and mask
pass. Tests compare matrices with ``qrcode`` for random payloads.

A matrix is returned packed as PDF image-mask data: one bit per module (1 = dark), rows padded to
whole bytes, top row first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import qrcode
from qrcode.exceptions import DataOverflowError
from qrcode.util import MODE_8BIT_BYTE, QRData

from convoc.errors import ConvocError

LEVEL_M = qrcode.constants.ERROR_CORRECT_M


def reference_matrix(payload: bytes, version: int, mask: int) -> list[list[bool]]:
    """The ``qrcode`` package's matrix (no border) for ``payload`` in byte mode, level M."""
    qr = qrcode.QRCode(version=version, error_correction=LEVEL_M, box_size=1, border=0, mask_pattern=mask)
    qr.add_data(QRData(payload, mode=MODE_8BIT_BYTE))
    try:
        qr.make(fit=False)
    except DataOverflowError as exc:
        raise ConvocError(f"{payload!r} does not fit a version-{version} QR code at level M") from exc
    matrix: list[list[bool]] = qr.get_matrix()
    return matrix


@dataclass
class _Shape:
    """Everything known about payloads of one length: the reference and per-position bit deltas."""

    reference: bytes
    packed: int
    bit_deltas: dict[int, dict[int, int]] = field(default_factory=dict)
    value_deltas: dict[tuple[int, int], int] = field(default_factory=dict)


class QrEncoder:
    """QR codes of one version (1–40), level M, one fixed mask, byte mode; see the module docstring."""

    def __init__(self, version: int, mask: int = 0) -> None:
        if not 1 <= version <= 40 or not 0 <= mask <= 7:
            raise ValueError(f"QR version {version} / mask {mask} out of range")
        self.version = version
        self.mask = mask
        self.modules = 17 + 4 * version
        self.row_bytes = (self.modules + 7) // 8
        self._shapes: dict[int, _Shape] = {}

    def _pack(self, payload: bytes) -> int:
        matrix = reference_matrix(payload, self.version, self.mask)
        pad = 8 * self.row_bytes - self.modules
        packed = 0
        for row in matrix:
            bits = 0
            for dark in row:
                bits = (bits << 1) | dark
            packed = (packed << (self.modules + pad)) | (bits << pad)
        return packed

    def _shape(self, payload: bytes) -> _Shape:
        shape = self._shapes.get(len(payload))
        if shape is None:
            shape = self._shapes[len(payload)] = _Shape(payload, self._pack(payload))
        return shape

    def _value_delta(self, shape: _Shape, k: int, value: int) -> int:
        delta = shape.value_deltas.get((k, value))
        if delta is None:
            bits = shape.bit_deltas.setdefault(k, {})
            delta = 0
            diff = value ^ shape.reference[k]
            for b in range(8):
                if diff >> b & 1:
                    if b not in bits:  # only the bits that ever differ: a digit's top four never do
                        flipped = (
                            shape.reference[:k] + bytes([shape.reference[k] ^ (1 << b)]) + shape.reference[k + 1 :]
                        )
                        bits[b] = self._pack(flipped) ^ shape.packed
                    delta ^= bits[b]
            shape.value_deltas[k, value] = delta
        return delta

    def packed(self, payload: str | bytes) -> int:
        """The matrix as one integer: row-major bits (1 = dark), each row padded to whole bytes."""
        data = payload.encode() if isinstance(payload, str) else payload
        shape = self._shape(data)
        packed = shape.packed
        for k, (have, ref) in enumerate(zip(data, shape.reference, strict=True)):
            if have != ref:
                packed ^= self._value_delta(shape, k, have)
        return packed

    def image_mask(self, payload: str | bytes) -> bytes:
        """The matrix as PDF image-mask samples: ``row_bytes`` per row, top row first, 1 = dark."""
        return self.packed(payload).to_bytes(self.row_bytes * self.modules, "big")

    def rows(self, payload: str | bytes) -> list[list[bool]]:
        """The matrix as rows of booleans (True = dark), for tests and other drawers."""
        data = self.image_mask(payload)
        n, step = self.modules, self.row_bytes
        return [[bool(data[r * step + c // 8] >> (7 - c % 8) & 1) for c in range(n)] for r in range(n)]
