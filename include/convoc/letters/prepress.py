"""What makes a print file a PDF/X-4 and PDF/VT-1 file: output intent, metadata, record boundaries.

``mark_for_press`` is applied to the reportlab canvas of a batch after its last page and before it is saved:

- **Version and identity**: PDF 1.6 (the version PDF/X-4 is built on); the trailer's ID and the XMP document
  id derived from the file's job and pieces (two files of a job never share one; a re-run gives the same).
- **Output intent**: one ``GTS_PDFX`` output intent whose ICC profile is ``icc/convoc-gray-press.icc``, the
  monochrome press the letters are printed on (class ``prtr``, colour space ``GRAY``; see
  ``convoc_dev.icc``). Everything on the pages is DeviceGray, the press's one black channel.
- **Metadata**: Info (title, dates, ``Trapped /False``, ``GTS_PDFXVersion``, ``GTS_PDFVTVersion``) and the
  same values in an uncompressed XMP packet (``pdfxid``, ``pdfvtid``, ``xmp``, ``xmpMM``, ``dc``, ``pdf``).
  Creation and modification dates are the job's (its letter date, 00:00 UTC), never the clock: a re-run
  writes the same bytes.
- **Record boundaries** (PDF/VT, ISO 16612-2): a ``DPartRoot`` whose one level of leaf ``DPart`` nodes are the
  pieces (``RecordLevel`` 1), each with its first page (``Start``; ``End`` when it has more than one) and its
  piece code as metadata (``DPM`` → ``CIP4_Root`` → ``CIP4_Recipient`` → ``CIP4_UniqueID``: no personal data);
  every page points back to its piece (``/DPart``). A RIP or an inserter finds where an envelope starts without
  the inserter run file.

``convoc.letters.preflight`` checks every rule this module follows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ICC_PROFILE = Path(__file__).parent / "icc" / "convoc-gray-press.icc"
OUTPUT_CONDITION = "convoc monochrome press"
"""The output intent's ``OutputConditionIdentifier`` (and ``Info``): what the print shop prints on."""
PDF_VERSION = (1, 6)
PDFX_VERSION = "PDF/X-4"
PDFVT_VERSION = "PDF/VT-1"
RENDITION_CLASS = "default"
DPARTS_PER_ARRAY = 8191
"""PDF/VT groups a node's children in arrays of at most 8,191 (PDF 1.x's array limit)."""
NODE_NAMES = ("Job", "Piece")
_DOCUMENT_IDS = uuid.UUID("5b0e4f3c-6a7d-4e61-9c1c-0f6e1b3a9d42")


@dataclass(frozen=True, slots=True)
class Record:
    """One piece of the file: its first page (1-based), its number of pages and its piece code."""

    first_page: int
    pages: int
    piece_code: str


def job_created(letter_date: date) -> datetime:
    """The creation date a job's files declare: the letter date, 00:00 UTC (never the clock)."""
    return datetime(letter_date.year, letter_date.month, letter_date.day, tzinfo=UTC)


def document_id(title: str, records: Sequence[Record]) -> str:
    """``uuid:…`` derived from the file's title and pieces: unique per file of a job, the same on a re-run."""
    key = f"{title}|{len(records)}|{records[0].piece_code}|{records[-1].piece_code}" if records else title
    return f"uuid:{uuid.uuid5(_DOCUMENT_IDS, key)}"


@cache
def icc_profile() -> bytes:
    return ICC_PROFILE.read_bytes()


