"""The web client as a choice (`web_client.kind`: Element Web or Cinny): Cinny's release,
its config.json, the Content-Security-Policy and nginx locations it works under, and the
schema 1 → 2 migration that moved the release settings from `element:` to `web_client:`."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
import time
from pathlib import Path

import pytest

from tests.conftest import answers, require
from tests.unit.test_chat_render import _config, _files, _refused, _site
from wmx.errors import InputError
from wmx.lab import cinny
from wmx.lab.cinny import LAB_CINNY_VERSION, cinny_archive, clients_dir
from wmx.lab.errors import LabError
from wmx.site import Site, load_site
from wmx.site.element_release import element_release
from wmx.site.init import init_site
from wmx.site.releases import CINNY_INLINE_SCRIPT_HASHES, DEFAULT_CINNY_VERSION

INLINE = "\n      window.global ||= window;\n    "


def _cinny_archive(directory: Path, version: str = "9.9.9", inline: str = INLINE) -> Path:
    """A small archive shaped like Cinny's release (cinny-v<version>/index.html)."""
    top = f"cinny-v{version}"
    index = '<html><head><script type="module" src="/assets/x.js"></script></head>'
    index += f"<body><script>{inline}</script></body></html>"
    path = directory / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in ((f"{top}/index.html", index.encode()), (f"{top}/version", b"x\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _cinny_site(tmp_path: Path, **web_client: object) -> Site:
    archive = _cinny_archive(tmp_path)
    settings = {"kind": "cinny", "archive": str(archive), **web_client}
    return _site(tmp_path, web_client=settings)


# --- the release -----------------------------------------------------------------------------


def test_cinny_needs_a_checksum_or_a_local_archive(tmp_path: Path) -> None:
    _refused("web_client.kind cinny needs web_client.sha256", web_client={"kind": "cinny"})
    release = element_release(_config(web_client={"kind": "cinny", "sha256": "ab" * 32}), tmp_path)
    assert release.url == (
        f"https://github.com/cinnyapp/cinny/releases/download/v{DEFAULT_CINNY_VERSION}"
        f"/cinny-v{DEFAULT_CINNY_VERSION}.tar.gz"
    )
    assert release.name == f"cinny-{DEFAULT_CINNY_VERSION}-{'ab' * 6}"
    assert release.inline_scripts == CINNY_INLINE_SCRIPT_HASHES[DEFAULT_CINNY_VERSION]


def test_local_cinny_archive_gives_version_checksum_and_inline_scripts(tmp_path: Path) -> None:
    archive = _cinny_archive(tmp_path)
    release = element_release(
        _config(web_client={"kind": "cinny", "archive": str(archive)}), tmp_path
    )
    assert (release.kind, release.version, release.client_name) == ("cinny", "9.9.9", "Cinny")
    assert release.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert release.inline_scripts == (_csp_hash(INLINE),)


def test_an_archive_of_the_other_client_is_refused(tmp_path: Path) -> None:
    archive = _cinny_archive(tmp_path)
    with pytest.raises(InputError, match=r"holds Cinny 9\.9\.9, but web_client\.kind is element"):
        element_release(_config(web_client={"archive": str(archive)}), tmp_path)


def test_the_shared_cinny_archive_is_what_wmx_pins_its_inline_script_for() -> None:
    require((clients_dir() / "SHA256SUMS").is_file(), f"needs the shared {clients_dir()}")
    shared = cinny_archive()
    release = element_release(
        _config(web_client={"kind": "cinny", "archive": str(shared.path)}), Path("/")
    )
    assert (release.version, release.sha256) == (DEFAULT_CINNY_VERSION, shared.sha256)
    # A downloaded release gets the same CSP as the archive says it needs.
    assert release.inline_scripts == CINNY_INLINE_SCRIPT_HASHES[DEFAULT_CINNY_VERSION]


def test_a_shared_archive_that_reads_otherwise_than_listed_is_refused_with_what_was_read(
    tmp_path: Path,
) -> None:
    name = f"cinny-v{LAB_CINNY_VERSION}.tar.gz"
    (tmp_path / name).write_bytes(b"not the release" * 100)
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(b'the release').hexdigest()}  {name}\n")
    with pytest.raises(LabError) as refused:
        cinny_archive(tmp_path)
    # One line that tells a file read while it changed (bytes read differ from its size)
    # from a damaged one (the same count, another digest).
    assert str(refused.value).startswith(f"{tmp_path / name}: its SHA-256 is ")
    assert "(1500 bytes read; the file has 1500, changed 20" in str(refused.value)
    assert "\n" not in str(refused.value)


# --- config.json, CSP and nginx --------------------------------------------------------------


def test_cinny_config_offers_this_homeserver_only_and_the_featured_rooms(tmp_path: Path) -> None:
    site = _cinny_site(tmp_path, featured_rooms=["#welcome:example.test"])
    config = json.loads(_files(site)["/etc/wmx/element/config.json"].content)
    assert config["homeserverList"] == ["example.test"] and config["defaultHomeserver"] == 0
    assert config["allowCustomHomeservers"] is False
    assert config["featuredCommunities"]["rooms"] == ["#welcome:example.test"]
    assert config["hashRouter"]["enabled"] is False
    _refused("is not a room alias", web_client={"featured_rooms": ["welcome"]})


def _client_block(tmp_path: Path, **web_client: object) -> str:
    files = _files(_cinny_site(tmp_path, **web_client))
    nginx = files["/etc/nginx/sites-available/wmx-tls.conf"].content
    return nginx.split("server_name element.example-web.test;")[1].split("\nserver {")[0]


def _csp(block: str) -> dict[str, list[str]]:
    value = re.search(r'add_header Content-Security-Policy "([^"]*)" always;', block)
    assert value is not None
    return {
        part.split()[0]: part.split()[1:] for part in value.group(1).split("; ") if part.strip()
    }


def test_cinny_csp_allows_what_it_needs_and_nothing_inline(tmp_path: Path) -> None:
    block = _client_block(tmp_path)
    csp = _csp(block)
    assert csp["default-src"] == ["'self'"]
    # olm.wasm compiled, the one inline script by its hash; no eval, no inline styles.
    assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'", f"'{_csp_hash(INLINE)}'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", "https://matrix.example.test", "https://example.test"]
    assert csp["frame-ancestors"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert not [source for sources in csp.values() for source in sources if source == "https:"]
    # Every location repeats the headers (nginx drops inherited add_header there).
    locations = len(re.findall(r"^\s+location ", block, re.M))
    assert block.count("add_header Content-Security-Policy") == locations
    assert block.count("add_header X-Content-Type-Options nosniff always;") == locations
    # Cinny's own paths are the app; olm.wasm from any of them; no Element config name.
    assert "try_files $uri /index.html;" in block
    assert "location ~ /olm\\.wasm$ {\n        try_files /olm.wasm =404;" in block
    assert "config.element.example-web.test.json" not in block


def test_other_homeservers_open_the_csp_to_https(tmp_path: Path) -> None:
    csp = _csp(_client_block(tmp_path, allow_other_homeservers=True))
    assert "https:" in csp["connect-src"] and "https:" in csp["img-src"]


def test_element_keeps_its_headers_and_this_homeserver_only(tmp_path: Path) -> None:
    files = _files(_site(tmp_path))
    config = json.loads(files["/etc/wmx/element/config.json"].content)
    assert config["disable_custom_urls"] is True
    nginx = files["/etc/nginx/sites-available/wmx-tls.conf"].content
    assert "Content-Security-Policy \"frame-ancestors 'self'\"" in nginx
    opened = _site(tmp_path, web_client={"allow_other_homeservers": True})
    opened_config = json.loads(_files(opened)["/etc/wmx/element/config.json"].content)
    assert opened_config["disable_custom_urls"] is False


# --- schema 1 → 2 ----------------------------------------------------------------------------


def _schema_1_site(tmp_path: Path, element_release: str) -> Path:
    root = tmp_path / "site"
    init_site(root, answers())
    text = (root / "wmx.yaml").read_text()
    text = text.replace("schema_version: 2", "schema_version: 1")
    # Schema 1 kept the release in element:, not web_client:.
    for key in ("version", "sha256", "archive"):
        text = re.sub(rf"\n  {key}: null\n", "\n", text, count=1)
    text = text.replace("\nelement:\n", f"\nelement:\n{element_release}")
    (root / "wmx.yaml").write_text(text)
    return root


def test_schema_1_release_settings_move_to_web_client(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _schema_1_site(tmp_path, "  version: 1.12.30\n  sha256: " + "ab" * 32 + "\n")
    site = load_site(root)
    assert site.config.web_client.version == "1.12.30"
    assert site.config.web_client.sha256 == "ab" * 32
    said = " ".join(capsys.readouterr().err.split())
    assert "schema 1; read as schema 2" in said
    assert "element.version is now web_client.version" in said


def test_schema_1_with_the_release_in_both_places_is_refused(tmp_path: Path) -> None:
    root = _schema_1_site(tmp_path, "  archive: a.tar.gz\n")
    text = (
        (root / "wmx.yaml")
        .read_text()
        .replace("  kind: element\n", "  kind: element\n  archive: b.tar.gz\n")
    )
    (root / "wmx.yaml").write_text(text)
    with pytest.raises(InputError, match=r"element\.archive and web_client\.archive are both set"):
        load_site(root)


def test_a_read_of_the_shared_archive_that_ends_early_is_taken_up_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "archive.tar.gz"
    archive.write_bytes(b"x" * 100)
    real_fstat = os.fstat

    def size_of_150(fd: int) -> os.stat_result:
        # The file says 150 bytes; its first read gives 100 (a read that ends early).
        real = real_fstat(fd)
        return os.stat_result((*real[:6], 150, *real[7:]))

    def the_rest_arrives(_: float) -> None:
        with archive.open("ab") as more:
            more.write(b"y" * 50)

    monkeypatch.setattr(os, "fstat", size_of_150)
    monkeypatch.setattr(time, "sleep", the_rest_arrives)
    assert cinny._whole(archive) == b"x" * 100 + b"y" * 50
    # Still short after every try: what was read comes back (and its digest refuses it).
    monkeypatch.setattr(time, "sleep", lambda _: None)
    archive.write_bytes(b"z" * 10)
    assert cinny._whole(archive) == b"z" * 10


def test_an_archive_that_is_no_file_is_said_as_such(tmp_path: Path) -> None:
    """A directory or a device named as web_client.archive had been "no such file"."""
    from wmx.site.element_release import local_archive

    with pytest.raises(InputError, match=r"web_client\.archive .*: not a regular file"):
        local_archive(str(tmp_path), tmp_path)
    with pytest.raises(InputError, match="no such file on this machine"):
        local_archive("missing.tar.gz", tmp_path)
