#!/usr/bin/env python3
"""Drives Debian's chromium (headless, through chromedriver) against a running `keepsake serve`.

Usage: gallery_browser.py BASE_URL TOKEN_URL PASSPHRASE SAMPLES_DIR SCREENSHOT_DIR CHECK...
Checks: token-login, passphrase-login, timeline, album, heic-rendition, video, live-photo, download.
Prints one line per check ("PASS name" / "FAIL name: why") and exits 1 when any failed.
"""
import hashlib, json, os, sys, time, urllib.request, http.cookiejar
import chromium
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

base, token_url, passphrase, samples, shots = sys.argv[1:6]
checks = sys.argv[6:]
failures = []


def browser():
    return chromium.browser()


def wait(what, condition, timeout=30):
    return chromium.wait(what, condition, timeout, every=0.2)


def shot(driver, name):
    chromium.shot(driver, shots, name)


def login_with_passphrase(driver):
    driver.get(base + "/")
    wait("the login form", lambda: driver.find_elements(By.ID, "passphrase"))
    driver.find_element(By.ID, "passphrase").send_keys(passphrase)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait("the timeline after login", lambda: driver.find_elements(By.ID, "timeline"))


def item_ids(driver):
    return driver.execute_script("return [...document.querySelectorAll('a.tile')].map(a => a.href.split('/items/')[1].split('?')[0])")


def item_with(driver, ids, predicate_js):
    """The first item whose page satisfies predicate_js (evaluated on the item page)."""
    for item in ids:
        driver.get(base + "/items/" + item)
        if driver.execute_script(predicate_js):
            return item
    return None


def check_token_login(driver):
    driver.get(token_url)
    wait("the timeline", lambda: driver.find_elements(By.ID, "timeline"))
    assert driver.get_cookie("keepsake_session")["httpOnly"], "the session cookie is not HttpOnly"
    shot(driver, "timeline-token-login")
    # The token works once: a second browser is refused.
    other = browser()
    try:
        other.get(token_url)
        assert not other.find_elements(By.ID, "timeline"), "the token logged in twice"
    finally:
        other.quit()


def check_passphrase_login(driver):
    driver.delete_all_cookies()
    driver.get(base + "/")
    assert driver.find_elements(By.ID, "passphrase"), "no login form without a session"
    shot(driver, "login")
    login_with_passphrase(driver)


def check_timeline(driver):
    driver.get(base + "/")
    for _ in range(50):
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        time.sleep(0.2)
    count = wait("every img loaded", lambda: driver.execute_script(
        "const i=[...document.images]; return i.length && i.every(x => x.complete && x.naturalWidth > 0) ? i.length : 0"))
    tiles = len(item_ids(driver))
    assert tiles >= 12, f"only {tiles} items on the timeline"
    driver.execute_script("window.scrollTo(0, 0)")
    shot(driver, "timeline")
    print(f"  timeline: {tiles} items, {count} images loaded")
    # The item page's arrow keys follow the timeline's order.
    ids = item_ids(driver)
    driver.get(base + "/items/" + ids[0])
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_RIGHT)
    wait("the right arrow to the next item", lambda: driver.current_url.endswith("/items/" + ids[1]))
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    wait("the left arrow back", lambda: driver.current_url.endswith("/items/" + ids[0]))


def check_album(driver):
    driver.get(base + "/albums")
    albums = driver.find_elements(By.CSS_SELECTOR, "a.album")
    assert len(albums) >= 3, f"{len(albums)} albums"
    shot(driver, "albums")
    driver.get([a.get_attribute("href") for a in albums if "iphone" in a.text][0])
    wait("album images", lambda: driver.execute_script(
        "const i=[...document.images]; return i.length && i.every(x => x.complete && x.naturalWidth > 0)"))
    assert 3 <= len(item_ids(driver)) <= 5, "the iphone album shows other items"
    shot(driver, "album-iphone")


