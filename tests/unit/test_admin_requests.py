"""What the administration commands used to work out themselves and wmx.admin now does:
the changes `wmx regtoken update` sends, the notice `wmx notice send` sends, the rows of
`wmx user whois` and the tally of `wmx user import`. The CLI only parses and shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmx.admin.notices import notice_body
from wmx.admin.regtokens import token_changes
from wmx.admin.types import Whois
from wmx.admin.user_import import ImportResult, tally
from wmx.admin.users import connections
from wmx.errors import InputError


def test_token_changes_send_only_what_was_asked_for() -> None:
    assert token_changes(uses=5, unlimited=False, expiry_ms=None, no_expiry=False) == {
        "uses_allowed": 5
    }
    assert token_changes(uses=None, unlimited=True, expiry_ms=None, no_expiry=True) == {
        "uses_allowed": None,
        "expiry_time": None,
    }
    assert token_changes(uses=None, unlimited=False, expiry_ms=1000, no_expiry=False) == {
        "expiry_time": 1000
    }


@pytest.mark.parametrize(
    ("uses", "unlimited", "expiry_ms", "no_expiry", "message"),
    [
        (3, True, None, False, "--uses N or --unlimited"),
        (None, False, 1000, True, "--expires DATE or --no-expiry"),
        (None, False, None, False, "nothing to change"),
    ],
)
def test_token_changes_refuse_contradictions_and_nothing(
    uses: int | None, unlimited: bool, expiry_ms: int | None, no_expiry: bool, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        token_changes(uses=uses, unlimited=unlimited, expiry_ms=expiry_ms, no_expiry=no_expiry)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n", "a private key"),
        ("x\n-----BEGIN RSA PRIVATE KEY-----\n", "a private key"),
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n", "a private key"),
        ("daemon:*:1:0:99999:7:::\nroot:$y$j9T$salt$hash:20228:0:99999:7:::\n", "password hashes"),
    ],
)
def test_a_notice_never_carries_a_key_or_password_hashes(
    tmp_path: Path, content: str, said: str
) -> None:
    """`--file` of the site's SSH key or of /etc/shadow had been sent to users: only
    secrets.yml and the site's own places were refused. Any file, by its content."""
    file = tmp_path / "notice.txt"
    file.write_text(content)
    with pytest.raises(InputError, match=f"--file {file}: holds {said}"):
        notice_body(None, file)
    with pytest.raises(InputError, match=f"the message: holds {said}"):
        notice_body(content, None)
    assert notice_body("The key to the city: $5 at the door.", None)


def test_a_typed_notice_is_held_to_the_file_s_limit() -> None:
    """Typed, 70,000 characters had reached Synapse, which refused each user's copy
    (413 M_TOO_LARGE); `--file` was already held to 64 KiB."""
    with pytest.raises(InputError, match="over 64 KiB"):
        notice_body("b" * 70_000, None)


def test_a_notice_comes_from_the_argument_or_the_file(tmp_path: Path) -> None:
    file = tmp_path / "notice.txt"
    file.write_text("Maintenance tonight.\n")
    assert notice_body("Hello", None) == "Hello"
    assert notice_body(None, file) == "Maintenance tonight.\n"
    with pytest.raises(InputError, match="as an argument or with --file, not both"):
        notice_body("Hello", file)
    with pytest.raises(InputError, match="as an argument or with --file"):
        notice_body(None, None)
    with pytest.raises(InputError, match="empty"):
        notice_body(" \n", None)
    file.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="cannot read the message"):
        notice_body(None, file)


def test_whois_rows_are_one_per_connection_with_its_device() -> None:
    info: Whois = {
        "user_id": "@a:example.test",
        "devices": {
            "PHONE": {
                "sessions": [
                    {"connections": [{"ip": "192.0.2.1"}, {"ip": "192.0.2.2"}]},
                    {"connections": []},
                ]
            },
            "LAPTOP": {"sessions": [{"connections": [{"ip": "198.51.100.7"}]}]},
            "IDLE": {},
        },
    }
    assert connections(info) == [
        {"device": "PHONE", "ip": "192.0.2.1"},
        {"device": "PHONE", "ip": "192.0.2.2"},
        {"device": "LAPTOP", "ip": "198.51.100.7"},
    ]
    assert connections({"user_id": "@b:example.test"}) == []


def test_import_tally_counts_each_outcome() -> None:
    results = [
        ImportResult(2, "@a:example.test", "created", "pw"),
        ImportResult(3, "@b:example.test", "exists"),
        ImportResult(4, "@c:example.test", "failed: the server said no"),
        ImportResult(5, "@d:example.test", "created"),
    ]
    assert tally(results) == {"created": 2, "exists": 1, "failed": 1}
    assert tally([]) == {"created": 0, "exists": 0, "failed": 0}


def test_a_generated_password_is_long_random_and_safe_to_paste() -> None:
    from wmx.admin.users import generate_password

    drawn = {generate_password() for _ in range(50)}
    assert len(drawn) == 50
    assert all(len(p) == 20 and p.replace("-", "").replace("_", "").isalnum() for p in drawn)


def test_a_notice_never_sends_the_sites_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`wmx notice send --file secrets.yml` (a slip of the tab key) would send the
    site's passwords to every user: refused before any connection, through a symbolic or
    a hard link too, and the database CA's private key in pki/ as well."""
    from typer.testing import CliRunner

    from wmx.cli import app

    runner = CliRunner()
    site = tmp_path / "s"
    made = runner.invoke(app, ["init", str(site), "--defaults", "--server-name", "n.test"])
    assert made.exit_code == 0, made.output
    (site / "build").mkdir(exist_ok=True)
    (site / "build" / "homeserver.yaml").write_text("macaroon_secret_key: x\n")
    (site / "pki").mkdir(exist_ok=True)
    (site / "pki" / "database-ca.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    link = tmp_path / "innocent.txt"
    link.symlink_to(site / "build" / "homeserver.yaml")
    # Another name of the same file (a hard link) shares no path with it.
    (hard := tmp_path / "notes.txt").hardlink_to(site / "secrets.yml")
    (deep := tmp_path / "config.txt").hardlink_to(site / "build" / "homeserver.yaml")
    monkeypatch.chdir(site)  # a name relative to where wmx runs
    secret = (site / "secrets.yml", link, site / ".wmx" / ".." / "secrets.yml", hard, deep)
    for file in (*secret, site / "pki" / "database-ca.key", Path("pki/database-ca.key")):
        argv = ["--site", str(site), "notice", "send", "--all-local", "--file", str(file)]
        result = runner.invoke(app, [*argv, "--yes", "--url", "http://127.0.0.1:9"])
        assert result.exit_code == 2, result.output
        assert "holds the site's secrets; a notice goes to users" in result.output
    own = site / "maintenance.txt"
    own.write_text("Maintenance tonight.\n")
    argv = ["--site", str(site), "notice", "send", "--all-local", "--file", str(own)]
    allowed = runner.invoke(app, [*argv, "--yes", "--url", "http://127.0.0.1:9"])
    assert "secrets" not in allowed.output
