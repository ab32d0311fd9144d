"""The page in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) against the real
server process (`policyengine serve --port 0`): a wrong token refused, sign in (the user's name and role shown),
upload examples/applicants_2021.xlsx, wait for the job, check the summary's total against `policyengine.score`,
download the workbook and open it, a row's explanation, the earlier runs, sign out.

Without chromium or chromedriver the test skips with the reason printed; with POLICYENGINE_REQUIRE_BROWSER=1 (as
.ci/run sets) it fails instead. A screenshot of each step is saved in the test's tmp_path (`NN-step.png`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import policyengine
from policyengine.service.tokens import add_token

from .service_support import start_server
from .support import ROOT

XLSX = ROOT / "examples" / "applicants_2021.xlsx"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1600", "--lang=zh-CN"]
def _unavailable(reason: str) -> None:
    reason = f"browser test not run: {reason} (apt-get install chromium chromium-driver fonts-noto-cjk)"
    if os.environ.get("POLICYENGINE_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; POLICYENGINE_REQUIRE_BROWSER=1 requires it")
    print(reason)
    pytest.skip(reason)


def _programs() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                              else None)
    missing = [name for name, found in (("chromium", chromium), ("chromedriver", driver)) if found is None]
    if missing:
        _unavailable(" and ".join(missing) + " not found")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _unavailable("selenium is not installed")
    assert chromium is not None and driver is not None
    return chromium, driver


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The real service, `policyengine serve --port 0` in its own process, as an operator starts it; yields its
    URL and a clerk's token."""
    tokens = tmp_path / "tokens.yaml"
    token = add_token(tokens, "张三", "clerk")
    running = start_server(["--tokens", str(tokens), "--work-dir", str(tmp_path / "work")], tmp_path)
    try:
        yield running.url, token
    finally:
        running.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium, chromedriver = _programs()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(chromedriver, log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        yield driver
    finally:
        driver.quit()


def test_clerk_scores_a_workbook_in_the_browser(server: tuple[str, str], browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, token = server
    wait = WebDriverWait(browser, 30, poll_frequency=0.1)
    shots = iter(range(1, 100))

    def shot(step: str) -> None:
        browser.save_screenshot(str(tmp_path / f"{next(shots):02d}-{step}.png"))

    def by_id(name: str) -> Any:
        return browser.find_element(By.ID, name)

    browser.get(url + "/")
    assert browser.title == "惠企政策兑现测算"
    wait.until(lambda d: by_id("signin").is_displayed())
    shot("signin")

    by_id("token").send_keys("not-a-token")
    by_id("signin-button").click()
    wait.until(lambda d: by_id("signin-error").text)
    assert by_id("signin-error").text == "令牌无效，请核对后重试"
    assert not by_id("app").is_displayed()
    shot("wrong-token")

    by_id("token").send_keys(token)
    by_id("signin-button").click()
    wait.until(lambda d: by_id("app").is_displayed())
    assert by_id("who").text == "当前用户：张三（经办人员）"   # from GET /v1/me
    assert by_id("signout").is_displayed() and by_id("signout").text == "退出"
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#packages input:checked")) == 2)
    shot("signed-in")

    by_id("file").send_keys(str(XLSX))
    by_id("upload-button").click()
    wait.until(lambda d: by_id("job").is_displayed())
    shot("uploaded")

    wait.until(lambda d: by_id("summary").is_displayed())
    assert by_id("job-bar").get_attribute("aria-valuenow") == "100"
    assert by_id("job-status").text.startswith("测算完成：已处理 60 / 60 行")
    expected = policyengine.score(XLSX).summary
    total = by_id("summary-total")
    assert total.get_attribute("data-total") == str(expected["total"])
    assert total.text == f"{expected['total']:,} 元"
    assert by_id("summary-rejected").text == str(expected["rows"]["rejected"])
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-clauses rect.bar")
    assert len(bars) == sum(len(p["clauses"]) for p in expected["packages"])
    browser.execute_script("document.getElementById('summary').scrollIntoView()")
    shot("summary")

    by_id("download-xlsx").click()
    downloads = tmp_path / "downloads"
    wait.until(lambda d: [p for p in downloads.glob("*.xlsx")])
    book = next(downloads.glob("*.xlsx"))
    assert book.name == "applicants_2021-测算结果.xlsx"
    wb = openpyxl.load_workbook(book, read_only=True)
    assert wb.sheetnames == ["结果", "未通过", "汇总", "条款"]
    assert wb["结果"].max_row == expected["rows"]["out"] + 1
    wb.close()

    # the run's decisions (GET /v1/decisions?run=…); a row's explanation in Chinese (…/explain → lines_zh)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#decision-rows tr")) == min(50, expected["rows"]["out"]))
    assert by_id("decisions-page").text == f"第 1–50 条，共 {expected['rows']['out']} 条"
    first = browser.find_element(By.CSS_SELECTOR, "#decision-rows tr")
    name = first.find_elements(By.TAG_NAME, "td")[2].text
    first.click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#explain-lines li:not(.muted)"))
    lines = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#explain-lines li")]
    assert lines[0].startswith(f"申报企业：{name}")
    assert any("条文" in line or "符合" in line for line in lines[1:])
    browser.execute_script("document.querySelector('#decision-rows tr.selected').scrollIntoView()")
    shot("explanation")

    runs = browser.find_elements(By.CSS_SELECTOR, "#run-rows tr")
    assert len(runs) == 1 and "张三" in runs[0].text and "applicants_2021.xlsx" in runs[0].text
    browser.execute_script("document.getElementById('runs').scrollIntoView()")
    shot("runs")

    by_id("signout").click()
    wait.until(lambda d: by_id("signin").is_displayed())
    assert not by_id("app").is_displayed() and by_id("who").text == ""
    assert browser.execute_script("return sessionStorage.length") == 0   # the token is gone from the tab
