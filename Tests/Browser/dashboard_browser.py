#!/usr/bin/env python3
"""The dashboard in a real browser (headless Chromium through selenium and chromedriver).

Run by DashboardTests.testOutageDeadLetterHostileUsernameAndAuthInABrowser against a live worker, redis-server, receivers and dashboard; it
exits non-zero, saying why, on the first check that fails. Nothing is downloaded: selenium uses
the system's chromedriver (CHROMEDRIVER) and chromium (CHROMIUM).

Environment: DASHBOARD_URL, DASHBOARD_TOKEN, FLAKY_RECOVER_URL (makes the flaky receiver answer
200), FRAGILE_ACCEPT_URL (makes the fragile receiver answer 200), HOSTILE_USER.
"""
import os
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE = os.environ["DASHBOARD_URL"].rstrip("/")
TOKEN = os.environ["DASHBOARD_TOKEN"]
HOSTILE = os.environ.get("HOSTILE_USER", "<script>alert(1)</script>")
STARTED = time.monotonic()


def fail(message):
    print(f"FAIL ({time.monotonic() - STARTED:.1f} s): {message}", flush=True)
    sys.exit(1)


def step(message):
    print(f"[{time.monotonic() - STARTED:5.1f} s] {message}", flush=True)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(method, path, data=None, cookie=None):
    """(status, body) of one request, redirects not followed."""
    request = urllib.request.Request(BASE + path, method=method,
                                     data=data.encode() if data is not None else None)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers


def check_auth():
    for path in ["/", "/endpoints", "/deliveries", "/dead", "/timeline?id=x", "/dead/confirm?op=purge"]:
        status, body, _ = http("GET", path)
        if status not in (401, 303) or (status == 401 and 'name="token"' not in body):
            fail(f"GET {path} without the token answered {status}, not 401 with the token form")
    status, _, _ = http("POST", "/login", "token=wrong")
    if status != 401:
        fail(f"a wrong token answered {status}, not 401")
    status, _, headers = http("POST", "/login", "token=" + urllib.request.quote(TOKEN))
    cookie_header = headers.get("Set-Cookie", "")
    if status != 303 or "HttpOnly" not in cookie_header or "SameSite=Strict" not in cookie_header:
        fail(f"sign-in answered {status} with Set-Cookie {cookie_header!r}: not 303 with an HttpOnly, SameSite=Strict cookie")
    if TOKEN in cookie_header:
        fail("the cookie holds the token itself")
    cookie = cookie_header.split(";")[0]
    # Changes without the CSRF token, or without the cookie, are refused and change nothing.
    status, _, _ = http("POST", "/endpoints/pause", "name=steady", cookie=cookie)
    if status != 403:
        fail(f"a pause without the CSRF token answered {status}, not 403")
    status, _, _ = http("POST", "/dead/purge", "csrf=guess", cookie=cookie)
    if status != 403:
        fail(f"a purge with a wrong CSRF token answered {status}, not 403")
    status, _, _ = http("POST", "/endpoints/pause", "name=steady")
    if status != 401:
        fail(f"a pause without the cookie answered {status}, not 401")
    status, body, _ = http("GET", "/endpoints", cookie=cookie)
    if status != 200 or "paused" in body.split('data-endpoint="steady"')[1].split("</tr>")[0]:
        fail("the refused pause paused the endpoint")
    step("auth: every page 401 without the token; POSTs without CSRF token refused, nothing changed")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--disable-extensions", "--no-first-run"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def no_script_ran(driver, where):
    try:
        alert = driver.switch_to.alert
        fail(f"{where}: an alert opened: {alert.text!r}")
    except NoAlertPresentException:
        pass
    for entry in driver.get_log("browser"):
        message = entry.get("message", "")
        # A script that ran would alert; one the escaping let through but the CSP stopped is
        # reported as a violation. (Failed loads, e.g. the 401 before signing in, are not scripts.)
        if "alert" in message or "Content Security Policy" in message or "Uncaught" in message:
            fail(f"{where}: the console says {message!r}")
    scripts = driver.execute_script("return document.getElementsByTagName('script').length")
    if scripts:
        fail(f"{where}: the page holds {scripts} script elements")


def wait_for(driver, path, predicate, what, timeout=25):
    """Loads `path` until `predicate(driver)` holds (the pages refresh; tests do not wait for that)."""
    deadline = time.monotonic() + timeout
    while True:
        driver.get(BASE + path)
        if predicate(driver):
            return
        if time.monotonic() > deadline:
            fail(f"{what}: not seen on {path} within {timeout} s; the page says:\n{page_text(driver)}")
        time.sleep(0.4)


def page_text(driver):
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except (StaleElementReferenceException, NoSuchElementException):
        return "(the page was changing)"


