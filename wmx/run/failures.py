"""Say why a task failed in a few lines, from its result, without a wall of JSON.

Only fields that explain a failure are read (``msg``, the tail of ``stderr`` or
``stdout``, the module's own output when it crashed). ``invocation``/``module_args``
and ``cmd`` are never read: they repeat a task's inputs, and inputs are where secrets
live. A result hidden by ``no_log`` yields only :data:`~wmx.run.no_log.HIDDEN`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from wmx.run.no_log import HIDDEN, is_hidden

MAX_LINE_CHARS = 200
MSG_LINES = 4
OUTPUT_TAIL_LINES = 4
ITEMS_SHOWN = 3

# Messages that only say "look at the output": the output tail then matters more.
_GENERIC_MESSAGES = frozenset(
    {
        "",
        "non-zero return code",
        "MODULE FAILURE",
        "MODULE FAILURE\nSee stdout/stderr for the exact error",
        "One or more items failed",
        "All items completed",
    }
)
_UNHELPFUL_EXCEPTIONS = frozenset({"", "(traceback unavailable)"})


def _clip(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def _text_lines(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        value = json.dumps(value, default=str, sort_keys=True)
    return [line for line in value.strip().splitlines() if line.strip()]


def _tail(value: object, count: int = OUTPUT_TAIL_LINES) -> list[str]:
    return [_clip(line) for line in _text_lines(value)[-count:]]


def _labelled(label: str, lines: list[str]) -> list[str]:
    if len(lines) == 1:
        return [f"{label}: {lines[0]}"]
    return [f"{label} (last {len(lines)} lines):", *(f"  {line}" for line in lines)]


# ansible-core 2.19 puts these before a task's own message; they tell nothing the panel's
# title (host, task, "failed" or "unreachable") does not.
_PREFIXES = ("Task failed: ", "Action failed: ")


def _without_prefixes(line: str) -> str:
    while line.startswith(_PREFIXES):
        line = next(line.removeprefix(p) for p in _PREFIXES if line.startswith(p))
    return line


def _single_result_message(res: Mapping[str, object]) -> list[str]:
    msg_lines = [_clip(line) for line in _text_lines(res.get("msg"))]
    if msg_lines:
        msg_lines[0] = _without_prefixes(msg_lines[0])
    generic = "\n".join(msg_lines) in _GENERIC_MESSAGES
    lines = msg_lines[:MSG_LINES]
    if len(msg_lines) > MSG_LINES:
        lines.append("…")

    rc = res.get("rc")
    if isinstance(rc, int) and rc != 0:
        if lines and generic:
            lines[0] = f"{lines[0]} (rc {rc})"
        else:
            lines.append(f"rc {rc}")

    if res.get("assertion"):
        lines.append(_clip(f"assertion: {res['assertion']}"))
    failed_when = res.get("failed_when_result")
    if isinstance(failed_when, str):
        lines.append(_clip(f"failed_when: {failed_when}"))
    elif failed_when is True and not msg_lines:
        lines.append("the task's failed_when condition was true")

    for key in ("stderr", "module_stderr"):
        if tail := _tail(res.get(key)):
            lines.extend(_labelled(key, tail))
            break
    else:
        if generic or not msg_lines:
            for key in ("stdout", "module_stdout"):
                if tail := _tail(res.get(key)):
                    lines.extend(_labelled(key, tail))
                    break

    if not lines:
        exception = _text_lines(res.get("exception"))
        if exception and "\n".join(exception) not in _UNHELPFUL_EXCEPTIONS:
            lines.append(_clip(exception[-1]))
    return lines


def item_label(item: Mapping[str, object]) -> str:
    """A loop item's label as Ansible shows it (`loop_control.label`, else the item),
    JSON when it is not text, clipped to 60 characters."""
    label = item.get("_ansible_item_label", item.get("item"))
    text = label if isinstance(label, str) else json.dumps(label, default=str, sort_keys=True)
    return text if len(text) <= 60 else text[:59] + "…"


def _loop_message(results: list[object]) -> list[str] | None:
    failed_items: list[list[str]] = []
    hidden_items = 0
    for item in results:
        if is_hidden(item):
            hidden_items += 1
        elif isinstance(item, Mapping) and (item.get("failed") or item.get("unreachable")):
            detail = _single_result_message(item) or ["failed without a message"]
            failed_items.append([f"item {item_label(item)}: {detail[0]}", *detail[1:]])
    if not failed_items:
        return [HIDDEN] if hidden_items else None
    lines = [line for item_lines in failed_items[:ITEMS_SHOWN] for line in item_lines]
    if len(failed_items) > ITEMS_SHOWN:
        lines.append(f"… and {len(failed_items) - ITEMS_SHOWN} more failed items")
    if hidden_items:
        noun = "item" if hidden_items == 1 else "items"
        lines.append(f"{hidden_items} more {noun}: {HIDDEN}")
    return lines


def failure_message(res: object) -> str:
    """A short, human explanation of a failed or unreachable task result.

    Never more than a dozen short lines; ``no_log`` results give only
    ``"output hidden (no_log)"``, and so do ``no_log`` loop items.
    """
    if is_hidden(res):
        return HIDDEN
    if not isinstance(res, Mapping):
        return "Ansible reported the failure without details"
    results = res.get("results")
    if isinstance(results, list) and results and (loop_lines := _loop_message(results)):
        return "\n".join(loop_lines)
    lines = _single_result_message(res)
    return "\n".join(lines) if lines else "the task failed without a message"
