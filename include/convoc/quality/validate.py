"""Validate extracted landing files with Great Expectations.

For each file, a chunk of rows at a time (``chunk_sizes``): the file rules of the ``<source>`` suite, run on
the first chunk, decide whether the whole file is refused (and the reason a person reads); otherwise the
row rules (the rest of that suite, then ``<source>.rows`` on every later chunk) list the failing rows,
which are written as a reject list (one row per line × rule, values masked where personal), together with
the lines extraction could not read (``malformed_row``, ``bad_encoding``) and the repeats across chunks.
A check that cannot run is a failure, never a pass: an expectation that raised, or came back without the
counts and row indexes it must report, refuses the file (rule ``check_failed``, naming the check — never
its exception text, which may quote a value). Data Docs of the run are written without any row values, so
they can be shared.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc.config import INGEST_CHUNK_ROWS
from convoc.privacy import mask_value
from convoc.sources.extract import REJECT_SCHEMA, Extracted

if TYPE_CHECKING:
    from collections.abc import Iterator

    import polars as pl

log = logging.getLogger(__name__)

_VALUE_KEYS = (
    "unexpected_list",
    "partial_unexpected_list",
    "unexpected_index_list",
    "partial_unexpected_index_list",
    "partial_unexpected_counts",
    "unexpected_index_query",
    "unexpected_rows",
)


ROW_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ["_line"],
    "exclude_unexpected_values": True,
    "partial_unexpected_count": 0,
    "return_unexpected_index_query": False,
}
"""Row results name the failing lines and nothing else (no values: those are masked from the extract)."""


@dataclass(frozen=True)
class Previous:
    """The last published snapshot of a source before the day being validated."""

    file_name: str
    rows: int


@dataclass(frozen=True)
class Verdict:
    """What validation decided about one file; ``rejects`` is a Parquet reject list (``REJECT_SCHEMA``)."""

    source: str
    file_name: str
    rows: int
    rejected_rows: int
    refusals: tuple[str, ...]
    rejects: Path

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file_name": self.file_name,
            "rows": self.rows,
            "rejected_rows": self.rejected_rows,
            "refusals": list(self.refusals),
            "rejects": str(self.rejects),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        return cls(
            source=d["source"],
            file_name=d["file_name"],
            rows=int(d["rows"]),
            rejected_rows=int(d["rejected_rows"]),
            refusals=tuple(d["refusals"]),
            rejects=Path(d["rejects"]),
        )


def prepare() -> None:
    """Import what ``validate_files`` needs — Great Expectations (about 2 s), convoc's expectations, polars, pyarrow —
    so that it is not paid later: to be called while something else runs
    (``convoc.ingest.extract_and_validate_day``)."""
    import polars  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from convoc.quality import expectations, suites  # noqa: F401  (expectations imports GX: convoc.quality.gx)


def _context() -> Any:
    from convoc.quality.gx import great_expectations

    gx = great_expectations()
    progress_bars = gx.data_context.types.base.ProgressBarsConfig
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = progress_bars(globally=False)
    return context


def raised(result: Any) -> bool:
    """Whether a GX result records an exception (GX 1.x: a flat ``exception_info`` or one per metric)."""
    info = getattr(result, "exception_info", None) or {}
    if "raised_exception" in info:
        return bool(info["raised_exception"])
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _unevaluated(result: Any, suite: Any, extracted: Extracted, *, row_rules: bool) -> list[str]:
    """Refusals for every check of ``suite`` that raised, is missing from ``result`` or lacks its figures:
    the file rules, and the row rules too when ``row_rules`` (their figures are used only then)."""
    from convoc.quality.suites import FILE_RULES

    def wanted(rule: str) -> bool:
        return rule in FILE_RULES or row_rules

    name = extracted.file_name
    reasons = []
    seen = {r.expectation_config.meta.get("rule") for r in result.results}
    for expectation in suite.expectations:
        rule = expectation.meta.get("rule")
        if wanted(rule) and rule not in seen:
            reasons.append(f"{name}: check {rule} returned no result [rule check_failed]")
    for r in result.results:
        config = r.expectation_config
        rule = config.meta.get("rule")
        if not wanted(rule):
            continue
        row = rule not in FILE_RULES
        columns = config.kwargs.get("column_list") or [config.kwargs.get("column")]
        what = f"check {rule}" + (f" on column {', '.join(map(str, columns))}" if row else "")
        figures = r.result or {}
        incomplete = r.success is None or (
            row
            and (
                not isinstance(figures.get("unexpected_count"), int)
                or (not r.success and len(_failing_lines(r)) != figures["unexpected_count"])
            )
        )
        if raised(r):
            reasons.append(f"{name}: {what} could not be evaluated (it raised) [rule check_failed]")
        elif incomplete:
            reasons.append(f"{name}: {what} came back without a result [rule check_failed]")
    return reasons


def _refusals(result: Any, extracted: Extracted, previous: Previous | None, max_row_change: float) -> list[str]:
    from convoc.quality.suites import FILE_RULES

    reasons = []
    name = extracted.file_name
    for r in result.results:
        rule = r.expectation_config.meta["rule"]
        if r.success or raised(r) or rule not in FILE_RULES:
            continue
        if rule == "missing_column":
            missing = r.result.get("details", {}).get("mismatched", {}).get("missing", [])
            hint = (
                " (no expected column at all: is the header line missing?)"
                if set(missing) >= set(extracted.spec.columns) and extracted.rows
                else ""
            )
            reasons.append(
                f"{name}: column(s) {', '.join(missing)} missing from the header{hint} "
                f"[rule missing_column]; expected: {', '.join(extracted.spec.columns)}"
            )
        elif rule == "empty_file":
            reasons.append(f"{name}: no data rows [rule empty_file]")
        elif rule == "row_count_change" and previous is not None:
            change = extracted.parsed / previous.rows - 1
            reasons.append(
                f"{name}: {extracted.parsed} rows, {change:+.1%} against the previous snapshot "
                f"{previous.file_name} ({previous.rows} rows), more than the allowed ±{max_row_change:.0%} "
                "[rule row_count_change]; if the change is real, re-run with the param "
                "accept_row_count_change=true"
            )
        else:
            reasons.append(f"{name}: {r.expectation_config.type} failed [rule {rule}]")
    return reasons


def _detail(rule: str, values: pl.Series, max_length: int | None) -> pl.Series:
    """What the register team is told beside a masked value: the characters refused, or the length."""
    import polars as pl

    from convoc import text
    from convoc.quality.conditions import offending

    patterns = {
        "control_character": text.CONTROL,
        "invisible_character": text.INVISIBLE,
        "unprintable_character": text.UNPRINTABLE,
    }
    if rule in patterns:
        return offending(values, patterns[rule])
    if rule == "too_long":
        return values.str.len_chars().cast(pl.String) + f" characters (at most {max_length})"
    return pl.Series([None] * values.len(), dtype=pl.String)


def _frame(chunk: pl.DataFrame) -> Any:
    """The chunk as GX validates it: a pandas frame indexed by ``_line``. GX then reports the failing rows by that
    index as it finds them; with ``_line`` a column, it looked each failing row's line up in the frame, one
    ``DataFrame.at`` per row and expectation (0.2 s of a damaged national register's validation)."""
    return chunk.to_pandas().set_index("_line")


def _failing_lines(result: Any) -> list[int]:
    """The ``_line`` of every row an expectation failed (GX: ``[{"_line": [...]}]`` without values)."""
    lines: list[int] = []
    for item in (result.result or {}).get("unexpected_index_list") or []:
        found = item.get("_line")
        lines.extend(int(x) for x in (found if isinstance(found, list) else [found]))
    return lines


def _failing_columns(rule: str, values: pl.Series, max_length: int | None) -> pl.Series:
    """Which of the values (one column of the rejected rows) a shared rule fails: where a row failed a rule over
    several columns, the columns to name."""
    from convoc import text
    from convoc.quality import conditions

    if rule == "missing_required":
        return values.is_null()
    if rule == "too_long":
        return ~conditions.at_most_characters(values, int(max_length or 0))
    pattern = {
        "control_character": text.CONTROL,
        "invisible_character": text.INVISIBLE,
        "unprintable_character": text.UNPRINTABLE,
    }[rule]
    return ~conditions.has_none_of(values, pattern)


def _rejects(result: Any, extracted: Extracted, extract: pl.DataFrame) -> pl.DataFrame:
    """One reject per failing row × column × rule, its value masked (and the characters or length that failed)."""
    import polars as pl

    from convoc.quality.suites import FILE_RULES, PAIR_EXPECTATIONS

    spec = extracted.spec
    failed = [
        (r, _failing_lines(r))
        for r in result.results
        if not r.success and r.expectation_config.meta["rule"] not in FILE_RULES
    ]
    every_line = pl.Series("_line", sorted({line for _, lines in failed for line in lines}), dtype=pl.Int64)
    rows = extract.filter(pl.col("_line").is_in(every_line.implode()))  # the few failing rows, once
    frames = []
    for r, lines in failed:
        config = r.expectation_config
        rule = config.meta["rule"]
        columns = config.kwargs.get("column_list") or [config.kwargs["column"]]
        found = pl.DataFrame({"_line": pl.Series(lines, dtype=pl.Int64)}).join(
            rows.select("_line", *columns), on="_line", how="left", maintain_order="left"
        )
        pair = config.type in PAIR_EXPECTATIONS
        for column in columns[:1] if pair else columns:
            column_spec = spec.column(column)
            failing = (
                found
                if len(columns) == 1 or pair
                else found.filter(_failing_columns(rule, found[column], column_spec.max_length))
            )
            values = failing[column]
            frames.append(
                pl.DataFrame(
                    {
                        "source_file": extracted.file_name,
                        "line_number": failing["_line"],
                        "column_name": column,
                        "rule": rule,
                        "value_masked": pl.Series(
                            [mask_value(v, column_spec.personal) for v in values.to_list()], dtype=pl.String
                        ),
                        "detail": _detail(rule, values, column_spec.max_length),
                    }
                )
            )
    return _concat_rejects(frames)


def _concat_rejects(frames: list[pl.DataFrame]) -> pl.DataFrame:
    import polars as pl

    schema = {c: pl.Int64 if c == "line_number" else pl.String for c in REJECT_SCHEMA}
    frames = [f.select(REJECT_SCHEMA).cast(schema) for f in frames]  # type: ignore[arg-type]
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).sort("line_number", "rule", "column_name", nulls_last=True)


