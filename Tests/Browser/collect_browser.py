#!/usr/bin/env python3
"""Drives Debian's chromium (headless) against a collect link (docs/public-links.md, "Collect links") served by
`keepsake serve --links-only`, which this script starts, stops in the middle of an upload, and starts again.

Usage: collect_browser.py CONFIG_JSON SCREENSHOT_DIR
CONFIG_JSON: {"keepsake": BINARY, "library": DIR, "log": FILE, "link": "/l/<token>#<key>",
              "first": [PATH, ...] (uploaded by one browser, the largest one interrupted), "second": PATH (another browser),
              "albumItems": N (items already in the album, which no uploader may see)}
Prints "PASS name" / "FAIL name: why" lines and exits 1 when any failed.
"""
import json, os, socket, subprocess, sys, time
import chromium
from chromium import wait
from selenium.webdriver.common.by import By

config = json.load(open(sys.argv[1]))
shots = sys.argv[2]
failures = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
BASE = "http://127.0.0.1:%d" % PORT


def start_server():
    log = open(config["log"], "ab")
    env = {k: v for k, v in os.environ.items() if k != "KEEPSAKE_PASSPHRASE"}
    server = subprocess.Popen([config["keepsake"], "serve", "--links-only", "--library", config["library"],
                               "--listen", "127.0.0.1:%d" % PORT], stdout=log, stderr=log, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def stop_server(server):
    server.terminate()
    server.wait(30)


def rows(driver):
    """(name, state text, progress value, progress max) of each row of "Your uploads"."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#uploads li')).map((li) => [
          li.querySelector('.upload-name').textContent, li.querySelector('.upload-state').textContent,
          li.querySelector('progress').value, li.querySelector('progress').max, li.dataset.state]);""")


def open_link(driver):
    driver.get(BASE + config["link"])
    wait("the upload page", lambda: driver.execute_script(
        "return !document.getElementById('collect').hidden && document.getElementById('uploads-empty') !== null"), 60)


def shows_no_album_item(driver):
    tiles = driver.execute_script("return document.querySelectorAll('#grid .tile, #grid img, .viewer img').length")
    assert tiles == 0, "the upload page shows %d album items" % tiles


def check(name, body):
    try:
        body()
        print("PASS " + name, flush=True)
    except Exception as error:  # noqa: BLE001: a failed check is reported, the others still run
        failures.append(name)
        print("FAIL %s: %s" % (name, str(error).replace("\n", " ")[:800]), flush=True)


server = start_server()
first = chromium.browser()
second = chromium.browser()
names = [os.path.basename(p) for p in config["first"]]
large = max(config["first"], key=os.path.getsize)
large_name = os.path.basename(large)


def upload_interrupt_resume():
    global server
    open_link(first)
    shows_no_album_item(first)
    chromium.shot(first, shots, "collect-empty")
    first.find_element(By.ID, "files").send_keys("\n".join(config["first"]))
    # The large file is under way: stop the server in the middle of it.
    wait("a third of the large upload", lambda: any(r[0] == large_name and r[3] > 1 and r[2] >= r[3] // 3 for r in rows(first)), 300)
    chromium.shot(first, shots, "collect-progress")
    sent_before = [r for r in rows(first) if r[0] == large_name][0][2]
    stop_server(server)
    wait("the page to notice the lost connection", lambda: any(r[4] == "retrying" for r in rows(first)), 60)
    chromium.shot(first, shots, "collect-retrying")
    server = start_server()
    # And the page reloaded before it could finish: the same file chosen again resumes where the store stands.
    first.refresh()
    open_link(first)
    wait("the unfinished upload listed as paused", lambda: any(r[0] == large_name and r[4] == "paused" for r in rows(first)), 60)
    chromium.shot(first, shots, "collect-paused")
    first.find_element(By.ID, "files").send_keys(large)
    wait("every upload to finish", lambda: len(rows(first)) == len(names) and all(r[4] == "complete" for r in rows(first)), 600)
    chromium.shot(first, shots, "collect-done")
    got = sorted(r[0] for r in rows(first))
    assert got == sorted(names), "rows %s, not %s" % (got, names)
    # Resumed, not started again: after the reload the page asked which chunks the store had, and sent the others only.
    puts = first.execute_script("""
        return performance.getEntriesByType('resource').filter((e) => e.name.includes('/chunks/')).map((e) => e.name);""")
    chunks = [r for r in rows(first) if r[0] == large_name][0][3]
    print("large upload: %d chunks, %d sent before the server stopped, %d sent after the reload" % (chunks, sent_before, len(puts)), flush=True)
    assert sent_before > 0 and len(puts) <= chunks - sent_before, "%d chunks sent after the reload, of %d" % (len(puts), chunks)


def second_uploader_sees_only_their_own():
    open_link(second)
    shows_no_album_item(second)
    assert rows(second) == [], "a fresh browser lists uploads: %s" % rows(second)
    second.find_element(By.ID, "files").send_keys(config["second"])
    wait("the second browser's upload", lambda: len(rows(second)) == 1 and rows(second)[0][4] == "complete", 120)
    assert rows(second)[0][0] == os.path.basename(config["second"])
    second.refresh()
    open_link(second)
    wait("the list after a reload", lambda: len(rows(second)) == 1, 30)
    assert [r[0] for r in rows(second)] == [os.path.basename(config["second"])], rows(second)
    chromium.shot(second, shots, "collect-second")
    # The first browser, reloaded, lists its own three and not the second's.
    first.refresh()
    open_link(first)
    wait("the first browser's list after a reload", lambda: len(rows(first)) == len(names), 30)
    assert sorted(r[0] for r in rows(first)) == sorted(names), rows(first)
    assert all(r[4] == "complete" for r in rows(first)), rows(first)
    shows_no_album_item(first)
    chromium.shot(first, shots, "collect-reloaded")


try:
    check("upload-interrupt-resume", upload_interrupt_resume)
    check("second-uploader", second_uploader_sees_only_their_own)
finally:
    first.quit()
    second.quit()
    stop_server(server)
sys.exit(1 if failures else 0)
