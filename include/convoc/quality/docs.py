"""The Data Docs site of a validation run: what it holds, and its pages rendered without recompiling GX's templates.

GX's site builder gives each section (expectation suites, validation results, profiling) and the index a view of its
own, each with its own Jinja environment, and each environment compiles GX's page, section and component templates
again: about half of the 0.3 s the docs of a national day took. The views here are GX's own page and index views with
one difference, a bytecode cache: Jinja's ``FileSystemBytecodeCache``, in its default folder (``_jinja2-cache-<uid>``
in the temporary folder, created owner-only, refused if another user owns it). It holds GX's templates compiled,
keyed by template and Jinja version, never a page: no value of a validated file is in it. Each template is then
compiled once per machine and GX version instead of once per view and task.

The site holds the validation results, one page per file and run, and their index. Each results page lists every
expectation of the file's suite with its outcome; GX's other two sections are left out: the suites' own pages (the
same expectations again, twelve pages a day) and profiling (convoc profiles nothing).
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

from convoc.quality.gx import great_expectations

great_expectations()  # GX as convoc imports it (its deferred modules, its logger), before its views are imported

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView  # noqa: E402

log = logging.getLogger(__name__)


@cache
def _bytecode_cache() -> Any:
    """Jinja's cache in its own folder, or none (each view compiles, as GX does) when that folder cannot be used:
    the docs are never refused for want of a cache."""
    import jinja2

    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError) as exc:  # its folder not creatable, or owned by another user
        log.warning("Data Docs: templates compiled without a cache (%s)", exc)
        return None


class _Cached:
    """A GX view whose Jinja environment compiles each template once (``_bytecode_cache``)."""

    env: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _bytecode_cache()


class PageView(_Cached, DefaultJinjaPageView):  # type: ignore[misc]
    """GX's page view, its templates cached."""


class IndexPageView(_Cached, DefaultJinjaIndexPageView):  # type: ignore[misc]
    """GX's index view, its templates cached."""


def site_config(docs_dir: Path) -> dict[str, Any]:
    """A GX ``SiteBuilder`` configuration writing to ``docs_dir``: the validation results and their index."""
    view = {"module_name": __name__}
    return {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "view": {**view, "class_name": IndexPageView.__name__},
        },
        "site_section_builders": {
            "validations": {"view": {**view, "class_name": PageView.__name__}},
            "expectations": "False",
            "profiling": "False",
        },
    }
