#!/usr/bin/env python3
"""Drives Debian's chromium (headless, through chromedriver, a fresh profile each check) against the public link
pages of a running `keepsake serve --links-only` (docs/public-links.md).

Usage: link_browser.py CONFIG_JSON SCREENSHOT_DIR CHECK...
CONFIG_JSON: {"links": {"open": URL, "password": URL, "download": URL, "expired": URL, "revoked": URL,
              "swapped": URL, "bench": URL}, "password": "...", "items": N, "store": DIR,
              "downloadName": "Pumkins1.jpg", "downloadSample": PATH, "livePhoto": "IMG_3582"}
Checks: grid, video, live-photo, password, expired, revoked, no-download, download, swapped, bench.
Prints one line per check ("PASS name" / "FAIL name: why") and exits 1 when any failed.
"""
import base64, ctypes, glob, hashlib, json, os, sys, tempfile, time, urllib.error, urllib.request
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
import chromium
from chromium import wait
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

config = json.load(open(sys.argv[1]))
shots = sys.argv[2]
checks = sys.argv[3:]
failures = []
downloads = tempfile.mkdtemp(prefix="link-downloads-")


def browser():
    return chromium.browser(downloads=downloads)


def shot(driver, name):
    chromium.shot(driver, shots, name)


# --- The link's crypto, from the design, to look at what the server gives without the page ----------------------

def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def split(url):
    """(origin, token, link key) of a link URL."""
    rest, key = url.split("#", 1)
    origin, token = rest.split("/l/", 1)
    return origin, token, b64url(key)


def hkdf(ikm, info):
    return HKDF(hashes.SHA256(), 32, b"keepsake-link-v1", info.encode()).derive(ikm)


def fetch(url, method="GET"):
    """(status, body) of a plain request, without the page."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method)) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def manifest_of(url):
    """The manifest of a link without a password, opened as the page does, and the manifest key."""
    origin, token, key = split(url)
    status, sealed = fetch(f"{origin}/l/{token}/manifest")
    assert status == 200, f"the manifest answered {status}"
    manifest_key = hkdf(key, "manifest " + token)
    plain = AESGCM(manifest_key).decrypt(sealed[:12], sealed[12:], ("keepsake link manifest v1\n" + token).encode())
    return json.loads(plain), manifest_key


sodium = ctypes.CDLL("libsodium.so.23")
sodium.sodium_init()


def secretstream_opens(key, data):
    """Whether libsodium's secretstream opens the first chunk of `data` (a stored original) with `key`."""
    if len(key) != 32 or len(data) < 24 + 17:
        return False
    state = ctypes.create_string_buffer(sodium.crypto_secretstream_xchacha20poly1305_statebytes())
    if sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, data[:24], key) != 0:
        return False
    chunk = data[24:24 + (4 << 20) + 17]
    out = ctypes.create_string_buffer(len(chunk))
    out_len, tag = ctypes.c_ulonglong(), ctypes.c_ubyte()
    return sodium.crypto_secretstream_xchacha20poly1305_pull(
        state, out, ctypes.byref(out_len), ctypes.byref(tag), chunk, ctypes.c_ulonglong(len(chunk)), None, ctypes.c_ulonglong(0)) == 0


def stored_path(name):
    """Where the library's folder keeps the store object `name`."""
    parts = name.split("/")
    found = [p for p in glob.glob(os.path.join(config["store"], "**", parts[-1]), recursive=True)
             if all(part in p.split(os.sep) for part in parts)]
    assert len(found) == 1, f"{name}: {len(found)} files in the store"
    return found[0]


def stored_object(name):
    return open(stored_path(name), "rb").read()


# --- The page ---------------------------------------------------------------------------------------------------

TILES_LOADED = """
const t = [...document.querySelectorAll('.tile')];
return t.length && t.every(x => x.matches('.loaded, .bad, .empty')) ? t.length : 0"""


def open_album(driver, url, items):
    """Opens `url`, scrolls through the grid, and checks that every one of `items` thumbnails is decoded."""
    driver.get(url)
    wait("the grid", lambda: driver.find_elements(By.CSS_SELECTOR, ".tile"))
    deadline = time.time() + 60
    while not driver.execute_script(TILES_LOADED) and time.time() < deadline:
        driver.execute_script("window.scrollBy(0, 600)")
        time.sleep(0.1)
    driver.execute_script("window.scrollTo(0, 0)")
    count = wait("every tile settled", lambda: driver.execute_script(TILES_LOADED))
    assert count == items, f"{count} tiles, the album has {items} items"
    bad = driver.execute_script("return [...document.querySelectorAll('.tile.bad')].map(t => t.getAttribute('aria-label'))")
    assert not bad, f"tiles that did not open: {bad}"
    decoded = driver.execute_script(
        "return [...document.querySelectorAll('.tile img')].filter(i => i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:')).length")
    manifest, _ = manifest_of(url)
    expected = sum(1 for i in manifest["items"] if i.get("thumbnail"))
    assert decoded == expected and expected >= items - 1, f"{decoded} thumbnails decoded, the manifest has {expected} for {items} items"
    assert driver.find_element(By.ID, "title").text, "no title"
    return count


