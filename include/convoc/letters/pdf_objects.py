"""A letter file's page objects, written byte for byte as reportlab writes them, without its generic machinery.

reportlab formats every object of a PDF through one recursive function (a name object made per key, an
``isinstance`` cascade per value): for a batch of 5,000 letters, its 5,000 page dictionaries and 5,000
content streams took 1.1–1.4 s of an 8 s render. ``LetterPage`` and ``PageStream`` write the same bytes
directly: the dictionary's keys sorted and joined as ``PDFDictionary`` does, the references numbered by the
document in the same order (``Contents`` before ``Parent``, as ``PDFCatalog.format`` makes them), the stream
compressed by reportlab's own Flate filter. Whatever they do not expect — another filter, encryption, a
dictionary entry of the stream's own — goes to reportlab's own code. ``tests/unit/letters/test_render.py``
compares a whole batch file with reportlab's own output, byte for byte.
"""

from __future__ import annotations

from typing import Any

from reportlab import rl_config
from reportlab.pdfbase import pdfdoc


class PageStream(pdfdoc.PDFStream):  # type: ignore[misc]
    """A page's content stream: Flate-compressed, its dictionary ``/Filter`` and ``/Length`` alone."""

    def format(self, document: Any) -> bytes:
        if (
            self.filters != [pdfdoc.PDFZCompress]
            or self.dictionary.dict
            or not isinstance(document.encrypt, pdfdoc.NoEncryption)
        ):
            result: bytes = super().format(document)
            return result
        data = pdfdoc.PDFZCompress.encode(self.content)
        return b"<<\n/Filter [ /FlateDecode ] /Length %d\n>>\nstream\n%sendstream\n" % (len(data), data)


class LetterPage(pdfdoc.PDFPage):  # type: ignore[misc]
    """A page object: the entries reportlab's ``PDFPage`` would write, formatted without ``pdfdoc.format``
    where the value is a reference (all but one or two of them)."""

    def check_format(self, document: Any) -> None:
        super().check_format(document)
        if type(self.Contents) is pdfdoc.PDFStream:
            self.Contents.__class__ = PageStream

    def format(self, document: Any) -> bytes:
        self.check_format(document)
        entries: dict[str, Any] = {}
        for key, default in self.__Defaults__.items():
            value = getattr(self, key, default)
            if value is not None:
                entries[key] = value
        for key in self.__NoDefault__:
            value = getattr(self, key, None)
            if value is not None:
                entries[key] = value
        for key in self.__Refs__:
            if key in entries:
                entries[key] = document.Reference(entries[key])
        numbers = document.idToObjectNumberAndVersion
        items = []
        for key in sorted(entries):
            value = entries[key]
            if type(value) is pdfdoc.PDFObjectReference:
                formatted = b"%d %d R" % numbers[value.name]
            else:
                formatted = pdfdoc.format(value, document)
            items.append(b"/" + key.encode("ascii") + b" " + formatted)
        if rl_config.pdfMultiLine:  # PDFDictionary.format, multiline
            return b"<<\n" + b"\n ".join(items) + b"\n>>"
        for i in reversed(range(6, len(items), 6)):  # PDFDictionary.format: a line break every six entries
            items.insert(i, b"\n ")
        return b"<<\n" + b" ".join(items) + b"\n>>"
