#!/usr/bin/env python3
"""Opens a keepsake public link the way the page does, but with Python's `cryptography` (OpenSSL) instead of
WebCrypto: an oracle, independent of swift-crypto, for the link format of docs/public-links.md.

    link_oracle.py URL [PASSWORD]

Prints one JSON object: the HTTP status of each step, the manifest's summary, and how many of its thumbnails,
large pictures and playlists opened with the manifest's content key and their names as associated data."""
import base64, http.cookiejar, json, sys, urllib.error, urllib.request
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def b64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(material, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"keepsake-link-v1", info=info.encode()).derive(material)


def main():
    url, password = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
    base, fragment = url.split("#", 1)
    link_key = b64u(fragment)
    origin, token = base.split("/l/")
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    result = {}

    def get(path, data=None):
        request = urllib.request.Request(f"{origin}/l/{token}{path}", data=data, method="POST" if data else "GET")
        try:
            with opener.open(request) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    status, body = get("")
    result["page"] = status
    if status != 200:
        print(json.dumps(result))
        return
    status, body = get("/info")
    info = json.loads(body)
    password_key = None
    if info["password"]:
        result["passwordAsked"] = True
        if password is None:
            print(json.dumps(result))
            return
        kdf = info["password"]
        password_key = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=b64u(kdf["salt"]),
                                  iterations=kdf["iterations"]).derive(password.encode())
        check = base64.urlsafe_b64encode(hkdf(password_key, "password check " + token)).rstrip(b"=")
        status, sealed = get("/unlock", data=check)
        result["unlock"] = status
        if status != 200:
            print(json.dumps(result))
            return
        manifest_key = hkdf(link_key + password_key, "manifest " + token)
    else:
        status, sealed = get("/manifest")
        result["manifestStatus"] = status
        manifest_key = hkdf(link_key, "manifest " + token)
    manifest = json.loads(AESGCM(manifest_key).decrypt(sealed[:12], sealed[12:], f"keepsake link manifest v1\n{token}".encode()))
    result.update(title=manifest["title"], items=len(manifest["items"]), allowDownload=manifest["allowDownload"],
                  originals=sum(len(item.get("originals", [])) for item in manifest["items"]),
                  places=sum(1 for item in manifest["items"] if item.get("place")))
    content_key = AESGCM(b64u(manifest["contentKey"]))
    opened = {"thumbnail": 0, "large": 0, "playlist": 0}
    for item in manifest["items"]:
        for role, name in (("thumbnail", item.get("thumbnail")), ("large", item.get("large")),
                           ("playlist", (item.get("stream") or {}).get("playlist"))):
            if not name:
                continue
            status, sealed = get("/o/" + name)
            plain = content_key.decrypt(sealed[:12], sealed[12:], f"keepsake link object v1\n{token}\n{name}".encode())
            if role == "playlist" and not plain.startswith(b"#EXTM3U"):
                raise SystemExit(f"{name} is not a playlist")
            if role != "playlist" and not plain.startswith(b"\xff\xd8\xff"):
                raise SystemExit(f"{name} is not a JPEG")
            opened[role] += 1
    result["opened"] = opened
    print(json.dumps(result))


main()