def _strip_values(result: Any) -> None:
    """Remove every row value from a GX result in place (Data Docs must hold no personal data)."""
    for r in result.results:
        for key in _VALUE_KEYS:
            r.result.pop(key, None)


def _build_docs(context: Any, docs_dir: Path) -> Path:
    from convoc.quality.docs import site_config

    docs_dir = docs_dir.resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(site_name="convoc", site_config=site_config(docs_dir))
    context.build_data_docs(site_names=["convoc"])
    return docs_dir / "index.html"


CHUNK_ROWS = INGEST_CHUNK_ROWS
"""Rows validated at a time (at least; fewer than twice: ``chunk_sizes``): Great Expectations works on a pandas frame
of one chunk, never of the whole file."""


def chunk_sizes(rows: int, chunk_rows: int) -> list[int]:
    """How a file of ``rows`` rows is cut: ``rows // chunk_rows`` chunks of near-equal size (at least ``chunk_rows``
    rows each and fewer than twice that), or one for a file of fewer than twice ``chunk_rows`` rows. Each chunk
    is a Great Expectations run, and each run costs GX about half a second of its own: a register of 650,000 is one
    run, not two of 350,000 and 300,000; memory follows the largest chunk (< 2 × ``chunk_rows``), never the file."""
    runs = max(1, rows // chunk_rows)
    size, extra = divmod(rows, runs)
    return [size + 1 if k < extra else size for k in range(runs)]


def _chunks(ex: Extracted, chunk_rows: int) -> Iterator[pl.DataFrame]:
    """The extract in the chunks of ``chunk_sizes``, in file order; an empty extract as one empty chunk.

    Each chunk is its own slice of the Parquet scan (polars reads only the row groups it needs):
    pyarrow's ``iter_batches`` kept ≈ 6 MB per chunk of 250,000 rows allocated until the file was done."""
    import polars as pl

    offset = 0
    for size in chunk_sizes(int(pl.scan_parquet(ex.parquet).select(pl.len()).collect().item()), chunk_rows):
        yield pl.scan_parquet(ex.parquet).slice(offset, size).collect()
        offset += size


DUPLICATES_MEMORY = "128MB"
"""DuckDB's memory for ``cross_chunk_duplicates`` (6.5 M matricules: 2.6 s, against 1.0 s with 512 MB)."""


def cross_chunk_duplicates(ex: Extracted, column: str, found: set[int], temp_dir: Path) -> pl.DataFrame:
    """The rows of the file's unique ``column`` (``spec.unique``) whose value occurs again in another chunk — the
    repeats Great Expectations, seeing one chunk at a time, could not see: every line whose value occurs more
    than once in the file, less ``found`` (those it reported). Counted by DuckDB straight from the extract,
    within its memory limit. Columns ``_line`` and the column."""
    import duckdb

    from convoc import warehouse

    # This runs in the process that holds Great Expectations; past its limit, DuckDB spills to disk.
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": DUPLICATES_MEMORY,
        "temp_directory": str(temp_dir / "duckdb.tmp"),
    }
    with duckdb.connect(":memory:", config=config) as con:
        frame = warehouse.query(
            con,
            f"""
            with v as (select _line, "{column}" from read_parquet($p) where "{column}" is not null)
            select _line, "{column}" from v
            where "{column}" in (select "{column}" from v group by all having count(*) > 1)
            order by _line
            """,
            {"p": str(ex.parquet)},
        )
    return frame.filter(~frame["_line"].is_in(sorted(found)))


