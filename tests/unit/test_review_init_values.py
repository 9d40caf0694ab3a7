"""wmx init writes --acme-directory into wmx.yaml as given: a value that is no URL is
refused naming the option, before anything is written (a line break had added settings,
` #x` had been cut off silently, and `12` was refused as 'wmx.yaml: not found', the file
init had not written yet). And the text as written that such advice quotes leaves out
the value's anchor."""

from __future__ import annotations

from pathlib import Path

import pytest

from wmx.errors import InputError
from wmx.site.init import InitAnswers, init_site
from wmx.site.model import SiteConfig
from wmx.site.validation import validate_document
from wmx.site.yaml_scalars import written
from wmx.site.yamlfile import parse_yaml


def _answers(directory: str) -> InitAnswers:
    names = ("example.org", "matrix.example.org", "element.example.org")
    return InitAnswers(*names, "admin@example.org", "admin@example.org", directory)


@pytest.mark.parametrize(
    "directory",
    [
        "12",
        "https://acme.example/dir #x",
        "https://acme.example/dir\n  staging_directory: https://elsewhere.example/dir",
    ],
)
def test_an_acme_directory_that_is_no_url_is_refused_naming_the_option(
    tmp_path: Path, directory: str
) -> None:
    with pytest.raises(InputError, match=r"^--acme-directory: .* is not an https:// URL"):
        init_site(tmp_path / "site", _answers(directory))
    assert not (tmp_path / "site").exists()


def test_an_unquoted_number_of_a_file_not_written_yet_is_said_without_its_text(
    tmp_path: Path,
) -> None:
    """validate_document's advice for `1.16` reads the file for the text as written; a
    file that is not there yet (wmx init's) gives the advice without it."""
    data = parse_yaml("server_name: example.org\nacme: {email: a@example.org, directory: 12}\n", "")
    with pytest.raises(InputError) as caught:
        validate_document(SiteConfig, data, tmp_path / "wmx.yaml")
    assert "acme.directory: read by YAML as the number 12, not as text" in str(caught.value)
    assert "not found" not in str(caught.value)


def test_an_anchored_value_is_quoted_without_its_anchor() -> None:
    """`version: &v 1.160`: the text as written is `1.160` (quoting `&v 1.160` would make
    the anchor text and leave its aliases naming nothing)."""
    text = "synapse:\n  version: &v 1.160  # pinned\n  other: *v\n"
    document = parse_yaml(text, "")
    assert written(text, document, ("synapse", "version")) == "1.160"
    assert written(text, document, ("synapse", "version"), check=False) == "1.160"
