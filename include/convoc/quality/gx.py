"""Great Expectations, imported without the parts convoc never uses.

GX 1.x imports ``scipy.stats`` and ``altair`` when it starts, for one expectation (KL divergence, and its
charts) and two metrics (Kolmogorov–Smirnov tests) that no convoc suite uses: about 1.8 of the 4.8 s its import
takes, paid by every validate task. ``great_expectations()`` puts a stand-in for each of those two modules in
``sys.modules`` before importing GX, unless the real one is loaded already. A stand-in imports the real module
the first time anything is asked of it and forwards to it from then on, so a code path that does use one
(a future suite with a distribution check, a library calling ``scipy.stats``) works as before, a moment later;
nothing is ever stubbed out. ``tests/unit/quality/test_gx_import.py`` checks both: GX validates without
loading them, and a stand-in gives the real module's functions.

GX's pandas engine also fingerprints every frame it is given (a hash of every value of every column, kept as a
"batch marker" in the result's metadata) unless the frame holds 1 GB or more (its ``HASH_THRESHOLD``): 1.2 s of
the validate task at 650,000 residents, for a figure convoc never reads (what was read is identified by the file's
SHA-256 in ``raw.load_log``). ``great_expectations()`` sets that threshold to 0, GX's own switch for the frames
it does not fingerprint; the rules, their results and the Data Docs are the same.

And GX logs its own bookkeeping at INFO — at import, dozens of "Skipping registering function … because it is a
closure" lines, then its temporary folders and empty configurations — which filled a validate task's log above
convoc's own lines. ``great_expectations()`` sets GX's logger to WARNING, unless the deployment has given it a level:
its warnings and errors are still logged.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import types
from typing import Any

DEFERRED = ("scipy.stats", "altair")
"""Modules GX imports at start-up for features convoc does not use."""

_LOCK = threading.RLock()


class Deferred(types.ModuleType):
    """Stands in for a module until something asks it for an attribute, then imports it and forwards."""

    def __getattr__(self, attr: str) -> Any:
        # Only for attributes the stand-in lacks (not __name__, __spec__…): everything the module defines.
        return getattr(self._real(), attr)

    def _real(self) -> types.ModuleType:
        name = self.__name__
        with _LOCK:
            if sys.modules.get(name) is self:
                del sys.modules[name]
                parent, _, child = name.rpartition(".")
                if parent and getattr(sys.modules[parent], child, None) is self:
                    delattr(sys.modules[parent], child)  # the real import sets it again
            real = importlib.import_module(name)
        return real


def _defer(name: str) -> None:
    if name in sys.modules:
        return
    try:
        found = importlib.util.find_spec(name)  # imports the parent package (scipy: 10 ms), not the module
    except ImportError:
        return
    if found is None:
        return
    stand_in = Deferred(name)
    sys.modules[name] = stand_in
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, stand_in)  # `from scipy import stats` reads the attribute


def great_expectations() -> types.ModuleType:
    """The ``great_expectations`` package, imported with ``DEFERRED`` put off until first used, its pandas engine
    set not to fingerprint frames, its logger at WARNING unless set."""
    quiet = False
    if "great_expectations" not in sys.modules:
        for name in DEFERRED:
            _defer(name)
        own = logging.getLogger("great_expectations")
        quiet = own.level == logging.NOTSET  # not set by the deployment: GX's notes at INFO are not the task's business
        if quiet:
            own.setLevel(logging.WARNING)
    gx = importlib.import_module("great_expectations")
    if quiet:  # the modules that pin their own logger at INFO (its docs folder, its doctor) follow GX's
        for name, logger in list(logging.root.manager.loggerDict.items()):
            if not name.startswith("great_expectations.") or not isinstance(logger, logging.Logger):
                continue
            if logger.level in (logging.DEBUG, logging.INFO):
                logger.setLevel(logging.NOTSET)
    from great_expectations.execution_engine import pandas_execution_engine as engine

    engine.HASH_THRESHOLD = 0  # frames of at least 0 bytes are not hashed (see the module's docstring)
    return gx
