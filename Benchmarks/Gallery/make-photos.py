#!/usr/bin/env python3
"""Writes COUNT distinct small JPEGs into DIR: one base picture, each copy with its own JPEG comment (so each has
its own bytes and is a new item), spread over 40 folders (albums with --album-per-folder)."""
import os, sys

base_path, folder, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = open(base_path, "rb").read()
assert base[:2] == b"\xff\xd8", "not a JPEG"
for number in range(count):
    comment = f"keepsake gallery load fixture {number}".encode()
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    sub = os.path.join(folder, f"album-{number % 40:02d}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"IMG_{number:05d}.jpg"), "wb") as out:
        out.write(base[:2] + segment + base[2:])
