"""The chat page in a real headless Chromium (Debian's chromium + chromium-driver)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from consona.testing import FakeBackend
from tests.server.conftest import live_server, make_app

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)),
                shutil.which("chromium"))  # fmt: skip
DRIVER = (
    "/usr/bin/chromedriver"
    if os.path.exists("/usr/bin/chromedriver")
    else shutil.which("chromedriver")
)
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (run `make setup`)",
)


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,800"):  # fmt: skip
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_chat_page_streams_a_reply_and_shows_why(browser, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    backend = FakeBackend(["I do not have a cat.", "Pepper, my grey cat, is asleep by the lamp."])
    app = make_app(tmp_path / "d", backend=backend, candidates=2)
    # the page rebuilds the character list after an upload: retry on stale elements
    wait = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException])
    with live_server(app) as url:
        browser.get(url + "/")
        wait.until(lambda d: len(Select(d.find_element(By.ID, "character")).options) >= 2)
        Select(browser.find_element(By.ID, "character")).select_by_value("mira")
        # Mira's greeting (first_mes) opens the session
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#log .msg.bot")))
        box = browser.find_element(By.ID, "input")
        box.send_keys("Do you have a cat?")
        browser.find_element(By.ID, "send").click()
        done = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#log .msg.bot.done")))
        assert "Pepper, my grey cat, is asleep by the lamp." in done.text
        why = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#why table.candidates")))
        assert "contradicts" in why.text  # the rejected candidate and why
        caught = browser.find_element(By.CSS_SELECTOR, "#why .caught-facts").text
        assert "I have a grey cat named Pepper." in caught
        session = app.state.store.list(character="mira")[0]
        assert session["turn_count"] == 2 and session["id"].startswith("web-")
        shot = Path(os.environ.get("CONSONA_SCREENSHOT_DIR", tmp_path)) / "chat_page.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000

        # a new session clears the log; uploading a card adds and selects the character
        browser.find_element(By.ID, "new-session").click()
        assert not browser.find_elements(By.CSS_SELECTOR, "#log .msg.user")
        card = tmp_path / "ada.json"
        card.write_text('{"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Ada",'
                        ' "description": "Ada has two dogs.", "first_mes": "Woof-hello!"}}')  # fmt: skip
        browser.find_element(By.ID, "upload").send_keys(str(card))
        wait.until(lambda d: Select(d.find_element(By.ID, "character")).first_selected_option
                   .get_attribute("value") == "ada")  # fmt: skip
        wait.until(lambda d: "Woof-hello!" in d.find_element(By.ID, "log").text)


def test_memory_panel_shows_what_was_remembered(browser, tmp_path):
    import inspect

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from consona.agent import PersonaAgent

    pytest.importorskip("consona.cli.memory")
    if "memory" not in inspect.signature(PersonaAgent).parameters:
        pytest.skip("the agent has no long-term memory yet")
    from consona.cli.serve import build_config
    from consona.server import create_app

    cfg = build_config(backend="fake", nli="fake", data_dir=tmp_path / "d", memory=True,
                       memory_db=str(tmp_path / "m.db"), memory_fakes=True)  # fmt: skip
    wait = WebDriverWait(browser, 20)
    with live_server(create_app(cfg)) as url:
        browser.get(url + "/")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#log .msg.bot"))
        browser.find_element(By.ID, "input").send_keys("I have a parrot named Kiwi.")
        browser.find_element(By.ID, "send").click()
        wait.until(lambda d: d.find_element(By.ID, "memory").is_displayed())
        assert "parrot named Kiwi" in browser.find_element(By.ID, "memory-body").text


def test_the_reply_appears_piece_by_piece(browser, tmp_path):
    import time

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    class SlowStream(FakeBackend):  # one word every 50 ms, like a model typing
        def execute_stream(self, request):
            for piece in super().execute_stream(request):
                time.sleep(0.05)
                yield piece

    backend = SlowStream(["The lamp turns all night and the ships pass by."])
    app = make_app(tmp_path / "d", backend=backend, candidates=1, nli=None)
    wait = WebDriverWait(browser, 20)
    with live_server(app) as url:
        browser.get(url + "/")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#log .msg.bot"))
        browser.execute_script(
            "window.seen = [];"
            "new MutationObserver(() => {"
            "  const b = document.querySelectorAll('#log .msg.bot .text');"
            "  window.seen.push(b[b.length - 1].textContent);"
            "}).observe(document.getElementById('log'),"
            " {subtree: true, childList: true, characterData: true});"
        )
        browser.find_element(By.ID, "input").send_keys("What do you do at night?")
        browser.find_element(By.ID, "send").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#log .msg.bot.done"))
        seen = [s for s in browser.execute_script("return window.seen;") if s]
        assert seen[-1] == "The lamp turns all night and the ships pass by."
        assert len(set(seen)) >= 4  # it grew word by word, not all at once
