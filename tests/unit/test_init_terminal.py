"""`wmx init` on a real terminal (a pty): its questions, and the one a newcomer may not
know the answer to, the Wikimedia consumer key, said what it is for before it is asked."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect

WMX = str(Path(sys.executable).with_name("wmx"))


def test_the_consumer_key_question_says_what_it_is_for(tmp_path: Path) -> None:
    site = tmp_path / "chapter"
    child = pexpect.spawn(
        WMX, ["init", str(site)], encoding="utf-8", timeout=20, dimensions=(24, 250)
    )
    try:
        for question, answer in (
            ("Server name", "example.org"),
            ("Homeserver host", ""),
            ("Web client host", ""),
            ("Admin email", ""),
            ("Acme email", ""),
        ):
            child.expect_exact(question)
            child.sendline(answer)
        child.expect_exact("leave it empty for passwords only")
        child.expect_exact("Wikimedia consumer key")
        child.sendline("")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert (site / "wmx.yaml").is_file() and (site / "secrets.yml").is_file()
