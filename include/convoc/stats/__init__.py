"""Statistics for analysts: the ``marts.*`` tables (``marts.py``), their reconciliation with the warehouse
(``reconcile.py``) and the read-only copy analysts query (``publish.py``, ``shell.py``)."""
