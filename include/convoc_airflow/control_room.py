"""The control room's web app, mounted in Airflow's API server by ``plugins/convoc_control_room.py``.

Routes (under ``/convoc``), every one behind Airflow's own login (``requires_access_dag("GET", RUN)``: a
logged-in user allowed to read DAG runs; no valid token → 401, insufficient rights → 403):

- ``/`` — the Campaigns page: the last 14 days by default, ``?until=YYYY-MM-DD&days=N`` for any span;
- ``/runs/{dag_id}/{run_id}`` — the tab on a DAG run's page: the campaign on that run's day;
- ``/files/quality/...`` and ``/files/summary/...`` — the day's Data Docs (written without row values) and
  summary reports, served from the reports folder and nowhere else.

Run states come from Airflow's metadata database (the API server's own session); the figures from the
analysts' published copy (``convoc.control_room``), never the live warehouse.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

PREFIX = "/convoc"
"""Where the plugin mounts the app in the API server."""

DEFAULT_DAYS = 14
MAX_DAYS = 92
FILE_TYPES = {".html", ".css", ".js", ".json", ".png", ".svg", ".pdf", ".ico", ".woff", ".woff2"}


def _guard() -> Any:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag("GET", DagAccessEntity.RUN))


def chain_runs(airflow: str) -> list[Any]:
    """Every run of the chain's DAGs that names a day, oldest first, linked under Airflow's UI at ``airflow``
    (``convoc.control_room.figures.Run``, tasks not counted)."""
    from urllib.parse import quote

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from convoc.control_room.figures import Run
    from convoc.runtime import CHAIN, run_day

    with create_session() as session:
        rows = session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.state, DagRun.conf, DagRun.partition_key, DagRun.logical_date)
            .where(DagRun.dag_id.in_(CHAIN))
            .order_by(DagRun.id)
        ).all()
    runs = []
    for dag_id, run_id, state, conf, partition_key, logical_date in rows:
        day = run_day(conf, partition_key, logical_date)
        if day is not None:
            url = f"{airflow}/dags/{quote(dag_id)}/runs/{quote(run_id)}"
            runs.append(Run(dag_id, run_id, day, str(state), url))
    return runs


def with_batch_states(runs: list[Any]) -> list[Any]:
    """``runs`` with their render and verify tasks' states counted (letters_render's runs; one query)."""
    from dataclasses import replace

    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    letters = [r.run_id for r in runs if r.dag_id == "letters_render"]
    if not letters:
        return runs
    tasks: dict[str, dict[str, dict[str, int]]] = {}
    with create_session() as session:
        counted = session.execute(
            select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state, func.count())
            .where(TaskInstance.dag_id == "letters_render", TaskInstance.run_id.in_(letters))
            .where(TaskInstance.task_id.in_(("render_batch", "verify_batch")))
            .group_by(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.state)
        ).all()
    for run_id, task_id, state, n in counted:
        tasks.setdefault(run_id, {}).setdefault(task_id, {})[str(state)] = int(n)
    return [replace(r, tasks=tasks.get(r.run_id, {})) if r.dag_id == "letters_render" else r for r in runs]


def _airflow_root(request: Request) -> str:
    """The URL path of Airflow's UI (the API server's root), from where this app is mounted."""
    root = str(request.scope.get("root_path", ""))
    return root.removesuffix(PREFIX).rstrip("/")


def _page(request: Request, until: date | None, days: int) -> str:
    from convoc.config import Settings
    from convoc.control_room import figures, page

    settings = Settings.from_env()
    airflow = _airflow_root(request)
    # The whole published copy is a few rows a day: read once, whatever the span.
    published = figures.read_published(settings.published, date.min, date.max)
    runs = chain_runs(airflow)
    if until is None:  # the last day the campaign moved (the demo's days lie in 2021)
        until = figures.latest_day(published, runs) or date.today()
    span = figures.span(until, days)
    runs = with_batch_states([r for r in runs if span[-1] <= r.day <= span[0]])
    files = {d: figures.day_files(settings.reports, settings.quality_docs, d) for d in span}
    ctx = page.PageContext(
        until=until, days=days, base=airflow + PREFIX, airflow=airflow, published_at=published.published_at
    )
    return page.render(figures.campaign_days(span, published, runs, files), ctx)


def create_app() -> FastAPI:
    """The control room app (``fastapi_apps`` of the plugin)."""
    app = FastAPI(title="convoc control room", docs_url=None, redoc_url=None, openapi_url=None)
    guard = _guard()

    @app.get("/", response_class=HTMLResponse, dependencies=[guard])
    def campaigns(
        request: Request,
        until: date | None = None,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
    ) -> HTMLResponse:
        return HTMLResponse(_page(request, until, days), headers={"Cache-Control": "no-store"})

    @app.get("/runs/{dag_id}/{run_id}", dependencies=[guard])
    def run_tab(request: Request, dag_id: str, run_id: str) -> RedirectResponse:
        day = _run_day(dag_id, run_id)
        if day is None:
            raise HTTPException(404, "no such run, or it names no day")
        return RedirectResponse(f"{_airflow_root(request)}{PREFIX}/?until={day.isoformat()}&days=1", status_code=307)

    @app.get("/files/{area}/{path:path}", dependencies=[guard])
    def files(area: str, path: str) -> FileResponse:
        from convoc.config import Settings

        settings = Settings.from_env()
        roots = {"quality": settings.quality_docs, "summary": settings.reports / "summary"}
        if area not in roots:
            raise HTTPException(404, "not found")
        root = roots[area].resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file() or target.suffix.lower() not in FILE_TYPES:
            raise HTTPException(404, "not found")
        return FileResponse(target, headers={"Cache-Control": "no-store"})

    return app


def _run_day(dag_id: str, run_id: str) -> date | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from convoc.runtime import run_day

    with create_session() as session:
        row = session.execute(
            select(DagRun.conf, DagRun.partition_key, DagRun.logical_date).where(
                DagRun.dag_id == dag_id, DagRun.run_id == run_id
            )
        ).first()
    return run_day(*row) if row else None
