"""Matrix signed JSON: canonical JSON and ed25519 signatures of a server's key response
(`/_matrix/key/v2/server`), verified as a remote homeserver verifies them."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def canonical_json(value: Any) -> bytes:
    """The Matrix specification's canonical JSON: sorted keys, no insignificant space,
    UTF-8 as is (no \\u escapes beyond what JSON requires)."""
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
    ).encode("utf-8")


def unpadded_base64(text: str) -> bytes:
    """Matrix's unpadded base64 (standard alphabet; URL-safe is accepted too)."""
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not base64: {text[:20]!r}") from exc


@dataclass
class KeyVerdict:
    """What a remote server concludes from a key response."""

    problems: list[str] = field(default_factory=list)
    verified_keys: list[str] = field(default_factory=list)
    valid_until_ts: int | None = None


def verify_server_keys(document: Any, server_name: str, now_ms: int) -> KeyVerdict:
    """Check a `/_matrix/key/v2/server` response the way a homeserver does: it names
    `server_name`, offers ed25519 keys, every signature of `server_name` by one of them
    verifies over the canonical JSON without `signatures` and `unsigned`, and
    `valid_until_ts` lies ahead."""
    verdict = KeyVerdict()
    if not isinstance(document, dict):
        verdict.problems.append("the response is not a JSON object")
        return verdict
    if document.get("server_name") != server_name:
        verdict.problems.append(
            f"server_name is {document.get('server_name')!r}, not {server_name!r}"
        )
    until = document.get("valid_until_ts")
    if not isinstance(until, int) or isinstance(until, bool):
        verdict.problems.append("valid_until_ts is missing or not an integer")
    else:
        verdict.valid_until_ts = until
        if until <= now_ms:
            verdict.problems.append(
                f"valid_until_ts lies {(now_ms - until) / 1000:.0f} s in the past"
            )
    keys = document.get("verify_keys")
    ed25519 = {
        key_id: entry
        for key_id, entry in (keys.items() if isinstance(keys, dict) else [])
        if isinstance(key_id, str) and key_id.startswith("ed25519:")
    }
    if not ed25519:
        verdict.problems.append("verify_keys holds no ed25519 key")
        return verdict
    signatures = document.get("signatures")
    mine = signatures.get(server_name) if isinstance(signatures, dict) else None
    if not isinstance(mine, dict) or not mine:
        verdict.problems.append(f"the response carries no signature of {server_name}")
        return verdict
    signed = canonical_json(
        {k: v for k, v in document.items() if k not in ("signatures", "unsigned")}
    )
    for key_id, signature in sorted(mine.items()):
        entry = ed25519.get(key_id)
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            if key_id.startswith("ed25519:"):
                verdict.problems.append(f"signed by {key_id}, which verify_keys does not offer")
            continue
        try:
            public = Ed25519PublicKey.from_public_bytes(unpadded_base64(entry["key"]))
            public.verify(unpadded_base64(str(signature)), signed)
        except (ValueError, InvalidSignature):
            verdict.problems.append(f"the signature by {key_id} does not verify")
            continue
        verdict.verified_keys.append(key_id)
    if not verdict.verified_keys and not any("signature" in p for p in verdict.problems):
        verdict.problems.append(f"no ed25519 signature of {server_name} by an offered key")
    return verdict
