"""What the browser tests share: a headless Chromium with a fresh profile, waiting for a condition, screenshots."""
import os, time
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

MEDIA_ARGUMENTS = ["--window-size=1400,1000", "--autoplay-policy=no-user-gesture-required", "--mute-audio"]


def browser(arguments=MEDIA_ARGUMENTS, downloads=None):
    """Debian's chromium, headless, with a fresh profile: no cookie, no cache, nothing of an earlier check."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage"] + arguments:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    if downloads:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return driver


def wait(what, condition, timeout=30, every=0.1):
    """The first true value of `condition()`, asked every `every` seconds for `timeout` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting for " + what)


def shot(driver, folder, name):
    driver.save_screenshot(os.path.join(folder, name + ".png"))
