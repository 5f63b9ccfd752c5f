"""convoc's control room in the Airflow UI: the "Campaigns" page (a nav entry) and a "Campaign day" tab on
every DAG run's page, both served by the FastAPI app of ``convoc_airflow.control_room`` behind Airflow's login.
Thin on purpose: what the page shows is built in ``convoc.control_room``."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from convoc_airflow.control_room import PREFIX, create_app


class ConvocControlRoom(AirflowPlugin):
    name = "convoc_control_room"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": create_app(), "url_prefix": PREFIX, "name": "convoc control room"}
    ]
    external_views: ClassVar[list[dict[str, str]]] = [
        {"name": "Campaigns", "href": PREFIX.lstrip("/") + "/", "destination": "nav", "url_route": "campaigns"},
        {"name": "Campaign day", "href": PREFIX.lstrip("/") + "/runs/{DAG_ID}/{RUN_ID}", "destination": "dag_run"},
    ]
