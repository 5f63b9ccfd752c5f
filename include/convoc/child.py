"""One function run in a fresh Python interpreter beside this one, for work that can overlap.

``Child(func, *args)`` starts a child interpreter (``convoc.child.main``) at once and hands it the function (by
module and name) and its arguments; ``result()`` waits for it and returns what the function returned, or raises the
exception it raised — the same exception, so a caller's ``except`` (and ``convoc_airflow.tasks.stage``, which turns
convoc's errors into Airflow's outcomes) sees no difference from a call in this process. A child that dies without
an answer (killed: out of memory, a fault point, a signal) raises ``ChildDied``, not one of convoc's errors: a task
retries it as it would its own crash.

What the child logs is handed back and logged here, record by record with its own time and logger name, so it goes
wherever this process's logs go (an Airflow task's log). The child inherits the environment and the umask, and it
is another process: its CPU and memory are the machine's second core and its own, not this process's — and
nothing it imports (polars, DuckDB) is in this one.

Why: a validate task spends ≈ 2 s of one core importing Great Expectations; the day's extract, run meanwhile in a
child, takes that time on the other core instead of adding to it (``convoc.ingest.extract_and_validate_day``).
Threads could not do it: both halves are mostly Python, which runs one thread at a time.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import IO, Any


class ChildDied(RuntimeError):
    """The child process ended without an answer (killed, or crashed before it could give one)."""


class Child:
    """``func(*args)`` running in a child interpreter; ``result()`` for its value (once)."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.name = f"{func.__module__}.{func.__qualname__}"
        if getattr(importlib.import_module(func.__module__), func.__qualname__, None) is not func:
            raise ValueError(f"{self.name} is not a module-level function: a child process cannot import it")
        request = pickle.dumps((func.__module__, func.__qualname__, args))
        # This process's import path (an Airflow task's includes the DAG folder and more than PYTHONPATH says).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from convoc.child import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self._proc.stdin is not None
        try:
            with self._proc.stdin:
                self._proc.stdin.write(request)
        except BrokenPipeError:  # the child is gone already: result() says how it ended
            pass

    def result(self) -> Any:
        """Wait for the child; its records logged here, then its return value (or its exception raised)."""
        assert self._proc.stdout is not None
        outcome: tuple[str, Any] | None = None
        with self._proc.stdout as stream:
            for kind, payload in _frames(stream):
                if kind == "log":
                    logging.getLogger(payload.name).handle(payload)
                else:
                    outcome = (kind, payload)
        status = self._proc.wait()
        if outcome is None:
            how = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
            raise ChildDied(f"{self.name} ended without an answer that could be read, in its child process ({how})")
        kind, payload = outcome
        if kind == "error":
            raise payload
        return payload

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        """Leaving early (this process failed first): the child is stopped, not left running."""
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def _frames(stream: IO[bytes]) -> Any:
    """The child's frames, one pickle each (a fresh unpickler per frame: each was pickled on its own)."""
    while True:
        try:
            yield pickle.load(stream)
        except EOFError:
            return
        except Exception:  # cut short by the child's death, or unreadable: what came before it stands
            stream.read()  # and the child, if still writing, is not left blocked on a full pipe
            return


class _Forward(logging.Handler):
    """In the child: every record, its message rendered (arguments may not pickle), sent to the parent."""

    def __init__(self, send: Callable[[str, Any], None]) -> None:
        super().__init__(logging.DEBUG)
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg, record.args, record.exc_info, record.exc_text = record.getMessage(), None, None, None
            self._send("log", record)
        except Exception:
            self.handleError(record)


def main() -> None:
    """The child's side: read the request, run it, answer; then gone at once, without the interpreter's tear-down of
    everything it imported (polars, pyarrow: a tenth of a second or more) that the parent would otherwise wait out."""
    _serve()
    sys.stderr.flush()
    os._exit(0)


def _serve() -> None:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames

    def send(kind: str, payload: Any) -> None:
        frame = pickle.dumps((kind, payload))  # whole, or nothing written
        out.write(frame)
        out.flush()

    root = logging.getLogger()
    root.handlers[:] = [_Forward(send)]
    root.setLevel(logging.INFO)
    module, name, args = pickle.load(sys.stdin.buffer)
    try:
        value = getattr(importlib.import_module(module), name)(*args)
    except Exception as exc:
        try:
            again = pickle.loads(pickle.dumps(exc))  # the parent must be able to raise it again, as it is
            travels = type(again) is type(exc) and str(again) == str(exc)
        except Exception:
            travels = False
        # one that cannot travel: its kind, never its text (it may quote data)
        send(
            "error", exc if travels else ChildDied(f"{module}.{name} raised {type(exc).__name__} in its child process")
        )
        return
    send("ok", value)
