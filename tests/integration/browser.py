"""The control room in a real browser: Debian's Chromium driven by Playwright for Python (``executable_path``:
Playwright's own browser download cannot reach its host from here; ``.ci/run`` installs the ``chromium`` package).

``campaigns`` logs in to a running Airflow (the simple auth manager's generated password), opens the Campaigns
entry of the UI's navigation, reads the day-by-day table inside the plugin's frame and saves a screenshot.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CONVOC_CHROMIUM", "/usr/bin/chromium")


def require_chromium() -> str:
    """The Chromium binary; missing: the test fails under CI=true (CI installs it), else it is skipped."""
    if Path(CHROMIUM).is_file() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def campaigns(base_url: str, airflow_home: Path, screenshot: Path) -> dict[str, list[str]]:
    """Log in, open Campaigns, return the table's cells per day (``YYYY-MM-DD`` → the row's texts), after
    saving a screenshot of the page as the user sees it."""
    from playwright.sync_api import sync_playwright

    users = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())
    user, password = next(iter(users.items()))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=require_chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1700, "height": 1000})
            page.goto(f"{base_url}/")
            page.wait_for_selector("input[name=username]")  # not logged in: the login page
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))
            page.get_by_role("link", name="Campaigns").click()  # the plugin's nav entry
            page.wait_for_url(re.compile(r".*/plugin/campaigns"))
            frame = page.frame_locator("iframe")
            frame.locator("#days tbody tr").first.wait_for()
            rows: dict[str, list[str]] = {}
            for row in frame.locator("#days tbody tr").all():
                cells = [c.strip() for c in row.locator("td").all_inner_texts()]
                rows[cells[0]] = cells
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
            return rows
        finally:
            browser.close()
