"""Signed server keys as a remote homeserver verifies them: canonical JSON (the
specification's own examples), ed25519 signatures, valid_until_ts."""

from __future__ import annotations

import base64
import copy
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from wmx.doctor.keys import canonical_json, unpadded_base64, verify_server_keys

NOW_MS = 1_800_000_000_000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def signed_keys(server: str = "example.test", until: int = NOW_MS + 3_600_000) -> dict[str, Any]:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    document: dict[str, Any] = {
        "server_name": server,
        "valid_until_ts": until,
        "verify_keys": {"ed25519:a_abc": {"key": b64(public)}},
        "old_verify_keys": {},
    }
    signature = private.sign(canonical_json(document))
    document["signatures"] = {server: {"ed25519:a_abc": b64(signature)}}
    document["unsigned"] = {"ignored": True}  # not covered by the signature
    return document


def test_canonical_json_matches_the_specifications_examples() -> None:
    assert canonical_json({}) == b"{}"
    assert canonical_json({"one": 1, "two": "Two"}) == b'{"one":1,"two":"Two"}'
    assert canonical_json({"b": "2", "a": "1"}) == b'{"a":"1","b":"2"}'
    assert canonical_json({"a": "日本語"}) == '{"a":"日本語"}'.encode()
    assert canonical_json({"本": 2, "日": 1}) == '{"日":1,"本":2}'.encode()
    assert canonical_json({"a": "\u00e9"}) == '{"a":"é"}'.encode()
    assert canonical_json({"a": None}) == b'{"a":null}'
    nested = {"auth": {"success": True, "mxid": "@john.doe:example.com", "profile": {
        "display_name": "John Doe", "three_pids": [
            {"medium": "email", "address": "john.doe@example.org"},
            {"medium": "msisdn", "address": "123456789"}]}}}  # fmt: skip
    assert canonical_json(nested) == (
        b'{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
        b'"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
        b'{"address":"123456789","medium":"msisdn"}]},"success":true}}'
    )


def test_unpadded_base64_reads_both_alphabets() -> None:
    assert unpadded_base64("YWJj") == b"abc"
    assert unpadded_base64("YQ") == b"a"
    assert unpadded_base64("-_8") == unpadded_base64("+/8")


def test_a_correctly_signed_response_verifies() -> None:
    verdict = verify_server_keys(signed_keys(), "example.test", NOW_MS)
    assert verdict.problems == []
    assert verdict.verified_keys == ["ed25519:a_abc"]


def test_a_changed_field_breaks_the_signature() -> None:
    document = signed_keys()
    document["valid_until_ts"] += 1
    verdict = verify_server_keys(document, "example.test", NOW_MS)
    assert verdict.problems == ["the signature by ed25519:a_abc does not verify"]


def test_unsigned_is_not_covered_by_the_signature() -> None:
    document = signed_keys()
    document["unsigned"] = {"anything": "else"}
    assert verify_server_keys(document, "example.test", NOW_MS).problems == []


def test_expired_keys_another_server_and_missing_keys_are_named() -> None:
    expired = verify_server_keys(signed_keys(until=NOW_MS - 60_000), "example.test", NOW_MS)
    assert expired.problems == ["valid_until_ts lies 60 s in the past"]
    other = verify_server_keys(signed_keys("other.test"), "example.test", NOW_MS)
    assert "server_name is 'other.test', not 'example.test'" in other.problems
    assert "the response carries no signature of example.test" in other.problems
    bare = copy.deepcopy(signed_keys())
    bare["verify_keys"] = {}
    assert verify_server_keys(bare, "example.test", NOW_MS).problems == [
        "verify_keys holds no ed25519 key"
    ]
    stranger = signed_keys()
    stranger["signatures"]["example.test"]["ed25519:zzz"] = "AAAA"
    assert (
        "signed by ed25519:zzz, which verify_keys does not offer"
        in verify_server_keys(stranger, "example.test", NOW_MS).problems
    )
    assert verify_server_keys([], "example.test", NOW_MS).problems == [
        "the response is not a JSON object"
    ]
