"""One e-mail invitation: the letter's text in the person's language, as plain text and accessible HTML, with the
booking QR code as an inline image.

Built from the same templates as the letter (``convoc.letters.content.Wording``), so the e-mail and the letter
never say different things. ``multipart/alternative`` (text, then HTML) inside ``multipart/related`` with the QR
code (PNG, ``Content-ID``), so a client that shows no HTML or no images still has everything: the booking code is
in the text, the link is a link. The HTML is made for screen readers: ``lang`` on the document, one ``h1`` (the
subject) and ``h2`` per part, the code as text in its own labelled paragraph, ``alt`` on the image saying what
it encodes. ``Message-ID`` is derived from the invitation id (``message_id``): the same invitation always gets
the same id, which is what lets a re-sent message be recognised as the same one.
"""

from __future__ import annotations

import html
import struct
import zlib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from convoc.letters.content import BOOKING_URL, HOTLINE, LABELS, Letter, Template, Wording, letter_languages
from convoc.letters.qr import QrEncoder
from convoc.letters.render import BOOKING_QR_VERSION, QR_MASK

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


def message_id(invitation_id: str) -> str:
    """``<vaccination.1.123.1@invitations.convoc.example.lu>`` for ``vaccination:1:123:1``: one per invitation."""
    return f"<{invitation_id.replace(':', '.')}@{MESSAGE_DOMAIN}>"


@cache
def _encoder() -> QrEncoder:
    return QrEncoder(BOOKING_QR_VERSION, QR_MASK)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def qr_png(payload: str) -> bytes:
    """The booking QR code as a 1-bit grayscale PNG (6 pixels a module, a 4-module quiet zone), written directly
    (signature, IHDR, one IDAT, IEND): about 550 bytes in a few tens of microseconds. Each row of modules is
    widened and packed once, then repeated; zlib's fastest level (the image is mostly runs: a quarter larger than
    at level 6, in a quarter of the time)."""
    import numpy as np

    encoder = _encoder()
    n = encoder.modules
    size = (n + 2 * QR_QUIET_MODULES) * QR_MODULE_PX
    # the letters' image mask (packed rows, 1 = dark), unpacked, inverted (1 is white) inside a white quiet zone
    white = np.ones((n + 2 * QR_QUIET_MODULES, n + 2 * QR_QUIET_MODULES), dtype=np.uint8)
    mask = np.unpackbits(np.frombuffer(encoder.image_mask(payload), dtype=np.uint8)).reshape(n, -1)[:, :n]
    white[QR_QUIET_MODULES:-QR_QUIET_MODULES, QR_QUIET_MODULES:-QR_QUIET_MODULES] = 1 - mask
    packed = np.packbits(np.repeat(white, QR_MODULE_PX, axis=1), axis=1)
    rows = np.zeros((packed.shape[0], packed.shape[1] + 1), dtype=np.uint8)  # filter byte 0 (none), then the row
    rows[:, 1:] = packed
    scanlines = np.repeat(rows, QR_MODULE_PX, axis=0)
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # 1 bit, grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 1))
        + _chunk(b"IEND", b"")
    )


@lru_cache(maxsize=4096)
def _escape(text: str) -> str:
    """``html.escape``, cached: a template's paragraphs, subjects and labels are the same in thousands of messages
    (bounded: a paragraph naming the person is new in each)."""
    return html.escape(text)


@lru_cache(maxsize=64)
def _sender(sender: tuple[str, str]) -> str:
    return formataddr(sender)


@lru_cache(maxsize=64)
def _date_header(sent_on: date) -> str:
    """The Date of every message sent for ``sent_on``: 08:00 UTC."""
    from datetime import UTC, datetime

    return format_datetime(datetime(sent_on.year, sent_on.month, sent_on.day, 8, 0, tzinfo=UTC))


def _html_document(lang: str, title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_escape(title)}</title>\n'
        "</head>\n"
        '<body style="font-family: Verdana, DejaVu Sans, sans-serif; font-size: 16px; line-height: 1.5; '
        'color: #000; background: #fff; max-width: 40em;">\n'
        f"{body}</body>\n</html>\n"
    )


@dataclass(frozen=True, slots=True)
class Content:
    """What one e-mail says: its headers' values, the plain text, the HTML and the inline QR code."""

    message_id: str
    sender: str
    to: str
    subject: str
    date: str
    languages: str
    plain: str
    html: str
    cid: str
    png: bytes


