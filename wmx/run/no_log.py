"""Keep what ``no_log`` hid hidden, in everything wmx prints or keeps.

ansible-runner replaces the result of a ``no_log`` task with ``{"censored": …}`` in
the event data, but the event's ``stdout`` (Ansible's own text for that result) is
passed through as Ansible wrote it, and ansible-core 2.19 writes more there than the
censored result holds: a failing ``no_log`` task prints
``[ERROR]: Task failed: Action failed: <msg>``, and ``msg`` may quote the secret
(``fail: msg="bad {{ password }}"``), because the censored result deliberately keeps
the error summary. So for any event whose result is censored, the text is replaced by
one line wmx writes itself (host and status, never Ansible's words).

Ansible 2.19 also prints source lines around an error ("Origin: file:line" and the
lines near it). When the file is one of the run's secret files (a broken
``secrets.yml`` loaded with ``vars_files``) those lines are the secrets themselves, so
they are dropped and only the Origin line stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

HIDDEN = "output hidden (no_log)"
SOURCE_HIDDEN = "(source lines hidden: the file holds secrets)"

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RESULT_STATUS = re.compile(r"^(ok|changed|skipping): \[")


def plain_text(text: str) -> str:
    """Drop colour codes and carriage returns (Ansible writes to a pty, so CRLF)."""
    return _ANSI_ESCAPE.sub("", text).replace("\r", "")


def _is_censored_mapping(value: object) -> bool:
    return isinstance(value, Mapping) and (
        "censored" in value or value.get("_ansible_no_log") is True
    )


def is_hidden(res: object) -> bool:
    """True when a task result (or loop item result) was hidden by ``no_log``."""
    return _is_censored_mapping(res)


def hides_anything(res: object) -> bool:
    """True when the result or any of its loop items was hidden by ``no_log``.

    ``no_log`` can be templated per item (``no_log: "{{ item.secret }}"``), so one
    censored item is enough to treat the whole event's text as sensitive.
    """
    if is_hidden(res):
        return True
    if not isinstance(res, Mapping):
        return False
    results = res.get("results")
    return isinstance(results, list) and any(_is_censored_mapping(item) for item in results)


def hidden_result_line(event_name: str, event_data: Mapping[str, object], text: str) -> str:
    """The one line that stands in for Ansible's text about a hidden result.

    Only the leading status word of Ansible's text is reused (``ok``/``changed``/
    ``skipping``): it says whether the task changed something, which a hidden result
    no longer tells, and it cannot carry a value.
    """
    if not text.strip():
        return ""
    host = str(event_data.get("host") or "?")
    if event_name.endswith("_on_failed"):
        line = f"fatal: [{host}]: FAILED! => {HIDDEN}"
        return line + "\n...ignoring" if event_data.get("ignore_errors") else line
    if event_name.endswith("_on_unreachable"):
        return f"fatal: [{host}]: UNREACHABLE! => {HIDDEN}"
    first_line = text.lstrip("\n").split("\n", 1)[0]
    match = _RESULT_STATUS.match(first_line)
    status = match.group(1) if match else "ok"
    return f"{status}: [{host}] => {HIDDEN}"


class StdoutScrubber:
    """Turns each event's ``stdout`` into text that is safe to print and keep.

    Stateful only because ansible-runner splits controller output that is not tied to
    a task into one ``verbose`` event per line, so a hidden source block can span
    several events.
    """

    def __init__(self, secret_paths: Iterable[Path] = ()) -> None:
        origins: set[str] = set()
        for path in secret_paths:
            origins.add(str(path))
            origins.add(str(path.resolve()))
        self._secret_origins = tuple(sorted(origins))
        self._hiding_source = False

    def scrub(self, event: Mapping[str, object]) -> str:
        """Return the event's text with colour removed and anything sensitive dropped."""
        raw = event.get("stdout")
        text = plain_text(raw) if isinstance(raw, str) else ""
        name = str(event.get("event", ""))
        data = event.get("event_data")
        event_data: Mapping[str, object] = data if isinstance(data, Mapping) else {}
        if hides_anything(event_data.get("res")):
            self._hiding_source = False
            return hidden_result_line(name, event_data, text)
        scrubbed = self._drop_secret_source_lines(text)
        if name != "verbose":
            # A source block never continues past the event that printed it, except
            # for line-per-event controller output.
            self._hiding_source = False
        return scrubbed

    def _drop_secret_source_lines(self, text: str) -> str:
        if not self._secret_origins or not text:
            return text
        kept: list[str] = []
        for line in text.split("\n"):
            if self._hiding_source:
                if not line.startswith("["):
                    continue
                self._hiding_source = False
            kept.append(line)
            if self._is_secret_origin(line):
                kept.append(SOURCE_HIDDEN)
                self._hiding_source = True
        return "\n".join(kept)

    def _is_secret_origin(self, line: str) -> bool:
        if not line.startswith("Origin: "):
            return False
        where = line.removeprefix("Origin: ")
        return any(where == path or where.startswith(path + ":") for path in self._secret_origins)
