#!/usr/bin/env python3
"""Verifies Standard Webhooks asymmetric (v1a, Ed25519) signatures with PyPI pynacl, written
from the spec's text alone: the public key is "whpk_" + base64 of the Ed25519 public key; the
signed content is "<webhook-id>.<webhook-timestamp>.<body>"; webhook-signature is a
space-delimited list of "<version>,<base64 signature>", and a request verifies when any "v1a"
entry verifies.

Usage: verify_v1a.py WHPK_KEY REQUESTS.json
REQUESTS.json: a list of {"id", "timestamp", "signature", "body_base64"}.
Prints one line per request: "ok", or "failed: <why>"."""
import base64
import json
import sys

import nacl.exceptions
import nacl.signing

public_key, path = sys.argv[1], sys.argv[2]
assert public_key.startswith("whpk_"), "a whpk_ public key"
verify_key = nacl.signing.VerifyKey(base64.b64decode(public_key[len("whpk_"):]))

for request in json.load(open(path)):
    content = f"{request['id']}.{request['timestamp']}.".encode() + base64.b64decode(request["body_base64"])
    candidates = [entry.split(",", 1)[1] for entry in request["signature"].split(" ") if entry.startswith("v1a,")]
    verified = False
    for candidate in candidates:
        try:
            verify_key.verify(content, base64.b64decode(candidate))
            verified = True
            break
        except (nacl.exceptions.BadSignatureError, ValueError):
            pass
    print("ok" if verified else f"failed: none of {len(candidates)} v1a signatures verifies")