def validate_files(
    extracted: list[Extracted],
    *,
    day: date,
    work_dir: Path,
    previous: dict[str, Previous],
    max_row_change: float,
    accept_row_count_change: bool = False,
    docs_dir: Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> list[Verdict]:
    """Run each file's suite; write reject lists to ``work_dir``; Data Docs to ``docs_dir``.

    A file is validated a chunk at a time, chunks of ``chunk_rows`` to twice that (``chunk_sizes``; memory holds
    one chunk's frames, whatever the file's size). The first chunk's run holds the file rules, which decide
    whether the file is refused: its header is the file's, it is empty only if the file is, and the row-count
    rule sees the file's rows — the other chunks' rows counted in by shifting its bounds. Later chunks run the
    row rules alone (``<source>.rows``). The one rule across rows, uniqueness, is completed across chunks by DuckDB
    (``cross_chunk_duplicates``). GX reports failing rows by line only (``ROW_RESULT_FORMAT``); the values,
    masked, come from the extract itself. Returns one verdict per file, refused or not; raising is the
    caller's decision.
    """
    import polars as pl
    import pyarrow.parquet as pq

    from convoc.quality.expectations import one_frame
    from convoc.quality.gx import great_expectations
    from convoc.quality.suites import source_suite

    gx = great_expectations()

    context = _context()
    store = context.validation_results_store
    datasource = context.data_sources.add_pandas("landing")
    verdicts = []
    for ex in extracted:
        spec = ex.spec
        prev = None if accept_row_count_change else previous.get(spec.name)
        low, high = (
            (int(prev.rows * (1 - max_row_change)), int(prev.rows * (1 + max_row_change)) + 1) if prev else (0, 2**62)
        )
        batch = datasource.add_dataframe_asset(spec.name).add_batch_definition_whole_dataframe("whole")
        suites = [context.suites.add(source_suite(spec)), context.suites.add(source_suite(spec, file_rules=False))]
        definitions = [
            context.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch, suite=suite))
            for suite in suites
        ]
        path = work_dir / f"{spec.name}.rejects.parquet"
        refusals: list[str] = []
        unique_column, unique_rule = spec.unique or (None, None)
        found: set[int] = set()
        writer = pq.ParquetWriter(path, _concat_rejects([]).to_arrow().schema)
        try:
            writer.write_table(_reject_table(pl.read_parquet(ex.rejects)))
            chunks = 0
            for chunk in _chunks(ex, chunk_rows):
                first = chunks == 0
                chunks += 1
                shift = ex.parsed - chunk.height if first else 0
                keys = set(store.list_keys())
                try:
                    with one_frame(chunk):  # each column judged as the chunk holds it, whatever the rules
                        result = definitions[0 if first else 1].run(
                            batch_parameters={"dataframe": _frame(chunk)},
                            expectation_parameters={
                                "min_rows": low - shift,
                                "max_rows": high - shift,
                                "day": day.isoformat(),
                            },
                            result_format=ROW_RESULT_FORMAT,
                        )
                except Exception as exc:  # any failure of the run refuses the file; its text may quote data
                    log.error("%s: validation could not run (%s)", ex.file_name, type(exc).__name__)
                    refusals = [f"{ex.file_name}: validation could not run ({type(exc).__name__}) [rule check_failed]"]
                    break
                suite = suites[0 if first else 1]
                refusals = _unevaluated(result, suite, ex, row_rules=False)
                if first:
                    refusals += _refusals(result, ex, prev, max_row_change)
                if not refusals:
                    refusals = _unevaluated(result, suite, ex, row_rules=True)
                if not refusals:
                    writer.write_table(_reject_table(_rejects(result, ex, chunk)))
                    found.update(
                        line
                        for r in result.results
                        if r.expectation_config.meta["rule"] == unique_rule
                        for line in _failing_lines(r)
                    )
                # Results are kept for Data Docs: without row values (personal data) nor line lists (memory).
                _strip_values(result)
                for key in set(store.list_keys()) - keys:
                    store.set(key, result)
                del chunk, result
                if refusals:
                    break
            # (not refused: the header holds the unique column)
            if not refusals and chunks > 1 and unique_column is not None and unique_rule is not None:
                try:
                    repeats = cross_chunk_duplicates(ex, unique_column, found, work_dir)
                except Exception as exc:  # DuckDB's messages quote values
                    log.error(
                        "%s: the duplicate check across chunks could not run (%s)", ex.file_name, type(exc).__name__
                    )
                    refusals = [
                        f"{ex.file_name}: check {unique_rule} could not be evaluated (it raised) [rule check_failed]"
                    ]
                else:
                    writer.write_table(_reject_table(_duplicate_rejects(ex, repeats, unique_column, unique_rule)))
        finally:
            writer.close()
        if refusals:
            _concat_rejects([]).write_parquet(path)
        rejected_rows = int(pl.scan_parquet(path).select(pl.col("line_number").n_unique()).collect().item())
        log.info("%s: %d rows, %d rejected%s", ex.file_name, ex.rows, rejected_rows, "; REFUSED" if refusals else "")
        verdicts.append(Verdict(spec.name, ex.file_name, ex.rows, rejected_rows, tuple(refusals), path))

    if docs_dir is not None:
        index = _build_docs(context, docs_dir)
        log.info("Data Docs: %s", index)
    return verdicts


def _reject_table(frame: pl.DataFrame) -> Any:
    """A reject frame as Arrow, in the reject file's schema."""
    return _concat_rejects([frame]).to_arrow()


def _duplicate_rejects(ex: Extracted, repeats: pl.DataFrame, column: str, rule: str) -> pl.DataFrame:
    import polars as pl

    personal = ex.spec.column(column).personal
    return pl.DataFrame(
        {
            "source_file": ex.file_name,
            "line_number": repeats["_line"],
            "column_name": column,
            "rule": rule,
            "value_masked": pl.Series([mask_value(v, personal) for v in repeats[column].to_list()], dtype=pl.String),
            "detail": pl.Series([None] * repeats.height, dtype=pl.String),
        }
    )


def run_label(run_id: str) -> str:
    """A folder name for an Airflow run id (``scheduled__2021-01-29T00:00:00+00:00`` → safe characters)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_") or "run"
