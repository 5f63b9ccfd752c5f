"""Errors a person can act on. Each names the file, and where it can, the row, the column and the rule."""

from __future__ import annotations

from typing import Any


class ConvocError(Exception):
    """Base of convoc's own errors: their message is meant for the person running the pipeline."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as it stands, whatever a subclass's ``__init__`` takes: a child process's error is raised again by
        its parent (``convoc.child``) with the same class, message and attributes."""
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(cls: type[ConvocError], args: tuple[Any, ...], state: dict[str, Any]) -> ConvocError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class FileRefused(ConvocError):
    """Whole landing files refused by validation; nothing of the day was published."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(
            "refused, nothing published, the previous snapshot stays current:\n"
            + "\n".join(f"  - {r}" for r in reasons)
        )


class NoLandingFiles(ConvocError):
    """No landing file for the day."""


class FileNotSettled(ConvocError):
    """A landing file that is not ready to be read: still being written or replaced. Unlike a refusal this
    mends itself, so the task fails for Airflow to retry it; nothing was loaded."""


class FileNotReady(FileNotSettled):
    """The source requires a readiness marker (``NAME_YYYYMMDD.csv.done``) that is not there yet."""


class FileChanging(FileNotSettled):
    """The file changed while it was read, or does not match the SHA-256 its readiness marker announces."""


class TransportUnavailable(ConvocError):
    """The print shop's drop folder cannot be reached, or the connection was lost during a delivery.

    No incomplete job is marked READY (deliveries are atomic); running the delivery again completes it.
    """


class DiskFull(ConvocError):
    """No space left on the device where a file was being written. Nothing half-written was kept or released;
    once space is freed, the task's retry completes the step (Airflow retries it)."""
