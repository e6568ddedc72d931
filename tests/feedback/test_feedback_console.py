"""The moderator console in a real headless Chromium (selenium + Debian's chromium-driver)."""
from __future__ import annotations

import shutil
import time

import pytest
from feedback_helpers import ALICE, decision

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
XSS = '<img src=x onerror="window.__xss=1;document.title=\'pwned\'"><script>window.__xss=2</script>'


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def open_console(browser, url):
    """Load the page, enter the token once, and wait for the queue rows."""
    from selenium.webdriver.common.by import By
    browser.get(url + "/")
    browser.find_element(By.ID, "token").send_keys(ALICE)
    browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    return wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr"),
                    what="queue rows")


def test_a_click_stores_a_correction(browser, live):
    from selenium.webdriver.common.by import By
    url, store = live
    ids = store.add_decisions([decision(message_id="1", text="무료 아이템 받으세요 bit.ly/x",
                                        label="normal", confidence=0.35, model_version="7")])
    rows = open_console(browser, url)
    cells = [td.text for td in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[:4] == ["무료 아이템 받으세요 bit.ly/x", "normal", "0.35", "chatloop v7"]
    rows[0].find_element(By.CSS_SELECTOR, "button[data-label=spam]").click()
    wait_for(lambda: store.corrections(), what="the correction in the database")
    wait_for(lambda: "saved: spam" in rows[0].text, what="the row to say saved")
    [row] = store.corrections()
    assert (row["decision_id"], row["label"], row["moderator"]) == (ids[0], "spam", "alice")
    assert row["text"] == "무료 아이템 받으세요 bit.ly/x"


def test_keyboard_moves_and_labels(browser, live):
    from selenium.webdriver.common.by import By
    url, store = live
    ids = store.add_decisions([decision(message_id=str(i), confidence=c)
                               for i, c in enumerate([0.2, 0.3, 0.4])])
    open_console(browser, url)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j")          # second row (confidence 0.3)
    body.send_keys("3")          # toxic; the selection moves on to the third row
    wait_for(lambda: store.corrections(), what="the keyboard correction")
    body.send_keys("k")
    body.send_keys("k")          # back to the first row
    body.send_keys("1")
    wait_for(lambda: len(store.corrections()) == 2, what="the second correction")
    assert {(c["decision_id"], c["label"]) for c in store.corrections()} == \
        {(ids[1], "toxic"), (ids[0], "normal")}
    # The token was kept for the session: a reload shows the queue without asking again.
    browser.refresh()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr"), what="reload")
    assert not browser.find_element(By.ID, "login").is_displayed()


def test_chat_text_is_shown_as_text_and_never_runs(browser, live):
    from selenium.webdriver.common.by import By
    url, store = live
    store.add_decisions([decision(message_id="x", text=XSS, model_version='<b id="mv">1</b>',
                                  confidence=0.1)])
    rows = open_console(browser, url)
    assert rows[0].find_element(By.CSS_SELECTOR, "td.text").text == XSS
    assert browser.find_elements(By.CSS_SELECTOR, "#queue img, #queue script, #mv") == []
    time.sleep(0.5)   # give an injected onerror handler the chance to fire (it must not)
    assert browser.execute_script("return window.__xss === undefined")
    assert browser.title == "chatloop review"


def test_a_wrong_token_asks_again(browser, live):
    from selenium.webdriver.common.by import By
    url, store = live
    browser.get(url + "/")
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait_for(lambda: "not accepted" in browser.find_element(By.ID, "status").text,
             what="the error message")
    assert browser.find_element(By.ID, "login").is_displayed()
