"""`wmx upgrade plan`: the rules, on real metadata and real release files (fixtures fetched
once from PyPI: the project's JSON trimmed to three releases, and the schema module and
PostgreSQL check of the 1.160.0 and 1.163.2 wheels)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest

from wmx.ops.upgrade_plan import (
    HostFacts,
    UpgradePlan,
    database_rule,
    make_plan,
    parse_homeserver_facts,
    postgres_check,
    python_check,
)
from wmx.ops.upgrade_release import (
    POSTGRES_FILE,
    SCHEMA_FILE,
    PyPI,
    ReleaseError,
    ReleaseFacts,
    Schema,
    parse_postgres_min,
    parse_schema,
)

FIXTURES = Path(__file__).parent / "fixtures" / "upgrade"


def _text(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_schema_versions_of_real_releases() -> None:
    assert parse_schema(_text("schema-1.160.0.py.txt")) == Schema(94, 84)
    assert parse_schema(_text("schema-1.163.2.py.txt")) == Schema(94, 84)


def test_postgres_minimum_from_the_release_check() -> None:
    assert parse_postgres_min(_text("postgres-1.163.2.py.txt")) == 14
    assert parse_postgres_min("no check here") is None


def test_database_rule() -> None:
    # Real: 1.160.0 → 1.163.2 keeps the schema readable by the old release.
    old, new = Schema(94, 84), Schema(94, 84)
    assert database_rule(old, new) == "keeps"
    # A new release whose compat version passes the old release's schema version.
    assert database_rule(Schema(88, 83), Schema(92, 89)) == "dump"
    # Compat equal to the old version: the old release still reads it.
    assert database_rule(Schema(88, 83), Schema(92, 88)) == "keeps"
    assert database_rule(None, new) == "dump"


def test_requires_python_from_real_metadata() -> None:
    metadata = json.loads(_text("pypi-matrix-synapse.json"))
    requires = metadata["releases"]["1.163.2"][0]["requires_python"]
    assert python_check("hs", requires, "3.13.5").ok  # Debian 13
    assert python_check("hs", requires, "3.11.2").ok  # Debian 12
    refused = python_check("hs", requires, "3.9.2")  # Debian 11
    assert not refused.ok and "does not meet" in refused.detail
    assert not python_check("hs", requires, None).ok


def test_postgres_check() -> None:
    assert postgres_check("db", 14, 17).ok
    assert not postgres_check("db", 14, 13).ok
    assert postgres_check("db", None, 13).ok
    assert not postgres_check("db", 14, None).ok


def test_homeserver_facts_parse() -> None:
    facts = parse_homeserver_facts("hs", "3.13.5\n/opt/synapse/venvs/1.160.0\n1.163.2 1.160.0 \n")
    assert facts.python == "3.13.5" and facts.running == "1.160.0"
    assert facts.installed == ("1.160.0", "1.163.2")
    assert parse_homeserver_facts("hs", "3.13.5\n\n\n").running is None


def _facts(version: str, schema: Schema) -> ReleaseFacts:
    return ReleaseFacts(version, "<4.0.0,>=3.10.0", schema, 14)


def _plan_between(old: str, new: str, latest: str, hs: HostFacts, db: HostFacts) -> UpgradePlan:
    real = Schema(94, 84)  # both releases' own
    return make_plan(old, new, latest, _facts(new, real), _facts(old, real), [hs], db)


def test_plan_from_facts() -> None:
    hs = HostFacts("hs", python="3.13.5", running="1.160.0")
    db = HostFacts("db", postgres=17)
    plan = _plan_between("1.160.0", "1.163.2", "1.163.2", hs, db)
    assert plan.ok and plan.database_rule == "keeps" and not plan.warnings
    data = plan.as_json()
    assert data["schema_to"] == {"version": 94, "compat": 84} and data["ok"] is True


def test_plan_refuses_and_warns() -> None:
    hs = HostFacts("hs", python="3.9.2", running="1.163.2")
    db = HostFacts("db", error="db: no answer")
    plan = _plan_between("1.163.2", "1.160.0", "1.164.0", hs, db)
    failed = {c.what for c in plan.checks if not c.ok}
    assert failed == {"direction", "python", "reach"}
    assert any("newer release: 1.164.0" in w for w in plan.warnings)
    assert not any("tested with" in w for w in plan.warnings)  # 1.160.0 was tested


def _wheel(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_pypi_reads_releases_and_the_wheel_once(tmp_path: Path) -> None:
    metadata = json.loads(_text("pypi-matrix-synapse.json"))
    wheel = _wheel(
        {
            SCHEMA_FILE: _text("schema-1.163.2.py.txt"),
            POSTGRES_FILE: _text("postgres-1.163.2.py.txt"),
        }
    )
    for entry in metadata["releases"]["1.163.2"]:
        entry["digests"] = {"sha256": hashlib.sha256(wheel).hexdigest()}
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        if request.url.path.endswith("/json"):
            return httpx.Response(200, json=metadata)
        return httpx.Response(200, content=wheel)

    with PyPI(tmp_path, transport=httpx.MockTransport(handler)) as pypi:
        # Pre-releases are not offered; the newest final release is.
        assert pypi.latest() == "1.163.2"
        assert "1.164.0rc3" not in pypi.releases()
        facts = pypi.facts("1.163.2")
        assert facts == ReleaseFacts("1.163.2", "<4.0.0,>=3.10.0", Schema(94, 84), 14)
        # The wheel's URL is relative in this metadata: resolved against PyPI's.
        assert any(path.endswith(".whl") for path in requests)
    with PyPI(tmp_path, transport=httpx.MockTransport(handler)) as pypi:
        before = len(requests)
        assert pypi.facts("1.163.2").schema == Schema(94, 84)
        assert not any(p.endswith(".whl") for p in requests[before:])  # from the cache
        with pytest.raises(ReleaseError, match="not on PyPI"):
            pypi.facts("9.9.9")


def test_a_wheel_with_another_digest_is_refused(tmp_path: Path) -> None:
    metadata = json.loads(_text("pypi-matrix-synapse.json"))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/json"):
            return httpx.Response(200, json=metadata)
        return httpx.Response(200, content=_wheel({SCHEMA_FILE: "SCHEMA_VERSION = 1\n"}))

    with (
        PyPI(tmp_path, transport=httpx.MockTransport(handler)) as pypi,
        pytest.raises(ReleaseError, match="SHA-256"),
    ):
        pypi.facts("1.160.0")


def test_a_listed_version_that_is_not_a_release_number_is_never_offered(tmp_path: Path) -> None:
    """The metadata comes from PyPI or the site's cache; a version becomes a venv's path
    in scripts run as root (`1.0.0; touch /x` parses as no Version, ` 1.163.3 ` does)."""
    metadata = json.loads(_text("pypi-matrix-synapse.json"))
    files = metadata["releases"]["1.163.2"]
    for odd in (" 1.163.3 ", "1.163.4\n", "1.0.0; touch /x", "v1.163.5"):
        metadata["releases"][odd] = files

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=metadata)

    with PyPI(tmp_path, transport=httpx.MockTransport(handler)) as pypi:
        releases = pypi.releases()
        assert pypi.latest() == "1.163.2"
    assert all(v.strip() == v and ";" not in v and not v.startswith("v") for v in releases)