def open_tile(driver, label):
    tile = driver.find_element(By.CSS_SELECTOR, f".tile[aria-label*='{label}']")
    tile.click()
    wait("the viewer", lambda: driver.find_element(By.ID, "viewer").is_displayed())


def large_shown(driver):
    return driver.execute_script("const i = document.getElementById('photo'); return i && i.dataset.state === 'large' && i.naturalWidth > 0 && i.naturalWidth")


def taken(item):
    """An item's capture time as a sortable number; undated items last."""
    from datetime import datetime
    try:
        return datetime.fromisoformat(item["takenAt"].replace("Z", "+00:00")).timestamp()
    except (KeyError, TypeError, AttributeError, ValueError):
        return float("-inf")


def check_grid(driver):
    open_album(driver, config["links"]["open"], config["items"])
    shot(driver, "grid")
    manifest, _ = manifest_of(config["links"]["open"])
    shown = driver.execute_script("return [...document.querySelectorAll('.tile')].map(t => t.getAttribute('aria-label'))")
    newest_first = [taken(i) for i in sorted(manifest["items"], key=lambda i: shown.index(i["name"]))]
    assert newest_first == sorted(newest_first, reverse=True), f"the grid is not newest first: {shown}"
    photo = next(i for i in manifest["items"] if i["type"] == "photo" and i.get("large"))
    open_tile(driver, photo["name"])
    width = wait("the large picture", lambda: large_shown(driver))
    assert driver.find_element(By.ID, "name").text == photo["name"], "the viewer shows another item"
    shot(driver, "viewer")
    if photo.get("takenAt"):
        assert "Taken" in driver.find_element(By.ID, "facts").text, "no date in the viewer"
    first = driver.find_element(By.ID, "name").text
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_RIGHT if driver.find_element(By.ID, "next").is_displayed() else Keys.ARROW_LEFT)
    wait("the arrow key to another item", lambda: driver.find_element(By.ID, "name").text != first)
    body.send_keys(Keys.ESCAPE)
    wait("Escape to close the viewer", lambda: not driver.find_element(By.ID, "viewer").is_displayed())
    placed = [i for i in manifest["items"] if i.get("place")]
    if placed:
        open_tile(driver, placed[0]["name"])
        link = wait("the place", lambda: driver.find_elements(By.CSS_SELECTOR, "#facts a[href^='https://www.openstreetmap.org/']"))
        shot(driver, "viewer-place")
        print(f"  place: {placed[0]['name']} {link[0].get_attribute('href')}")
    print(f"  grid: {config['items']} thumbnails decoded; large picture of {photo['name']}: {width} px wide")


def check_video(driver):
    open_album(driver, config["links"]["open"], config["items"])
    manifest, _ = manifest_of(config["links"]["open"])
    best, longest = None, 0
    for item in (i for i in manifest["items"] if i["type"] == "video" and i.get("stream")):
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        open_tile(driver, item["name"])
        try:  # A stream Chromium cannot parse (the 0.1 s Dolby Vision sample's) never gets metadata: it is passed over.
            duration = wait("the video's metadata", lambda: driver.execute_script(
                "const v = document.getElementById('player'); if (!v) return 0; v.preload = 'auto'; return v.readyState >= 1 ? v.duration : 0"), 10)
        except AssertionError:
            continue
        if duration > longest:
            best, longest = item, duration
    assert best and longest > 0.4, f"no video plays (longest {longest} s)"
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    open_tile(driver, best["name"])
    wait("the player's source", lambda: driver.execute_script("return document.getElementById('player').src.startsWith('blob:')"))
    driver.execute_script("const v = document.getElementById('player'); v.muted = true; v.play()")
    target = min(1.0, longest / 2)
    wait(f"the video past {target:.2f} s", lambda: driver.execute_script(f"return document.getElementById('player').currentTime > {target}"), 40)
    shot(driver, "viewer-video")
    print(f"  video: {best['name']}, {longest:.1f} s, played past {target:.2f} s")


