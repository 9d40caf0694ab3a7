"""The suite's own rules: under WMX_CI=1 a test that lacks a tool or privilege fails,
and a skip that bypasses the helpers is reported as a failure too; elsewhere it skips."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require, require_root, require_tool

pytest_plugins = ["pytester"]

ABSENT_TOOL = "wmx-no-such-tool-anywhere"
REPO = Path(__file__).resolve().parents[2]


def test_require_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WMX_CI", "1")
    with pytest.raises(pytest.fail.Exception, match="needs wmx-no-such-tool-anywhere"):
        require_tool(ABSENT_TOOL)
    with pytest.raises(pytest.fail.Exception, match="WMX_CI=1"):
        require(False, "needs a thing")


def test_require_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WMX_CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs wmx-no-such-tool-anywhere"):
        require_tool(ABSENT_TOOL)
    monkeypatch.setenv("WMX_CI", "0")
    with pytest.raises(pytest.skip.Exception):
        require(False, "needs a thing")


def test_what_is_there_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WMX_CI", "1")
    require(True, "never said")
    require_tool("sh")


def test_root_is_a_requirement_like_any_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WMX_CI", "1")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(pytest.fail.Exception, match="needs root: to boot"):
        require_root("to boot containers")


SKIPPING_MODULE = """
import pytest

def test_bare_skip():
    pytest.skip("no reason this machine should skip")

@pytest.mark.skipif(True, reason="a marker that skips")
def test_marker_skip():
    pass

def test_passes():
    pass
"""


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [
        # A skipif marker skips in setup: under WMX_CI=1 that setup fails (an error).
        ("1", {"failed": 1, "errors": 1, "passed": 1}),
        ("", {"skipped": 2, "passed": 1}),
    ],
)
def test_any_skip_fails_the_run_under_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str, outcome: dict[str, int]
) -> None:
    monkeypatch.setenv("WMX_CI", ci)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    pytester.makeconftest("from tests.conftest import pytest_runtest_makereport  # noqa: F401\n")
    pytester.makepyfile(test_skips=SKIPPING_MODULE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(**outcome)
    if ci:
        result.stdout.fnmatch_lines(["*skipped under WMX_CI=1, which allows no skip*"])


def test_a_ca_path_as_httpx_verify_fails_a_test() -> None:
    """pyproject's filterwarnings: httpx's deprecation of `verify=<path>` is an error in
    the suite, so no client regresses to it (they build an ssl context)."""
    import certifi
    import httpx

    with pytest.raises(DeprecationWarning, match="verify=<str>"):
        httpx.Client(verify=certifi.where())
