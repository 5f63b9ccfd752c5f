"""Invitation letters: one A4 page per piece, rendered in batches into one PDF per batch.

``layout`` holds the DIN 5008 form B geometry (mm) and the address-block fit rule; ``render`` draws
the pages with reportlab's canvas (static part as a form XObject, QR codes as vector paths).
"""

from __future__ import annotations
