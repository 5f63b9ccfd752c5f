"""Validate extracted landing files with Great Expectations.

For each file: the ``.file`` suite decides whether the whole file is refused (and the reason a person
reads); otherwise the ``.rows`` suite lists the failing rows, which are written as a reject list
(one row per line × rule, values masked where personal). Data Docs of the run are written without any
row values, so they can be shared.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convoc.privacy import mask_value
from convoc.sources.extract import Extracted

if TYPE_CHECKING:
    import great_expectations as gx
    import polars as pl

log = logging.getLogger(__name__)

REJECT_COLUMNS = ("source_file", "line_number", "column_name", "rule", "value_masked")
_VALUE_KEYS = (
    "unexpected_list",
    "partial_unexpected_list",
    "unexpected_index_list",
    "partial_unexpected_index_list",
    "partial_unexpected_counts",
    "unexpected_index_query",
    "unexpected_rows",
)


@dataclass(frozen=True)
class Previous:
    """The last published snapshot of a source before the day being validated."""

    file_name: str
    rows: int


@dataclass(frozen=True)
class Verdict:
    """What validation decided about one file; ``rejects`` is a Parquet reject list (REJECT_COLUMNS)."""

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


def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _refusals(result: Any, extracted: Extracted, previous: Previous | None, max_row_change: float) -> list[str]:
    reasons = []
    name = extracted.file_name
    for r in result.results:
        if r.success:
            continue
        rule = r.expectation_config.meta["rule"]
        if rule == "missing_column":
            missing = r.result.get("details", {}).get("mismatched", {}).get("missing", [])
            reasons.append(
                f"{name}: column(s) {', '.join(missing)} missing from the header "
                f"[rule missing_column]; expected: {', '.join(extracted.spec.columns)}"
            )
        elif rule == "empty_file":
            reasons.append(f"{name}: no data rows [rule empty_file]")
        elif rule == "row_count_change" and previous is not None:
            change = extracted.rows / previous.rows - 1
            reasons.append(
                f"{name}: {extracted.rows} rows, {change:+.1%} against the previous snapshot "
                f"{previous.file_name} ({previous.rows} rows), more than the allowed ±{max_row_change:.0%} "
                "[rule row_count_change]; if the change is real, re-run with the param "
                "accept_row_count_change=true"
            )
        else:
            reasons.append(f"{name}: {r.expectation_config.type} failed [rule {rule}]")
    return reasons


def _rejects(result: Any, extracted: Extracted) -> pl.DataFrame:
    import polars as pl

    personal = set(extracted.spec.personal)
    records: list[tuple[str, int, str, str, str | None]] = []
    for r in result.results:
        if r.success:
            continue
        config = r.expectation_config
        column = config.kwargs["column"]
        rule = config.meta["rule"]
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"{extracted.file_name}: rule {rule} on column {column} could not be evaluated: "
                f"{r.exception_info.get('exception_message')}"
            )
        for item in r.result.get("unexpected_index_list", []):
            value = mask_value(item.get(column), column in personal)
            records.append((extracted.file_name, int(item["_line"]), column, rule, value))
    return pl.DataFrame(
        records,
        schema={
            "source_file": pl.String,
            "line_number": pl.Int64,
            "column_name": pl.String,
            "rule": pl.String,
            "value_masked": pl.String,
        },
        orient="row",
    ).sort("line_number", "rule", "column_name")


def _strip_values(result: Any) -> None:
    """Remove every row value from a GX result in place (Data Docs must hold no personal data)."""
    for r in result.results:
        for key in _VALUE_KEYS:
            r.result.pop(key, None)


def _build_docs(context: Any, docs_dir: Path) -> Path:
    docs_dir = docs_dir.resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        site_name="convoc",
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        },
    )
    context.build_data_docs(site_names=["convoc"])
    return docs_dir / "index.html"


def validate_files(
    extracted: list[Extracted],
    *,
    day: date,
    work_dir: Path,
    previous: dict[str, Previous],
    max_row_change: float,
    accept_row_count_change: bool = False,
    docs_dir: Path | None = None,
) -> list[Verdict]:
    """Run both suites on each file; write reject lists to ``work_dir``; Data Docs to ``docs_dir``.

    Returns one verdict per file, refused or not; raising is the caller's decision.
    """
    import great_expectations as gx
    import polars as pl

    from convoc.quality.suites import file_suite, row_suite

    context = _context()
    datasource = context.data_sources.add_pandas("landing")
    stored: list[tuple[Any, Any]] = []
    verdicts = []
    for ex in extracted:
        spec = ex.spec
        frame = pl.read_parquet(ex.parquet).to_pandas()
        batch = datasource.add_dataframe_asset(spec.name).add_batch_definition_whole_dataframe("whole")

        def run(suite: gx.ExpectationSuite, params: dict[str, Any], fmt: dict[str, Any]) -> Any:
            suite = context.suites.add(suite)
            definition = context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)  # noqa: B023
            )
            result = definition.run(
                batch_parameters={"dataframe": frame},  # noqa: B023
                expectation_parameters=params,
                result_format=fmt,
            )
            stored.append((definition, result))
            return result

        prev = None if accept_row_count_change else previous.get(spec.name)
        bounds = (
            {
                "min_rows": int(prev.rows * (1 - max_row_change)),
                "max_rows": int(prev.rows * (1 + max_row_change)) + 1,
            }
            if prev
            else {"min_rows": 0, "max_rows": 2**62}
        )
        file_result = run(file_suite(spec), bounds, {"result_format": "SUMMARY"})
        refusals = _refusals(file_result, ex, prev, max_row_change)
        rejects = pl.DataFrame(schema=dict.fromkeys(REJECT_COLUMNS, pl.String)).with_columns(
            pl.col("line_number").cast(pl.Int64)
        )
        if not refusals:
            row_result = run(
                row_suite(spec),
                {"day": day.isoformat()},
                {"result_format": "COMPLETE", "unexpected_index_column_names": ["_line"]},
            )
            rejects = _rejects(row_result, ex)
        path = work_dir / f"{spec.name}.rejects.parquet"
        rejects.write_parquet(path)
        rejected_rows = rejects["line_number"].n_unique()
        log.info(
            "%s: %d rows, %d rejected%s",
            ex.file_name,
            ex.rows,
            rejected_rows,
            "; REFUSED" if refusals else "",
        )
        verdicts.append(Verdict(spec.name, ex.file_name, ex.rows, rejected_rows, tuple(refusals), path))

    if docs_dir is not None:
        store = context.validation_results_store
        for _definition, result in stored:
            _strip_values(result)
        for key in store.list_keys():
            suite_name = key.expectation_suite_identifier.name
            for definition, result in stored:
                if definition.suite.name == suite_name:
                    store.set(key, result)
        index = _build_docs(context, docs_dir)
        log.info("Data Docs: %s", index)
    return verdicts


def run_label(run_id: str) -> str:
    """A folder name for an Airflow run id (``scheduled__2021-01-29T00:00:00+00:00`` → safe characters)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_") or "run"
