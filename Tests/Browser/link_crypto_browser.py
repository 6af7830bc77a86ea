#!/usr/bin/env python3
"""Runs link-crypto.js in Debian's chromium (headless, through chromedriver) against libsodium's vectors.

Usage: link_crypto_browser.py VECTORS_DIR CHECK...
VECTORS_DIR holds link-crypto.js (the bytes the binary serves), vectors.json and the files it names
(Tests/GalleryTests/LinkCryptoTests.swift writes them). It is served on loopback with link_crypto_check.js and a page
loading both as classic scripts. Checks: chunks, open-whole, open-streaming, refuse-tampered, blake2b, encoding,
throughput. Prints one line per check ("PASS name" / "FAIL name: why"), notes indented, and exits 1 when any failed.
"""
import functools, http.server, os, shutil, sys, threading
import chromium

directory = sys.argv[1]
checks = sys.argv[2:]

shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "link_crypto_check.js"),
            os.path.join(directory, "check.js"))
with open(os.path.join(directory, "index.html"), "w") as page:
    page.write('<!doctype html><meta charset="utf-8"><title>link-crypto</title>'
               '<script src="link-crypto.js"></script><script src="check.js"></script>\n')


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=directory))
threading.Thread(target=server.serve_forever, daemon=True).start()

driver = chromium.browser(arguments=[])
failed = False
try:
    driver.set_script_timeout(600)
    driver.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
    for check in checks:
        result = driver.execute_async_script("runCheck(arguments[0]).then(arguments[1])", check)
        if result["ok"]:
            print(f"PASS {check}")
        else:
            failed = True
            print(f"FAIL {check}: {result['failureCount']} failures: " + "; ".join(result["failures"]))
        for note in result["notes"]:
            print("  " + note)
        sys.stdout.flush()
finally:
    driver.quit()
    server.shutdown()
sys.exit(1 if failed else 0)