def content(
    invitation: Invitation,
    templates: Mapping[tuple[str, str], Template],
    *,
    sent_on: date,
    booking_url: str = BOOKING_URL,
    hotline: str = HOTLINE,
    sender: tuple[str, str] = SENDER,
    png: bytes | None = None,
) -> Content:
    """The invitation's e-mail content (see the module doc); ``png``: the QR code already made, else made here.
    The Date is the day the message is sent for, 08:00 UTC."""
    letter = invitation.letter
    langs = letter_languages(letter.language)
    texts = Wording(templates, booking_url, hotline).texts(letter, langs)
    url = booking_url + letter.booking_code
    code_label = " / ".join(templates[letter.campaign, lang].labels.get("code", LABELS[lang]["code"]) for lang in langs)
    subject_line = " / ".join(subject for subject, _ in texts)

    plain = []
    for subject, paragraphs in texts:
        plain += [subject, "=" * len(subject), "", *(p + "\n" for p in paragraphs)]
    plain += [f"{code_label}: {letter.booking_code}", url, ""]

    cid = f"qr.{letter.invitation_id.replace(':', '.')}@{MESSAGE_DOMAIN}"
    parts = []
    for k, (lang, (subject, paragraphs)) in enumerate(zip(langs, texts, strict=True)):
        heading = "h1" if k == 0 else "h2"
        body = "".join(f"<p>{_escape(p)}</p>\n" for p in paragraphs)
        parts.append(f'<section lang="{lang}">\n<{heading}>{_escape(subject)}</{heading}>\n{body}</section>\n')
    alt = " / ".join(QR_ALT[lang].format(url=url) for lang in langs)
    booking = (
        f'<p><strong>{_escape(code_label)}:</strong> <span style="font-family: DejaVu Sans Mono, monospace; '
        f'font-size: 20px; letter-spacing: 0.1em;">{html.escape(letter.booking_code)}</span></p>\n'
        f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>\n'
        f'<p><img src="cid:{cid}" alt="{html.escape(alt)}" width="246" height="246"></p>\n'
    )
    return Content(
        message_id=message_id(letter.invitation_id),
        sender=_sender(sender),
        to=invitation.email,
        subject=subject_line,
        date=_date_header(sent_on),
        languages=", ".join(langs),
        plain="\n".join(plain),
        html=_html_document(langs[0], subject_line, "".join(parts) + booking),
        cid=cid,
        png=png or qr_png(url),
    )


def build_message(
    invitation: Invitation, templates: Mapping[tuple[str, str], Template], **options: Any
) -> EmailMessage:
    """The invitation's e-mail as an ``EmailMessage`` (the standard library's reference build of ``content``):
    headers, text and HTML alternatives, the QR code inline."""
    c = content(invitation, templates, **options)
    msg = EmailMessage()
    msg["Message-ID"] = c.message_id
    msg["From"] = c.sender
    msg["To"] = c.to
    msg["Subject"] = c.subject
    msg["Date"] = c.date
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(c.plain, cte="quoted-printable")
    msg.add_alternative(c.html, subtype="html")
    html_part = next(part for part in msg.iter_parts() if part.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)  # add_alternative made it one
    html_part.add_related(c.png, "image", "png", cid=f"<{c.cid}>", filename="booking-qr.png")
    msg["Content-Language"] = c.languages  # after the parts: setting content drops Content-* headers
    return msg


@lru_cache(maxsize=1024)
def _encoded_header(text: str) -> bytes:
    """A header value as RFC 2047 encoded words where it is not ASCII (subjects and the sender repeat: cached, but
    bounded — a template may put the person's name in its subject, and a day holds a million of them)."""
    from email.header import Header

    try:
        text.encode("ascii")
        return text.encode("ascii")
    except UnicodeEncodeError:
        return Header(text, "utf-8", maxlinelen=998).encode().encode("ascii")


def _qp(text: str) -> bytes:
    import binascii

    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def message_bytes(invitation: Invitation, templates: Mapping[tuple[str, str], Template], **options: Any) -> bytes:
    """The same message as ``build_message``, written straight to its wire form (CRLF, quoted-printable text and
    HTML, base64 image): a tenth of the time of the standard library's generator, which is what a national day of
    e-mails costs. A test parses both and finds the same headers, texts and image."""
    import binascii

    c = content(invitation, templates, **options)
    key = c.message_id.strip("<>").split("@", 1)[0]
    outer, inner = f"=_alt_{key}".encode(), f"=_rel_{key}".encode()
    encoded = binascii.b2a_base64(c.png, newline=False)  # in lines of 76 characters (57 bytes), as email's base64
    png = b"".join([encoded[k : k + 76] + b"\r\n" for k in range(0, len(encoded), 76)])
    return b"".join(
        [
            b"Message-ID: ", c.message_id.encode("ascii"), b"\r\n",
            b"From: ", _encoded_header(c.sender), b"\r\n",
            b"To: ", c.to.encode("ascii"), b"\r\n",
            b"Subject: ", _encoded_header(c.subject), b"\r\n",
            b"Date: ", c.date.encode("ascii"), b"\r\n",
            b"Auto-Submitted: auto-generated\r\n",
            b"Content-Language: ", c.languages.encode("ascii"), b"\r\n",
            b"MIME-Version: 1.0\r\n",
            b'Content-Type: multipart/alternative; boundary="', outer, b'"\r\n\r\n',
            b"--", outer, b"\r\n",
            b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
            _qp(c.plain), b"\r\n",
            b"--", outer, b"\r\n",
            b'Content-Type: multipart/related; boundary="', inner, b'"\r\n\r\n',
            b"--", inner, b"\r\n",
            b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
            _qp(c.html), b"\r\n",
            b"--", inner, b"\r\n",
            b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n",
            b'Content-Disposition: inline; filename="booking-qr.png"\r\n',
            b"Content-ID: <", c.cid.encode("ascii"), b">\r\n\r\n",
            png,
            b"--", inner, b"--\r\n",
            b"--", outer, b"--\r\n",
        ]
    )  # fmt: skip
