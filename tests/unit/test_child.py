"""convoc.child: a function run in a child interpreter answers as if called here — its value, its exception, its
logs — and a child that dies is an error of its own, never a silent success."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest

from convoc.child import Child, ChildDied
from convoc.errors import FileRefused, NoLandingFiles


def describe(day: str, path: Path) -> dict[str, object]:
    logging.getLogger("convoc.sources.extract").info("reading %s for %s", path.name, day)
    logging.getLogger("convoc.sources.extract").debug("not forwarded: below INFO")
    return {"day": day, "path": path, "pid": os.getpid()}


def refuse(reasons: list[str]) -> None:
    raise FileRefused(reasons)


def nothing_today() -> None:
    raise NoLandingFiles("no landing file for 2021-01-29")


def die() -> None:
    logging.getLogger("convoc.test").info("about to die")
    os.kill(os.getpid(), signal.SIGKILL)


class Unpicklable(Exception):
    def __init__(self, value: str, handle: object) -> None:
        super().__init__(value)
        self.handle = handle


def raise_unpicklable(value: str) -> None:
    raise Unpicklable(value, lambda: None)  # a lambda cannot be pickled


def wait(seconds: float, marker: Path) -> None:
    marker.write_text(str(os.getpid()))
    time.sleep(seconds)


def test_the_value_comes_back_and_the_logs_are_logged_here(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    value = Child(describe, "2021-01-29", tmp_path / "register.csv").result()
    assert value["day"] == "2021-01-29" and value["path"] == tmp_path / "register.csv"
    assert value["pid"] != os.getpid()  # it ran elsewhere
    forwarded = [(r.name, r.levelname, r.getMessage()) for r in caplog.records if r.name == "convoc.sources.extract"]
    assert forwarded == [("convoc.sources.extract", "INFO", "reading register.csv for 2021-01-29")]


def test_convocs_errors_are_raised_again_as_they_were(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(FileRefused) as refused:
        Child(refuse, ["register_20210129.csv: no data rows [rule empty_file]", "second"]).result()
    assert refused.value.reasons == ["register_20210129.csv: no data rows [rule empty_file]", "second"]
    assert "  - second" in str(refused.value)
    with pytest.raises(NoLandingFiles, match=r"^no landing file for 2021-01-29$"):
        Child(nothing_today).result()


def test_an_exception_that_cannot_travel_is_named_not_quoted() -> None:
    with pytest.raises(ChildDied) as died:
        Child(raise_unpicklable, "Muller Jean 1985120412345").result()
    assert "raised Unpicklable" in str(died.value)
    assert "Muller" not in str(died.value)


def test_a_killed_child_is_an_error_with_what_it_logged_before(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(ChildDied, match=r"die ended without an answer .*\(killed by signal 9\)"):
        Child(die).result()
    assert "about to die" in [r.getMessage() for r in caplog.records]


class Unreadable:
    """Pickles in the child, cannot be unpickled in the parent (its reconstructor refuses)."""

    def __reduce__(self) -> tuple[object, ...]:
        return (_refuse, ())


def _refuse() -> None:
    raise RuntimeError("cannot be rebuilt")


def unreadable_then_chatty() -> str:
    logging.getLogger("convoc.test").info("odd", extra={"odd": Unreadable()})  # a record the parent cannot rebuild
    for k in range(20_000):  # then more than a pipe holds: read, or the child blocks for ever
        logging.getLogger("convoc.test").info("line %d", k)
    return "done"


@pytest.mark.timeout(60)
def test_an_answer_that_cannot_be_read_is_an_error_not_a_hang() -> None:
    with pytest.raises(ChildDied, match=r"without an answer that could be read.*\(exit status 0\)"):
        Child(unreadable_then_chatty).result()


def test_a_child_left_behind_by_a_failure_here_is_stopped(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with pytest.raises(RuntimeError, match="this process failed first"), Child(wait, 60.0, marker):
        for _ in range(200):
            if marker.exists() and marker.read_text():
                break
            time.sleep(0.05)
        raise RuntimeError("this process failed first")
    pid = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone (killed and reaped), not sleeping on


def test_only_a_module_level_function_can_be_run() -> None:
    def local() -> None:
        pass

    with pytest.raises(ValueError, match="not a module-level function"):
        Child(local)
