#!/usr/bin/env python3
"""Uploads files through a collect link as its page does, but written from docs/public-links.md ("Collect links") with
python's `cryptography` alone: a second implementation of the upload sealing, which the owner's Swift side must open.

Usage: collect_upload.py URL FILE NAME [--tamper]   (URL: http://HOST:PORT/l/<token>#<link key>; NAME: the name the
guest gives; --tamper: one bit of the first chunk flipped after sealing, as a server could)
Prints the upload id.
"""
import base64, json, os, sys, urllib.request
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(ikm, salt, info):
    return HKDF(hashes.SHA256(), 32, salt, info.encode()).derive(ikm)


url, path, name = sys.argv[1:4]
tamper = "--tamper" in sys.argv[4:]
rest, link_key = url.split("#", 1)
origin, token = rest.split("/l/", 1)
base = origin + "/l/" + token
cookies = {}


def call(method, route, body=None, content_type="application/octet-stream"):
    request = urllib.request.Request(base + route, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", content_type)
    if cookies:
        request.add_header("Cookie", "; ".join("%s=%s" % item for item in cookies.items()))
    with urllib.request.urlopen(request) as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            key, value = header.split(";", 1)[0].split("=", 1)
            cookies[key] = value
        return response.read()


sealed = call("GET", "/manifest")
manifest_key = hkdf(unb64url(link_key), b"keepsake-link-v1", "manifest " + token)
manifest = json.loads(AESGCM(manifest_key).decrypt(sealed[:12], sealed[12:], ("keepsake link manifest v1\n" + token).encode()))
upload = manifest["upload"]
recipient = unb64url(upload["publicKey"])

upload_id = os.urandom(16).hex()
ephemeral = X25519PrivateKey.generate()
E = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
ikm = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient)) + E + recipient
salt = b"keepsake-collect-v1"
header_key = hkdf(ikm, salt, "header %s\n%s" % (token, upload_id))
chunk_key = hkdf(ikm, salt, "chunks %s\n%s" % (token, upload_id))
size = os.path.getsize(path)
iv = os.urandom(12)
header = iv + AESGCM(header_key).encrypt(iv, json.dumps({"name": name, "size": size, "type": "image/jpeg"}).encode(),
                                          ("keepsake collect header v1\n%s\n%s" % (token, upload_id)).encode())
call("POST", "/uploads", json.dumps({"id": upload_id, "ephemeralKey": b64url(E), "header": b64url(header), "size": size}).encode(),
     "application/json")
chunk_size = upload["chunkSize"]
count = max(1, -(-size // chunk_size))
with open(path, "rb") as f:
    for index in range(count):
        final = "final" if index == count - 1 else "more"
        ad = ("keepsake collect chunk v1\n%s\n%s\n%d\n%s" % (token, upload_id, index, final)).encode()
        nonce = bytes(4) + index.to_bytes(8, "big")
        chunk = bytearray(AESGCM(chunk_key).encrypt(nonce, f.read(chunk_size), ad))
        if tamper and index == 0:
            chunk[len(chunk) // 2] ^= 1
        call("PUT", "/uploads/%s/chunks/%d" % (upload_id, index), bytes(chunk))
call("POST", "/uploads/%s/complete" % upload_id, b"")
print(upload_id)
