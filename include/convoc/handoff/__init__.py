"""Hand-off to the print shop: print jobs built from released PDFs, delivered atomically, and a simulator.

``job`` builds a job folder (PDFs, manifests, inserter run file, job ticket); ``deliver`` puts it into the
print shop's drop folder through a ``transport`` (``LocalTransport``, or ``SftpTransport`` in ``sftp``);
``printshop`` plays the print shop for the demo (confirmations and returned mail into the landing folder).
Nothing is imported here, so that using one part never pulls in another's dependencies (paramiko).
"""

from __future__ import annotations