def xmp_packet(
    *, title: str, author: str, subject: str, created: datetime, doc_id: str, producer: str, creator_tool: str
) -> bytes:
    """The file's XMP metadata: the same title, dates and trapping as its Info dictionary."""
    when = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {
        "title": escape(title),
        "author": escape(author),
        "subject": escape(subject),
        "when": when,
        "doc_id": escape(doc_id),
        "producer": escape(producer),
        "tool": escape(creator_tool),
    }
    return (
        (
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
            '<rdf:Description rdf:about=""\n'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
            ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
            ' xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"\n'
            ' xmlns:pdf="http://ns.adobe.com/pdf/1.3/"\n'
            ' xmlns:pdfxid="http://www.npes.org/pdfx/ns/id/"\n'
            ' xmlns:pdfvtid="http://www.npes.org/pdfvt/ns/id/">\n'
            "<dc:format>application/pdf</dc:format>\n"
            '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>\n'
            "<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>\n"
            '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>\n'
            "<xmp:CreateDate>{when}</xmp:CreateDate>\n"
            "<xmp:ModifyDate>{when}</xmp:ModifyDate>\n"
            "<xmp:MetadataDate>{when}</xmp:MetadataDate>\n"
            "<xmp:CreatorTool>{tool}</xmp:CreatorTool>\n"
            "<xmpMM:DocumentID>{doc_id}</xmpMM:DocumentID>\n"
            "<xmpMM:InstanceID>{doc_id}</xmpMM:InstanceID>\n"
            "<xmpMM:VersionID>1</xmpMM:VersionID>\n"
            f"<xmpMM:RenditionClass>{RENDITION_CLASS}</xmpMM:RenditionClass>\n"
            "<pdf:Producer>{producer}</pdf:Producer>\n"
            "<pdf:Trapped>False</pdf:Trapped>\n"
            f"<pdfxid:GTS_PDFXVersion>{PDFX_VERSION}</pdfxid:GTS_PDFXVersion>\n"
            f"<pdfvtid:GTS_PDFVTVersion>{PDFVT_VERSION}</pdfvtid:GTS_PDFVTVersion>\n"
            "<pdfvtid:GTS_PDFVTModDate>{when}</pdfvtid:GTS_PDFVTModDate>\n"
            "</rdf:Description>\n"
            "</rdf:RDF>\n"
            "</x:xmpmeta>\n"
            '<?xpacket end="r"?>'
        )
        .format(**values)
        .encode("utf-8")
    )


def _press_info() -> Any:
    """reportlab's Info dictionary with the PDF/X and PDF/VT version keys (poppler's ``pdfinfo`` shows them)."""
    from reportlab.pdfbase import pdfdoc

    class PressInfo(pdfdoc.PDFInfo):  # type: ignore[misc]
        def format(self, document: Any) -> bytes:
            values = {
                "Title": pdfdoc.PDFString(self.title),
                "Author": pdfdoc.PDFString(self.author),
                "Subject": pdfdoc.PDFString(self.subject),
                "Creator": pdfdoc.PDFString(self.creator),
                "Producer": pdfdoc.PDFString(self.producer),
                "CreationDate": pdfdoc.PDFDate(ts=document._timeStamp),
                "ModDate": pdfdoc.PDFDate(ts=document._timeStamp),
                "Trapped": pdfdoc.PDFName("False"),
                "GTS_PDFXVersion": pdfdoc.PDFString(PDFX_VERSION),
                "GTS_PDFVTVersion": pdfdoc.PDFString(PDFVT_VERSION),
            }
            return bytes(pdfdoc.PDFDictionary(values).format(document))

    return PressInfo()


def prepare_canvas(c: Any, *, title: str, author: str, subject: str, creator: str) -> None:
    """Before the first page: the Info dictionary of a press file and its fields."""
    c._doc.info = _press_info()
    c.setTitle(title)
    c.setAuthor(author)
    c.setSubject(subject)
    c.setCreator(creator)


