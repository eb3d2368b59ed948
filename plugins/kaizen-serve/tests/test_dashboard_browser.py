"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver, Selenium).

Acceptance: the page shows a running autonomous run waiting for approval; clicking
Approve lets it finish and the page shows the result. Every wait is a WebDriverWait on
a DOM condition. The test takes screenshots of both moments; with
``KAIZEN_UPDATE_SCREENSHOTS=1`` they replace docs/images/dashboard-*.png (otherwise they
go to the test's temporary directory, so a test run leaves the tree clean).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from conftest import AGENTS, KEY, REPO
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WRITER = AGENTS / "writer.toml"
IMAGES = REPO / "docs" / "images"
WAIT = 30  # seconds: an upper bound for each DOM condition, not a pace
PNG = b"\x89PNG\r\n\x1a\n"


def screenshot(browser: Any, tmp: Path, name: str) -> None:
    """Take a screenshot; copy it to docs/images when KAIZEN_UPDATE_SCREENSHOTS=1."""
    path = browser.screenshot(tmp / name)
    assert path.read_bytes().startswith(PNG)
    if os.environ.get("KAIZEN_UPDATE_SCREENSHOTS") == "1":
        IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, IMAGES / name)


def start_run(server: Any, agent: str, inputs: dict[str, Any]) -> str:
    with server.client() as client:
        response = client.post(f"/agents/{agent}/runs", json={"inputs": inputs})
        assert response.status_code == 202, response.text
        return str(response.json()["run_id"])


def sign_in(driver: Any, url: str) -> WebDriverWait:
    driver.get(url + "/")
    wait = WebDriverWait(driver, WAIT)
    wait.until(EC.visibility_of_element_located((By.ID, "api-key"))).send_keys(KEY)
    driver.find_element(By.ID, "key-save").click()
    wait.until(EC.visibility_of_element_located((By.ID, "key-forget")))
    return wait


def open_run(driver: Any, wait: WebDriverWait, run_id: str) -> None:
    row = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, f'#runs tr[data-run-id="{run_id}"]')))
    row.click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "run-id"), run_id))


def test_approve_in_the_dashboard_lets_the_waiting_run_finish(
    serve: Any, workdir: Path, tmp_path: Path, chromium_driver: Any
) -> None:
    server = serve(WRITER)
    run_id = start_run(server, "writer", {"task": "write out.txt"})
    driver = chromium_driver.driver
    wait = sign_in(driver, server.url)
    open_run(driver, wait, run_id)

    approve = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#approvals .approval button.approve")))
    card = driver.find_element(By.CSS_SELECTOR, "#approvals .approval")
    assert "write_file" in card.text
    assert driver.find_element(By.ID, "run-status").text == "waiting"
    assert driver.find_element(By.CSS_SELECTOR, "#runs tr[data-run-id] .status").text == "running"
    screenshot(chromium_driver, tmp_path, "dashboard-approval.png")
    assert not (workdir / "out.txt").exists()

    approve.click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "run-status"), "completed"))
    wait.until(EC.text_to_be_present_in_element((By.ID, "run-result"), "wrote out.txt"))
    assert card.find_element(By.TAG_NAME, "h3").text == "Approved"
    assert all(not b.is_enabled() for b in card.find_elements(By.TAG_NAME, "button"))
    tool, _arguments, outcome = driver.find_elements(By.CSS_SELECTOR, "#tool-calls tbody tr td")
    assert tool.text == "write_file" and outcome.text not in ("", "running")
    assert driver.find_element(By.ID, "run-tokens").text.isdigit()
    assert re.fullmatch(r"\$\d+\.\d{6}", driver.find_element(By.ID, "run-cost").text)  # the run's cost, shown
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, f'#runs tr[data-run-id="{run_id}"]'), "completed"))
    screenshot(chromium_driver, tmp_path, "dashboard-completed.png")
    assert (workdir / "out.txt").read_text() == "hello"
    with server.client() as client:
        run = client.get(f"/runs/{run_id}").json()
    assert run["status"] == "completed" and run["result"]["summary"] == "wrote out.txt"


def test_deny_in_the_dashboard_and_user_text_is_never_markup(serve: Any, workdir: Path, chromium_driver: Any) -> None:
    server = serve(WRITER)
    hostile = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    run_id = start_run(server, "writer", {"task": hostile})
    driver = chromium_driver.driver
    wait = sign_in(driver, server.url)
    open_run(driver, wait, run_id)
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#approvals button.deny"))).click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "run-status"), "completed"))
    assert driver.find_element(By.CSS_SELECTOR, "#approvals .approval h3").text == "Denied"
    assert json.loads(driver.find_element(By.ID, "run-inputs").text) == {"task": hostile}  # text, not markup
    assert driver.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    assert driver.execute_script("return window.__xss") is None
    assert not (workdir / "out.txt").exists()


def test_the_page_needs_the_key_and_forgets_it(serve: Any, chromium_driver: Any) -> None:
    server = serve(WRITER)
    driver = chromium_driver.driver
    driver.get(server.url + "/")
    wait = WebDriverWait(driver, WAIT)
    wait.until(EC.visibility_of_element_located((By.ID, "api-key"))).send_keys("ksk_wrong")
    driver.find_element(By.ID, "key-save").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "notice"), "refused"))
    assert driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr") == []
    driver.find_element(By.ID, "key-forget").click()
    wait.until(EC.visibility_of_element_located((By.ID, "api-key")))
    assert driver.execute_script("return sessionStorage.getItem('kaizen.apiKey')") is None