def check_live_photo(driver):
    open_album(driver, config["links"]["open"], config["items"])
    open_tile(driver, config["livePhoto"])
    wait("the Live Photo's still", lambda: large_shown(driver))
    shot(driver, "viewer-live-still")
    driver.execute_script("document.getElementById('player').muted = true")
    driver.find_element(By.ID, "motion").click()
    wait("the Live Photo playing", lambda: driver.execute_script("return document.getElementById('player').currentTime > 0.5"), 30)
    shot(driver, "viewer-live-playing")


def check_password(driver):
    url = config["links"]["password"]
    origin, token, _ = split(url)
    status, _ = fetch(f"{origin}/l/{token}/manifest")
    assert status != 200, "the manifest of a password link is served without the password"
    driver.get(url)
    wait("the password form", lambda: driver.find_element(By.ID, "unlock").is_displayed())
    assert not driver.find_elements(By.CSS_SELECTOR, ".tile"), "tiles before the password"
    shot(driver, "password")
    field = driver.find_element(By.ID, "password")
    field.send_keys("not " + config["password"] + Keys.ENTER)
    wait("the wrong password refused", lambda: "Wrong password" in driver.find_element(By.ID, "unlock-note").text, 60)
    assert not driver.find_elements(By.CSS_SELECTOR, ".tile"), "tiles after a wrong password"
    shot(driver, "password-wrong")
    field.clear()
    field.send_keys(config["password"] + Keys.ENTER)
    wait("the album after the right password", lambda: driver.find_elements(By.CSS_SELECTOR, ".tile"), 60)
    open_album_loaded(driver, config["items"])
    shot(driver, "password-opened")


def open_album_loaded(driver, items):
    count = wait("every tile settled", lambda: driver.execute_script(TILES_LOADED), 60)
    decoded = driver.execute_script("return [...document.querySelectorAll('.tile img')].filter(i => i.naturalWidth > 0).length")
    assert count == items and decoded == items, f"{decoded} of {items} thumbnails decoded"


def check_gone(driver, which):
    url = config["links"][which]
    origin, token, _ = split(url)
    for route in ["", "/info", "/manifest"]:
        status, _ = fetch(f"{origin}/l/{token}{route}")
        assert status == 410, f"/l/<token>{route} answered {status}, not 410"
    driver.get(url)
    # The server's page for an ended link (body.ended), or the link page's own message should the link end while open.
    wait("the gone page", lambda: driver.find_elements(By.CSS_SELECTOR, "body.ended, body.gone"))
    text = driver.find_element(By.TAG_NAME, "main").text
    assert "revoked" in text and "expired" in text, f"the page says: {text}"
    assert not driver.find_elements(By.CSS_SELECTOR, ".tile, img"), "the gone page shows pictures"
    asked = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert not [n for n in asked if "/manifest" in n or "/o/" in n], f"the gone page asked for {asked}"
    shot(driver, "gone-" + which)
    print(f"  {which}: 410, the page says “{' '.join(text.split())}”")


def check_expired(driver):
    check_gone(driver, "expired")


def check_revoked(driver):
    check_gone(driver, "revoked")


def check_no_download(driver):
    url = config["links"]["open"]
    open_album(driver, url, config["items"])
    manifest, manifest_key = manifest_of(url)
    assert manifest["allowDownload"] is False and all(not i.get("originals") for i in manifest["items"]), "the manifest has originals"
    assert "fileKey" not in json.dumps(manifest), "the manifest carries a file key"
    for item in manifest["items"]:
        open_tile(driver, item["name"])
        assert not driver.find_elements(By.CSS_SELECTOR, ".download"), f"{item['name']} offers a download"
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    # The original of the item, by the object name the download link gives away, with every key this link has.
    allowed, _ = manifest_of(config["links"]["download"])
    original = next(o for i in allowed["items"] for o in i.get("originals", []) if o["name"] == config["downloadName"])
    data = stored_object(original["object"])
    assert secretstream_opens(b64url(original["fileKey"]), data), "control: the download link's file key does not open it"
    origin, token, link_key = split(url)
    keys = {"link key": link_key, "manifest key": manifest_key, "content key": b64url(manifest["contentKey"])}
    opened = [name for name, key in keys.items() if secretstream_opens(key, data)]
    assert not opened, f"the original opens with the {opened}"
    status, served = fetch(f"{origin}/l/{token}/o/{original['object']}")
    assert status != 200 or not any(secretstream_opens(key, served) for key in keys.values()), "the link's route serves the original, and it opens"
    print(f"  no-download: {len(manifest['items'])} items without a button; {original['object']} opens with none of {list(keys)} (route: {status})")