def mark_for_press(c: Any, *, created: datetime, records: Sequence[Record]) -> None:
    """After the last page, before ``c.save()``: identity, dates, output intent, XMP and record boundaries.

    ``records`` are the file's pieces in page order; together they cover every page once."""
    from reportlab.pdfbase import pdfdoc

    doc = c._doc
    info = doc.info
    doc_id = document_id(info.title, records)
    doc.updateSignature(doc_id)  # the trailer's ID: per file, not per title
    stamp = doc._timeStamp
    moment = created.astimezone(UTC)
    stamp.YMDhms = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    stamp.dhh = stamp.dmm = 0

    catalog = doc.Catalog
    catalog.__NoDefault__ = [*pdfdoc.PDFCatalog.__NoDefault__, "OutputIntents", "DPartRoot"]
    profile = pdfdoc.PDFStream(pdfdoc.PDFDictionary({"N": 1}), icc_profile())
    catalog.OutputIntents = pdfdoc.PDFArray(
        [
            pdfdoc.PDFDictionary(
                {
                    "Type": pdfdoc.PDFName("OutputIntent"),
                    "S": pdfdoc.PDFName("GTS_PDFX"),
                    "OutputConditionIdentifier": pdfdoc.PDFString(OUTPUT_CONDITION),
                    "Info": pdfdoc.PDFString(OUTPUT_CONDITION),
                    "DestOutputProfile": doc.Reference(profile),
                }
            )
        ]
    )
    packet = xmp_packet(
        title=info.title,
        author=info.author,
        subject=info.subject,
        created=created,
        doc_id=doc_id,
        producer=info.producer,
        creator_tool=info.creator,
    )
    metadata = _plain_stream({"Type": pdfdoc.PDFName("Metadata"), "Subtype": pdfdoc.PDFName("XML")}, packet)
    catalog.Metadata = doc.Reference(metadata)
    catalog.DPartRoot = doc.Reference(_record_tree(doc, records))


def _plain_stream(entries: dict[str, Any], content: bytes) -> Any:
    """A stream written without any filter and without a ``/Filter`` key (reportlab writes an empty one):
    PDF/X wants the XMP packet readable as it is."""
    from reportlab.pdfbase import pdfdoc

    class PlainStream(pdfdoc.PDFStream):  # type: ignore[misc]
        def format(self, document: Any) -> bytes:
            head = pdfdoc.PDFDictionary({**entries, "Length": len(content)}).format(document)
            return bytes(head) + b"\nstream\n" + content + b"\nendstream\n"

    return PlainStream(content=content)


def _record_tree(doc: Any, records: Sequence[Record]) -> Any:
    from reportlab.pdfbase import pdfdoc

    from convoc.letters import pdf_objects

    pages = doc.Pages.pages
    covered = sum(r.pages for r in records)
    if covered != len(pages):
        raise ValueError(f"{len(records)} records cover {covered} pages; the file has {len(pages)}")
    root = pdfdoc.PDFDictionary({"Type": pdfdoc.PDFName("DPart")})
    root_ref = doc.Reference(root)
    page_keys = [*getattr(pages[0], "__NoDefault__", pdfdoc.PDFPage.__NoDefault__), "DPart"] if pages else []
    leaves = []
    for record in records:
        end = f"Page{record.first_page + record.pages - 1}" if record.pages > 1 else None
        part = pdf_objects.RecordPart(root_ref, f"Page{record.first_page}", end, record.piece_code)
        leaf_ref = doc.Reference(part if pdf_objects.ENABLED else part.as_dictionary())
        leaves.append(leaf_ref)
        for n in range(record.first_page, record.first_page + record.pages):
            page = pages[n - 1]
            page.__NoDefault__ = page_keys
            page.DPart = leaf_ref
    root.dict["DParts"] = pdfdoc.PDFArray(
        [pdfdoc.PDFArray(leaves[k : k + DPARTS_PER_ARRAY]) for k in range(0, len(leaves), DPARTS_PER_ARRAY)]
    )
    return pdfdoc.PDFDictionary(
        {
            "Type": pdfdoc.PDFName("DPartRoot"),
            "DPartRootNode": root_ref,
            "RecordLevel": 1,
            "NodeNameList": pdfdoc.PDFArray([pdfdoc.PDFName(n) for n in NODE_NAMES]),
        }
    )
