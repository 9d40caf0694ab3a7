"""The documentation says what the code does, checked mechanically.

Every `wmx …` command line of README.md and docs/*.md (code-block lines and inline code)
parses against the real command tree: each command exists, each option exists on it
(and takes a value when given one), a value of a choice option is one of its choices,
and no command is given more arguments than it takes. Usage shorthand is read as a
reader would: `[--opt X]` is an optional part, `a | b` after a command names a sibling
command (`wmx user list | show USER`) or more options of the same one (`--room ROOM`),
`plan|apply` in a command's place is either, UPPERCASE words, `<…>` and `…` are
placeholders. A command named in prose without its required arguments is fine.

Every dotted setting name in inline code whose first part is a section of wmx.yaml
(`synapse.max_upload_size_mb`, `web_client.kind`) exists in the settings model, and
every command of the tree is mentioned in some document.
"""

from __future__ import annotations

import re
import shlex
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import BaseModel
from typer._click.core import Command  # typer vendors click
from typer.core import TyperArgument as Argument
from typer.core import TyperGroup as Group
from typer.core import TyperOption as Option

from wmx.cli import app
from wmx.site.model import SiteConfig

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^\s*(```|~~~)(\w*)")
NOT_SHELL = {"yaml", "json", "python", "toml"}
# Programs a documented wmx command may be piped into (anything else after ` | ` is
# read as usage shorthand for a sibling command).
PIPED_INTO = {"jq", "grep", "less", "head", "tail", "tee", "sort", "column", "wc", "sh"}
# Dotted names in inline code that start like a section of wmx.yaml but are no setting.
NOT_SETTINGS = {
    "synapse.sql": "a file an old version left on the host (docs/deploy.md)",
    "element.version": "schema 1's key, named as such (docs/chat.md)",
    "element.sha256": "schema 1's key, named as such (docs/chat.md)",
    "element.archive": "schema 1's key, named as such (docs/chat.md)",
}
FILE_SUFFIXES = {"yaml", "yml", "json", "conf", "service", "timer", "org", "test", "pem"}


@dataclass(frozen=True)
class Mention:
    doc: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.text}"


def _split_outside_quotes(text: str, separators: tuple[str, ...]) -> list[str]:
    parts, start, quote, i = [], 0, "", 0
    while i < len(text):
        c = text[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        else:
            for sep in separators:
                if text.startswith(sep, i):
                    parts.append(text[start:i])
                    start = i + len(sep)
                    i = start - 1
                    break
        i += 1
    parts.append(text[start:])
    return parts


def _without_comment(line: str) -> str:
    """The line up to an unquoted ` #` (a shell comment)."""
    quote = ""
    for i, c in enumerate(line):
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _commands_of_line(line: str) -> Iterator[str]:
    """The `wmx …` commands of one shell line (`a; b`, `a && b`, `sudo wmx …`)."""
    for part in _split_outside_quotes(_without_comment(line), ("; ", " && ")):
        part = re.sub(r"^\s*(\$\s+)?(sudo\s+)?", "", part).rstrip()
        if part == "wmx" or part.startswith("wmx "):
            yield part


def _group_of_heading(line: str) -> str | None:
    """`wmx user` when a heading names a command group (its tables list subcommands)."""
    spans = [s for s in re.findall(r"`([^`]+)`", line) if s.startswith("wmx ")]
    if not spans:
        return None
    words = _tokens(spans[-1])
    command: Command = _root()
    for word in words[1:]:
        sub = _sub(command, word) if isinstance(command, Group) else None
        if sub is None:
            return None
        command = sub
    return spans[-1] if isinstance(command, Group) else None


def mentions() -> Iterator[Mention]:
    for path in DOCS:
        name = str(path.relative_to(ROOT))
        language: str | None = None
        group: str | None = None
        carried = ""
        for no, line in enumerate(path.read_text().splitlines(), 1):
            fence = FENCE.match(line)
            if fence:
                language = None if language is not None else fence.group(2)
                continue
            if language is None and (carried or line.count("`") % 2):
                # Inline code that goes on to the next line.
                line, carried = carried + line, "" if carried else line + " "
                if carried:
                    continue
            if language is None and line.startswith("#"):
                group = _group_of_heading(line)
            if language is None and group and line.startswith("|"):
                # A table of the group's commands: `lock\|unlock USER`, `show ROOM`, …
                first_cell = re.split(r"(?<!\\)\|", line)[1]
                for span in re.findall(r"`([^`]+)`", first_cell):
                    if re.match(r"[a-z]", span) and not span.startswith("wmx"):
                        yield Mention(name, no, f"{group} {span.replace(chr(92) + '|', '|')}")
                continue
            spans = re.findall(r"`([^`\n]+)`", line)
            for span in spans:
                span = re.sub(r"^(\$\s+)?sudo\s+", "", span.strip())
                if span == "wmx" or span.startswith("wmx "):
                    yield Mention(name, no, span)
            if language is not None and language not in NOT_SHELL and not spans:
                for command in _commands_of_line(line):
                    # A row of a table of figures ("wmx deploy, nothing changed  69 s").
                    # Or one of measurements: "wmx --help      0.11 s".
                    if not re.match(r"wmx [a-z -]+(,| \()", command) and "  " not in command:
                        yield Mention(name, no, command)


def _placeholder(token: str) -> bool:
    return (
        "…" in token
        or "..." in token
        or "<" in token
        or bool(re.fullmatch(r"[A-Z][A-Z0-9_/=.-]*", token))
    )


def _tokens(text: str) -> list[str]:
    tokens = []
    for token in shlex.split(text):
        token = token.strip("[]")
        if token:
            tokens.append(token)
    return tokens


def _root() -> Group:
    root = typer.main.get_command(app)
    assert isinstance(root, Group)
    return root


def _sub(group: Group, name: str) -> Command | None:
    return group.commands.get(name)


def _options(command: Command) -> dict[str, Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def _check_choice(where: str, param: Any, value: str) -> str | None:
    described = param.type_descriptor
    if described.is_choice and not _placeholder(value):
        choices = [str(getattr(c, "value", c)) for c in described.choices or ()]
        for one in value.split("|"):
            if one not in choices:
                return f"{where}: {one!r} is not one of {choices}"
    return None


def check(
    tokens: list[str], seen: set[tuple[str, ...]] | None = None
) -> tuple[tuple[str, ...], str | None]:
    """(the command path reached, what is wrong or None) for the words after `wmx`;
    `seen` collects the commands reached."""
    command: Command = _root()
    path: tuple[str, ...] = ("wmx",)
    positional: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        where = " ".join(path)
        if token.startswith("-") and token != "-":
            name, _, inline_value = token.partition("=")
            option = _options(command).get(name)
            if option is None and name != "--help":
                return path, f"`{where}` has no option {name}"
            if option is not None and not (option.is_flag or option.count):
                value = inline_value or (tokens[i + 1] if i + 1 < len(tokens) else None)
                if not inline_value:
                    i += 1
                if value is not None:
                    if value.startswith("-") and not _placeholder(value):
                        return path, f"`{where} {name}` takes a value, not {value}"
                    problem = _check_choice(f"`{where} {name}`", option, value)
                    if problem:
                        return path, problem
            elif inline_value:
                return path, f"`{where} {name}` is a flag: it takes no value"
            i += 1
            continue
        if isinstance(command, Group) and not positional:
            if _placeholder(token):
                return path, None  # `wmx GROUP --help`, `wmx room …`
            if "|" in token:  # `wmx upgrade plan|apply|rollback …`
                for alternative in token.split("|"):
                    reached, problem = check([*path[1:], alternative, *tokens[i + 1 :]], seen)
                    if problem:
                        return reached, problem
                return path, None
            sub = _sub(command, token)
            if sub is None:
                known = ", ".join(command.commands)
                return path, f"`{where}` has no command {token!r} (it has: {known})"
            command, path = sub, (*path, token)
            i += 1
            continue
        positional.append(token)
        i += 1
    if seen is not None and not isinstance(command, Group):
        seen.add(path)
    arguments = [p for p in command.params if isinstance(p, Argument)]
    if not any(a.nargs == -1 for a in arguments):
        most = sum(a.nargs for a in arguments)
        if len(positional) > most:
            return path, f"`{' '.join(path)}` takes {most} argument(s), given {positional}"
    for argument, value in zip(arguments, positional, strict=False):
        if argument.nargs == 1:
            problem = _check_choice(f"`{' '.join(path)}` {argument.name}", argument, value)
            if problem:
                return path, problem
            if value.endswith(("…", "...")):
                return path, f"`{' '.join(path)}` takes one {argument.name}, not several"
    return path, None


def problems_of(text: str, seen: set[tuple[str, ...]] | None = None) -> list[str]:
    """What is wrong with one documented command line, read as usage shorthand."""
    segments = _split_outside_quotes(text, (" | ",))
    found: list[str] = []
    base: tuple[str, ...] = ()
    for n, segment in enumerate(segments):
        words = _tokens(segment)
        if n and words and words[0] in PIPED_INTO:
            break
        if not words or words[0] == "wmx":
            base, problem = check(words[1:], seen)
        elif words[0].startswith("-"):  # more options of the same command
            _, problem = check([*base[1:], *words], seen)
        else:  # a sibling of the command before
            _, problem = check([*base[1:-1], *words], seen)
        if problem:
            found.append(problem)
    return found


def test_every_documented_command_line_parses() -> None:
    found = list(mentions())
    assert len(found) > 300  # the extraction still sees the docs
    wrong = [f"{m}\n    {p}" for m in found for p in problems_of(m.text)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("wmx deploy --fast", "`wmx deploy` has no option --fast"),
        ("wmx user lst", "`wmx user` has no command 'lst'"),
        ("wmx user list | shw USER", "`wmx user` has no command 'shw'"),
        ("wmx dns -o xml", "'xml' is not one of"),
        ("wmx render extra", "`wmx render` takes 0 argument(s)"),
        ("wmx upgrade plan|aply", "`wmx upgrade` has no command 'aply'"),
        ("wmx media quarantine MXC | --roomz ROOM", "has no option --roomz"),
    ],
)
def test_the_checker_sees_a_wrong_line(text: str, problem: str) -> None:
    assert any(problem in p for p in problems_of(text)), problems_of(text)


@pytest.mark.parametrize(
    "text",
    [
        "wmx deploy [--check] [--limit HOST] [--only COMPONENT] [--full] [--verbose]",
        "wmx user list | show | create NAME --generate-password | import users.csv",
        "wmx lab status | wmx lab shell HOST | wmx lab down [--purge]",
        'wmx logs SERVICE [--host HOST] [--since "1 hour ago"] [--follow]',
        "wmx GROUP --help",
        "wmx dns [--check] [-o zone|json]",
    ],
)
def test_the_checker_reads_usage_shorthand(text: str) -> None:
    assert problems_of(text) == []


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes (or other types) an annotation allows (Optional, unions)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return [annotation]


def setting_exists(key: str) -> bool:
    """Whether `key` names a setting of wmx.yaml (a dict-valued one takes any subkey)."""
    candidates: list[Any] = [SiteConfig]
    for part in key.split("."):
        following: list[Any] = []
        for model in candidates:
            if isinstance(model, type) and issubclass(model, BaseModel):
                field = model.model_fields.get(part)
                if field is not None:
                    following.extend(_unwrap(field.annotation))
            elif typing.get_origin(model) is dict or model is dict:
                following.append(Any)
        if not following:
            return False
        candidates = following
    return True


def setting_mentions() -> Iterator[Mention]:
    sections = set(SiteConfig.model_fields)
    for mention in mentions():
        words = _tokens(mention.text)
        config = words[1:3] in (["config", "get"], ["config", "set"])
        if config and len(words) > 3 and not _placeholder(words[3]):
            yield Mention(mention.doc, mention.line, words[3])
    for path in DOCS:
        for no, line in enumerate(path.read_text().splitlines(), 1):
            for span in re.findall(r"`([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)+)`", line):
                parts = span.split(".")
                known = parts[0] in sections and span not in NOT_SETTINGS
                if known and parts[-1] not in FILE_SUFFIXES:
                    yield Mention(str(path.relative_to(ROOT)), no, span)


def test_every_documented_setting_exists() -> None:
    found = list(setting_mentions())
    assert len(found) > 50
    wrong = [str(m) for m in found if not setting_exists(m.text)]
    assert not wrong, "no such setting in wmx.yaml's model:\n" + "\n".join(wrong)


def test_the_setting_check_sees_a_wrong_name() -> None:
    assert setting_exists("synapse.max_upload_size_mb")
    assert setting_exists("web_client.kind")
    assert not setting_exists("synapse.max_upload_mb")
    assert not setting_exists("webclient.kind")


def _leaves(command: Command, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(command, Group):
        for name in command.commands:
            sub = _sub(command, name)
            assert sub is not None
            yield from _leaves(sub, (*path, name))
    else:
        yield path


def test_every_command_is_documented() -> None:
    seen: set[tuple[str, ...]] = set()
    for mention in mentions():
        problems_of(mention.text, seen)
    missing = [" ".join(leaf) for leaf in _leaves(_root(), ("wmx",)) if leaf not in seen]
    assert not missing, "commands no document mentions: " + ", ".join(missing)


def _help_texts(command: Command, path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    yield " ".join(path), command.help or ""
    for param in command.params:
        yield f"{' '.join(path)} {param.name}", getattr(param, "help", None) or ""
    if isinstance(command, Group):
        for name in command.commands:
            sub = _sub(command, name)
            assert sub is not None
            yield from _help_texts(sub, (*path, name))


def test_every_command_line_in_help_parses() -> None:
    """`wmx … --help` teaches with examples and names other commands: they exist too."""
    wrong, found = [], 0
    for where, text in _help_texts(_root(), ("wmx",)):
        spans = re.findall(r"`(wmx(?: [^`]*)?)`", text)
        examples = text.partition("Examples:")[2]
        lines = [c for line in examples.splitlines() for c in _commands_of_line(line.strip())]
        for command in [*spans, *lines]:
            found += 1
            wrong += [f"{where}: {command}\n    {p}" for p in problems_of(command)]
    assert found > 20
    assert not wrong, "\n".join(wrong)


def _paths_of(node: object, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _paths_of(value, f"{prefix}{key}.")
    elif prefix:
        yield prefix[:-1]


def _yaml_or_none(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:  # an unlabelled block of something else
        return None


def test_every_wmx_yaml_snippet_names_settings_that_exist() -> None:
    """A YAML block of the docs that starts with a section of wmx.yaml (`synapse:`) is
    a piece of wmx.yaml: each of its keys is a setting."""
    sections, found, wrong = set(SiteConfig.model_fields), 0, []
    for path in DOCS:
        language: str | None = None
        block: list[str] = []
        start = 0
        for no, line in enumerate(path.read_text().splitlines(), 1):
            fence = FENCE.match(line)
            if fence and language is None:
                language, block, start = fence.group(2), [], no
            elif fence:
                document = _yaml_or_none("\n".join(block)) if language in ("yaml", "") else None
                if isinstance(document, dict) and document and set(document) <= sections:
                    found += 1
                    wrong += [
                        f"{path.relative_to(ROOT)}:{start}: {key}"
                        for key in _paths_of(document)
                        if not setting_exists(key)
                    ]
                language = None
            elif language is not None:
                block.append(line)
    assert found >= 1
    assert not wrong, "no such setting in wmx.yaml's model:\n" + "\n".join(wrong)
