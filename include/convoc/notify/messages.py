"""One e-mail invitation: the letter's text in the person's language, as plain text and accessible HTML, with the
booking QR code as an inline image.

Built from the same templates as the letter (``convoc.letters.render.letter_texts``), so the e-mail and the letter
never say different things. ``multipart/alternative`` (text, then HTML) inside ``multipart/related`` with the QR
code (PNG, ``Content-ID``), so a client that shows no HTML or no images still has everything: the booking code is
in the text, the link is a link. The HTML is made for screen readers: ``lang`` on the document, one ``h1`` (the
subject) and ``h2`` per part, the code as text in its own labelled paragraph, ``alt`` on the image saying what
it encodes. ``Message-ID`` is derived from the invitation id (``message_id``): the same invitation always gets
the same id, which is what lets a re-sent message be recognised as the same one.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import cache
from typing import TYPE_CHECKING

from convoc.letters.qr import QrEncoder
from convoc.letters.render import (
    BOOKING_QR_VERSION,
    BOOKING_URL,
    HOTLINE,
    LABELS,
    QR_MASK,
    Letter,
    Template,
    letter_languages,
    letter_texts,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

MESSAGE_DOMAIN = "invitations.convoc.example.lu"
"""The right-hand side of every ``Message-ID``."""
SENDER = ("Ministère de la Santé", "invitations@convoc.example.lu")
QR_MODULE_PX = 6
QR_QUIET_MODULES = 4
QR_ALT = {
    "fr": "Code QR de réservation : il ouvre {url}",
    "de": "QR-Code zur Terminbuchung: er öffnet {url}",
    "en": "Booking QR code: it opens {url}",
    "pt": "Código QR de marcação: abre {url}",
}


@dataclass(frozen=True, slots=True)
class Invitation:
    """What an e-mail invitation needs: the letter's fields (no address) and the recipient's address."""

    letter: Letter
    email: str
    format: str = "standard"


def message_id(invitation_id: str) -> str:
    """``<vaccination.1.123.1@invitations.convoc.example.lu>`` for ``vaccination:1:123:1``: one per invitation."""
    return f"<{invitation_id.replace(':', '.')}@{MESSAGE_DOMAIN}>"


@cache
def _encoder() -> QrEncoder:
    return QrEncoder(BOOKING_QR_VERSION, QR_MASK)


def qr_png(payload: str) -> bytes:
    """The booking QR code as a 1-bit PNG (6 pixels a module, a 4-module quiet zone): a few hundred bytes."""
    import numpy as np
    from PIL import Image

    dark = np.array(_encoder().rows(payload), dtype=bool)
    padded = np.pad(dark, QR_QUIET_MODULES, constant_values=False)
    pixels = np.kron(padded, np.ones((QR_MODULE_PX, QR_MODULE_PX), dtype=bool))
    image = Image.fromarray(~pixels)  # mode "1": True is white
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _html_document(lang: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{html.escape(title)}</title>\n'
        "</head>\n"
        '<body style="font-family: Verdana, DejaVu Sans, sans-serif; font-size: 16px; line-height: 1.5; '
        'color: #000; background: #fff; max-width: 40em;">\n'
        f"{body}</body>\n</html>\n"
    )


def build_message(
    invitation: Invitation,
    templates: Mapping[tuple[str, str], Template],
    *,
    sent_on: date,
    booking_url: str = BOOKING_URL,
    hotline: str = HOTLINE,
    sender: tuple[str, str] = SENDER,
    png: bytes | None = None,
) -> EmailMessage:
    """The invitation's e-mail: headers, text and HTML alternatives, the QR code inline. ``png``: the QR code
    already made (a re-send), else made here. The Date header is the day the message is sent for."""
    from datetime import UTC, datetime

    letter = invitation.letter
    langs = letter_languages(letter.language)
    texts = letter_texts(letter, langs, templates, booking_url, hotline)
    url = booking_url + letter.booking_code
    code_label = " / ".join(templates[letter.campaign, lang].labels.get("code", LABELS[lang]["code"]) for lang in langs)

    msg = EmailMessage()
    msg["Message-ID"] = message_id(letter.invitation_id)
    msg["From"] = formataddr(sender)
    msg["To"] = invitation.email
    msg["Subject"] = " / ".join(subject for subject, _ in texts)
    msg["Date"] = format_datetime(datetime(sent_on.year, sent_on.month, sent_on.day, 8, 0, tzinfo=UTC))
    msg["Auto-Submitted"] = "auto-generated"

    plain = []
    for subject, paragraphs in texts:
        plain += [subject, "=" * len(subject), "", *(p + "\n" for p in paragraphs)]
    plain += [f"{code_label}: {letter.booking_code}", url, ""]
    msg.set_content("\n".join(plain), cte="quoted-printable")

    cid = f"qr.{letter.invitation_id.replace(':', '.')}@{MESSAGE_DOMAIN}"
    parts = []
    for k, (lang, (subject, paragraphs)) in enumerate(zip(langs, texts, strict=True)):
        heading = "h1" if k == 0 else "h2"
        body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
        parts.append(f'<section lang="{lang}">\n<{heading}>{html.escape(subject)}</{heading}>\n{body}</section>\n')
    alt = " / ".join(QR_ALT[lang].format(url=url) for lang in langs)
    booking = (
        f'<p><strong>{html.escape(code_label)}:</strong> <span style="font-family: DejaVu Sans Mono, monospace; '
        f'font-size: 20px; letter-spacing: 0.1em;">{html.escape(letter.booking_code)}</span></p>\n'
        f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>\n'
        f'<p><img src="cid:{cid}" alt="{html.escape(alt)}" width="246" height="246"></p>\n'
    )
    msg.add_alternative(_html_document(langs[0], msg["Subject"], "".join(parts) + booking), subtype="html")
    html_part = next(part for part in msg.iter_parts() if part.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)  # add_alternative made it one
    html_part.add_related(png or qr_png(url), "image", "png", cid=f"<{cid}>", filename="booking-qr.png")
    msg["Content-Language"] = ", ".join(langs)  # after the parts: setting content drops Content-* headers
    return msg
