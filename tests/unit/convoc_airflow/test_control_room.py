"""The control room inside Airflow's API server: the plugin is registered (nav entry and DAG-run tab), every
route needs a logged-in Airflow user, the DAG-run tab opens that run's day, and the files route serves the
reports folder and nothing else."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import pytest

from convoc import warehouse
from convoc.config import Settings
from convoc.stats.marts import ensure_marts
from convoc.stats.publish import publish

ROUTES = (
    "/convoc/",
    "/convoc/?until=2021-01-29&days=3",
    "/convoc/runs/letters_render/x",
    "/convoc/files/summary/x.pdf",
)


def _client(client, token: str):  # type: ignore[no-untyped-def]
    """A client of the same app that sends ``token`` as the Airflow UI does: its session cookie."""
    from fastapi.testclient import TestClient

    return TestClient(client.app, cookies={"_token": token})


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_needs_a_logged_in_user(airflow_api, route: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = airflow_api
    anonymous = client.get(route, follow_redirects=False)
    assert anonymous.status_code == 401 and anonymous.json() == {"detail": "Not authenticated"}
    forged = client.get(route, headers=_auth("not-a-token"), follow_redirects=False)
    assert forged.status_code in (401, 403)
    with_cookie = _client(client, "not-a-token")
    assert with_cookie.get(route, follow_redirects=False).status_code in (401, 403)


def test_the_page_for_a_logged_in_user(airflow_api, convoc_home: Path) -> None:  # type: ignore[no-untyped-def]
    client, token = airflow_api
    by_header = client.get("/convoc/?until=2021-01-29&days=2", headers=_auth(token))
    assert by_header.status_code == 200 and "<h1>Campaigns</h1>" in by_header.text
    assert "No published copy yet" in by_header.text
    assert by_header.headers["cache-control"] == "no-store"
    by_cookie = _client(client, token).get("/convoc/?until=2021-01-29&days=2")  # the UI's session cookie
    assert by_cookie.status_code == 200
    assert by_cookie.text.count("<tr data-day=") == 2
    assert client.get("/convoc/?days=0", headers=_auth(token)).status_code == 422
    assert client.get("/convoc/?until=yesterday", headers=_auth(token)).status_code == 422


def test_the_plugin_adds_a_nav_entry_and_a_dag_run_tab(airflow_api) -> None:  # type: ignore[no-untyped-def]
    client, token = airflow_api
    plugins = client.get("/api/v2/plugins", headers=_auth(token)).json()["plugins"]
    [plugin] = [p for p in plugins if p["name"] == "convoc_control_room"]
    views = {v["destination"]: v for v in plugin["external_views"]}
    assert views["nav"]["href"] == "convoc/" and views["nav"]["name"] == "Campaigns"
    assert views["dag_run"]["href"] == "convoc/runs/{DAG_ID}/{RUN_ID}"
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/convoc"]


def _add_run(dag_id: str, run_id: str, conf: dict[str, str], state: str) -> None:
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.merge(DagBundleModel(name="dags-folder"))
        session.flush()
        session.merge(DagModel(dag_id=dag_id, bundle_name="dags-folder"))
        session.flush()
        session.add(DagRun(dag_id=dag_id, run_id=run_id, run_type="manual", state=state, conf=conf, logical_date=None))


def test_the_dag_run_tab_opens_the_runs_day(airflow_api, convoc_home: Path) -> None:  # type: ignore[no-untyped-def]
    client, token = airflow_api
    run_id = f"manual__{uuid.uuid4().hex}"
    _add_run("letters_render", run_id, {"day": "2021-02-03"}, "failed")
    tab = client.get(f"/convoc/runs/letters_render/{run_id}", headers=_auth(token), follow_redirects=False)
    assert tab.status_code == 307 and tab.headers["location"] == "/convoc/?until=2021-02-03&days=1"
    page = client.get(tab.headers["location"], headers=_auth(token)).text
    assert f'href="/dags/letters_render/runs/{run_id}">failed</a>' in page.replace("\n        ", " ")
    assert client.get("/convoc/runs/letters_render/nope", headers=_auth(token)).status_code == 404
    # Every convoc DAG's runs have the tab: the day's campaign whatever DAG it is opened from.
    _add_run("housekeeping", run_id, {"day": "2021-02-05"}, "success")
    other = client.get(f"/convoc/runs/housekeeping/{run_id}", headers=_auth(token), follow_redirects=False)
    assert other.headers["location"] == "/convoc/?until=2021-02-05&days=1"


def test_files_are_served_from_the_reports_folder_only(airflow_api, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    client, token = airflow_api
    report = settings.reports / "summary" / "daily" / "summary_daily_20210129_en.pdf"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"%PDF-1.7 test")
    docs = settings.quality_docs / "20210129" / "run1" / "index.html"
    docs.parent.mkdir(parents=True)
    docs.write_text("<html>docs</html>")
    secret = settings.home / "secrets" / "signing.key"
    secret.parent.mkdir(parents=True)
    secret.write_text("k" * 40)
    ok = client.get("/convoc/files/summary/daily/summary_daily_20210129_en.pdf", headers=_auth(token))
    assert ok.status_code == 200 and ok.content == b"%PDF-1.7 test" and ok.headers["content-type"] == "application/pdf"
    assert (
        client.get("/convoc/files/quality/20210129/run1/index.html", headers=_auth(token)).text == "<html>docs</html>"
    )
    for bad in (
        "/convoc/files/summary/../../secrets/signing.key",
        "/convoc/files/summary/%2e%2e/%2e%2e/secrets/signing.key",
        "/convoc/files/secrets/signing.key",
        "/convoc/files/quality/../secrets/signing.key",
        "/convoc/files/summary/daily/missing.pdf",
    ):
        response = client.get(bad, headers=_auth(token))
        assert response.status_code == 404 and b"kkkk" not in response.content, bad
    (settings.reports / "summary" / "link.pdf").symlink_to(secret)
    assert client.get("/convoc/files/summary/link.pdf", headers=_auth(token)).status_code == 404


def test_the_page_reads_the_published_copy(airflow_api, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Figures come from the published copy (a warehouse that is not published is never read)."""
    import duckdb

    client, token = airflow_api
    settings.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        warehouse.ensure_schema(con)
        ensure_marts(con)
        con.execute(
            "insert into marts.fct_operations_daily values "
            "('2021-01-29', 'register', 'rows', 'register', 1000),"
            "('2021-01-29', 'register', 'loaded', 'register', 990),"
            "('2021-01-29', 'register', 'quarantined', 'register', 10),"
            "('2021-01-29', 'register', 'rule', 'matricule_check_digit', 7),"
            "('2021-01-29', 'waves', 'planned', 'covid19', 400), ('2021-01-29', 'waves', 'allowed', 'covid19', 420)"
        )
        publish(con, settings.published)
        con.execute("update marts.fct_operations_daily set value = 555555 where measure = 'planned'")  # not published
    page = client.get("/convoc/?until=2021-01-29&days=1", headers=_auth(token)).text
    assert "matricule_check_digit</td><td>7</td>" in page
    assert "<td>covid19</td><td>400</td><td>420</td>" in page
    # the unpublished figure in no form (555555, 555,555…); links are left out: a run id's microseconds may hold 555
    assert "555" not in re.sub(r'href="[^"]*"', "", page)
    assert date(2021, 1, 29).isoformat() in page