def check_download(driver):
    open_album(driver, config["links"]["download"], config["items"])
    open_tile(driver, config["downloadName"])
    button = wait("the download button", lambda: driver.find_elements(By.CSS_SELECTOR, ".download"))[0]
    button.click()
    target = os.path.join(downloads, config["downloadName"])
    wait("the downloaded file", lambda: os.path.exists(target) and not glob.glob(target + "*.crdownload"), 60)
    shot(driver, "viewer-download")
    data = open(target, "rb").read()
    expected = open(config["downloadSample"], "rb").read()
    assert hashlib.sha256(data).digest() == hashlib.sha256(expected).digest(), f"the download ({len(data)} bytes) differs from the sample ({len(expected)})"
    print(f"  download: {config['downloadName']}, {len(data)} bytes, bit-exact")


def check_swapped(driver):
    """One thumbnail object of the link overwritten in the store with another's bytes: that tile says so, the
    others open."""
    url = config["links"]["swapped"]
    manifest, _ = manifest_of(url)
    victim, other = [i["thumbnail"] for i in manifest["items"] if i.get("thumbnail")][:2]
    if config.get("swap", True):
        path = stored_path(victim)
        with open(path, "wb") as file:
            file.write(stored_object(other))
    driver.get(url)
    wait("every tile settled", lambda: driver.execute_script(TILES_LOADED), 60)
    bad = driver.execute_script("return [...document.querySelectorAll('.tile.bad')].map(t => t.textContent)")
    loaded = driver.execute_script("return document.querySelectorAll('.tile.loaded img').length")
    thumbnails = sum(1 for i in manifest["items"] if i.get("thumbnail"))
    assert len(bad) == 1 and "could not be verified" in bad[0], f"tiles marked bad: {bad}"
    assert loaded == thumbnails - 1, f"{loaded} of the {thumbnails - 1} other tiles opened"
    shot(driver, "swapped")


def check_bench(driver):
    """Bytes and time to the first thumbnail of a fresh profile opening a large album."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        new MutationObserver(() => { if (!window.firstThumbnail && document.querySelector('.tile.loaded'))
          window.firstThumbnail = performance.now(); }).observe(document, {subtree: true, childList: true, attributes: true});"""})
    driver.get(config["links"]["bench"])
    first = wait("the first thumbnail", lambda: driver.execute_script("return window.firstThumbnail"), 60)
    wait("the first screen settled", lambda: driver.execute_script(
        "return [...document.querySelectorAll('.tile')].filter(t => t.getBoundingClientRect().top < innerHeight).every(t => t.matches('.loaded'))"), 60)
    time.sleep(1)
    size = "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).reduce((s, e) => s + e.transferSize, 0)"
    screen_bytes = driver.execute_script(size)
    screen_tiles = driver.execute_script("return document.querySelectorAll('.tile.loaded').length")
    start = time.time()
    deadline = time.time() + 120
    while not driver.execute_script(TILES_LOADED) and time.time() < deadline:
        driver.execute_script("window.scrollBy(0, 800)")
        time.sleep(0.05)
    all_tiles = wait("every tile", lambda: driver.execute_script(TILES_LOADED), 60)
    all_bytes = driver.execute_script(size)
    assets = driver.execute_script("return performance.getEntriesByType('resource').filter(e => e.name.includes('/l/assets/')).reduce((s, e) => s + e.transferSize, 0)")
    assert all_tiles == config["items"], f"{all_tiles} tiles"
    shot(driver, "bench")
    print(f"  bench: {config['items']} items: first thumbnail after {first:.0f} ms; first screen ({screen_tiles} tiles) "
          f"{screen_bytes / 1000:.0f} kB; all {all_tiles} thumbnails {all_bytes / 1000:.0f} kB "
          f"(page and scripts {assets / 1000:.0f} kB) in {time.time() - start:.1f} s of scrolling")


for name in checks:
    driver = browser()
    try:
        globals()["check_" + name.replace("-", "_")](driver)
        print("PASS " + name, flush=True)
    except Exception as error:  # every check runs; each failure is told
        failures.append(name)
        print(f"FAIL {name}: {type(error).__name__}: {error}", flush=True)
        try:
            shot(driver, "failed-" + name)
        except Exception:
            pass
    finally:
        driver.quit()
sys.exit(1 if failures else 0)