def after_click(driver, find, predicate, what, timeout=10):
    """Clicks what `find(driver)` returns, then reads `predicate(driver)` until it holds. When
    selenium returns from a click, the navigation it started (a link, a form's POST and
    redirect) may still be under way, and an element read from the page being left goes stale
    under the reader; the pages also reload themselves (`<meta http-equiv="refresh">`) between
    finding an element and clicking it. So a stale or missing element means "not yet", found
    again, and only the timeout fails. (A click on a stale element raises before it is sent.)"""
    deadline = time.monotonic() + timeout
    not_yet = (StaleElementReferenceException, NoSuchElementException, IndexError)
    while True:
        try:
            find(driver).click()
            break
        except not_yet:
            if time.monotonic() > deadline:
                fail(f"{what}: nothing to click within {timeout} s; the page ({driver.current_url}) says:\n{page_text(driver)}")
            time.sleep(0.1)
    while True:
        try:
            if predicate(driver):
                return
        except not_yet:
            pass
        if time.monotonic() > deadline:
            fail(f"{what}: not seen within {timeout} s of the click; the page ({driver.current_url}) says:\n{page_text(driver)}")
        time.sleep(0.1)


def endpoint_state(driver, name):
    rows = driver.find_elements(By.CSS_SELECTOR, f'tr[data-endpoint="{name}"] td.state-cell .state')
    return rows[0].text if rows else None


def main():
    check_auth()
    driver = browser()
    try:
        driver.get(BASE + "/")
        if "token" not in driver.page_source:
            fail("the browser was not shown the token form")
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        after_click(driver, lambda d: d.find_element(By.ID, "sign-in"),
                    lambda d: not d.find_elements(By.ID, "token") and d.find_elements(By.ID, "depth-queue"),
                    "the overview after signing in")
        cookie = driver.get_cookie("wh_dashboard")
        if not cookie or not cookie.get("httpOnly") or cookie.get("sameSite") != "Strict":
            fail(f"the session cookie is {cookie!r}: not HttpOnly and SameSite=Strict")
        step("signed in through the token form")

        # Hostile username: shown as text, never run.
        wait_for(driver, "/deliveries?user=" + urllib.request.quote(HOSTILE),
                 lambda d: HOSTILE in d.find_element(By.TAG_NAME, "main").text, "the hostile username")
        no_script_ran(driver, "deliveries")
        if not driver.find_elements(By.CSS_SELECTOR, "a.timeline"):
            fail("the deliveries page has no timeline link")
        after_click(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "a.timeline")[0],
                    lambda d: "/timeline" in d.current_url and HOSTILE in d.find_element(By.TAG_NAME, "main").text,
                    "the hostile username as text on the timeline")
        no_script_ran(driver, "timeline")
        step("hostile username shown as text on deliveries and timeline; no alert, no script element, no CSP report")

        # Outage: open while the receiver answers 503, ok after it recovers.
        wait_for(driver, "/endpoints", lambda d: endpoint_state(d, "flaky") == "open", "flaky open")
        step("outage: flaky shows open")
        urllib.request.urlopen(os.environ["FLAKY_RECOVER_URL"], timeout=5).read()
        wait_for(driver, "/endpoints", lambda d: endpoint_state(d, "flaky") == "ok", "flaky ok after recovery")
        no_script_ran(driver, "endpoints")
        step("outage: flaky shows ok after recovery")

        # Dead letter: listed, replayed after a confirmation, delivered with the same webhook-id.
        wait_for(driver, "/dead", lambda d: any("fragile" in row.text for row in d.find_elements(By.CSS_SELECTOR, "tr[data-dead-id]")),
                 "fragile's dead letter")
        def fragile_row(d):
            return [r for r in d.find_elements(By.CSS_SELECTOR, "tr[data-dead-id]") if "fragile" in r.text][0]

        timeline = fragile_row(driver).find_element(By.LINK_TEXT, "timeline").get_attribute("href")
        urllib.request.urlopen(os.environ["FRAGILE_ACCEPT_URL"], timeout=5).read()
        after_click(driver, lambda d: fragile_row(d).find_element(By.LINK_TEXT, "Replay"), lambda d: "Confirm" in d.title,
                    "Replay asking for a confirmation")
        after_click(driver, lambda d: d.find_element(By.ID, "confirm"),
                    lambda d: "Replayed 1 dead letter." in d.find_element(By.TAG_NAME, "main").text,
                    "the confirmation replaying the dead letter")
        step("dead letter: replayed after confirming")

        def both_attempts(d):
            outcomes = [c.text for c in d.find_elements(By.CSS_SELECTOR, "tr.attempt td.outcome")]
            return "dead" in outcomes and "delivered" in outcomes

        wait_for(driver, timeline[len(BASE):], both_attempts, "the dead and the delivered attempt on the timeline")
        no_script_ran(driver, "timeline")
        step("dead letter: its timeline shows the dead attempt and the delivered replay")
    finally:
        driver.quit()
    step("all browser checks passed")


if __name__ == "__main__":
    main()
