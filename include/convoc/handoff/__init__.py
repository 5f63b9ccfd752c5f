"""Hand-off to the print shop: print jobs built from released PDFs, delivered atomically.

``job`` builds a job folder (PDFs, manifests, inserter run file, job ticket); ``deliver`` puts it into the
print shop's drop folder through a ``transport`` (``LocalTransport``, or ``SftpTransport`` in ``sftp``). The
print shop itself is played by ``convoc_dev.printshop`` for the demo and tests. Nothing is imported here, so
that using one part never pulls in another's dependencies (paramiko).
"""

from __future__ import annotations