def check_heic_rendition(driver):
    driver.get(base + "/")
    found = item_with(driver, item_ids(driver), "return document.title.includes('IMG_0102')")
    assert found, "no IMG_0102.HEIC item"
    width = wait("the HEIC image", lambda: driver.execute_script(
        "const i=document.getElementById('photo'); return i && i.complete && Math.max(i.naturalWidth, i.naturalHeight)"))
    shot(driver, "item-heic")
    assert width >= 1440, f"the HEIC item shows an image of {width} px, not a rendition of at least 1440"


def check_video(driver):
    driver.get(base + "/")
    ids = item_ids(driver)
    # The longest video among those with a player (IMG_3539.MOV lasts half a second).
    best, longest = None, 0
    for item in ids:
        driver.get(base + "/items/" + item)
        if not driver.execute_script("const v=document.getElementById('player'); return v && v.controls"):
            continue
        # A stream Chromium cannot parse (the 0.1 s Dolby Vision sample's) never gets metadata: it is passed over.
        try:
            duration = wait("the video's metadata", lambda: driver.execute_script(
                "const v=document.getElementById('player'); v.preload='auto'; return v.readyState >= 1 ? v.duration : 0"), 10)
        except AssertionError:
            continue
        if duration > longest:
            best, longest = item, duration
    assert best and longest > 2, f"no video longer than 2 s (longest {longest})"
    driver.get(base + "/items/" + best)
    driver.execute_script("const v=document.getElementById('player'); v.muted=true; v.play()")
    wait("the video past 1 s", lambda: driver.execute_script("return document.getElementById('player').currentTime > 1"), 40)
    shot(driver, "item-video")
    duration = driver.execute_script("return document.getElementById('player').duration")
    target = max(0.5, duration - 1.0)
    driver.execute_script(f"document.getElementById('player').currentTime = {target}")
    wait("the seek", lambda: driver.execute_script(
        f"const v=document.getElementById('player'); return !v.seeking && v.currentTime >= {target - 0.01}"), 30)
    print(f"  video: {driver.title}, duration {duration:.1f} s, seeked to {target:.1f} s")


def check_live_photo(driver):
    driver.get(base + "/")
    found = item_with(driver, item_ids(driver), "return document.title.includes('IMG_3582')")
    assert found, "no IMG_3582 Live Photo item"
    assert driver.find_elements(By.ID, "motion"), "the Live Photo has no motion part"
    shot(driver, "item-live-still")
    driver.execute_script("document.getElementById('player').muted = true")
    driver.find_element(By.ID, "motion").click()
    wait("the Live Photo playing", lambda: driver.execute_script("return document.getElementById('player').currentTime > 0.5"), 30)
    shot(driver, "item-live-playing")


def check_download(driver):
    driver.get(base + "/")
    found = item_with(driver, item_ids(driver), "return document.title.includes('Pumkins1')")
    assert found, "no Pumkins1.jpg item"
    href = driver.find_element(By.CSS_SELECTOR, "a.download").get_attribute("href")
    # The browser's own session cookie, in a plain HTTP client, so that the bytes are compared whole.
    cookie = driver.get_cookie("keepsake_session")["value"]
    request = urllib.request.Request(href, headers={"Cookie": "keepsake_session=" + cookie})
    data = urllib.request.urlopen(request).read()
    expected = open(os.path.join(samples, "cameras", "osxphotos__Pumkins1.jpg"), "rb").read()
    assert hashlib.sha256(data).digest() == hashlib.sha256(expected).digest(), "the download differs from the original"
    shot(driver, "item-jpeg")


driver = browser()
try:
    if checks and checks[0] not in ("token-login", "passphrase-login"):
        driver.get(token_url)
        wait("the timeline after the token login", lambda: driver.find_elements(By.ID, "timeline"))
    for name in checks:
        try:
            globals()["check_" + name.replace("-", "_")](driver)
            print("PASS " + name, flush=True)
        except Exception as error:  # every check runs; each failure is told
            failures.append(name)
            print(f"FAIL {name}: {error}", flush=True)
            try:
                shot(driver, "failed-" + name)
            except Exception:
                pass
finally:
    driver.quit()
sys.exit(1 if failures else 0)
