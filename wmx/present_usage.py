"""A command line wmx cannot parse, said in one line as wmx says every error:

    error: wmx deploy: no such option --bogus (see `wmx deploy --help`)

click's usage errors (an unknown option or command, a missing or malformed value, an
extra argument) would be printed by Typer as the command's usage and a box of several
lines. wmx.cli's root group runs its own parsing (the root's options) and its invoke
(every subcommand's, at any depth) inside `usage_errors`, which prints the line and
exits with status 2. `wmx` or a group without arguments still prints its help.

A word echoed back is shown as the site's errors show a key (wmx.site.validation): as
typed, or quoted with a line break, control or bidi character escaped.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from typer._click.core import Context  # typer vendors click
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)

from wmx.present import print_error

T = TypeVar("T")

# How close a typed name must be to a real one to be suggested: `--verbos` → `--verbose`
# (0.94), `usr` → `user` (0.86), but not `--bogus` → `--verbose` (0.63).
CLOSE = 0.75

# click's sentences whose facts wmx says in its own words; compiled when first used (every
# command's start-up imports this module).
_NO_COMMAND = r"No such command (?P<name>'.*'|\".*\")\."
_EXTRA = r"(?s)Got unexpected extra argument\(s\) \((?P<words>.*)\)"
# `Option '--site' requires an argument.`, `Option '--check' does not take a value.`
_OPTION_USE = r"Option .* (requires (?P<count>an|\d+) arguments?|does not take a value)\."
# Typer's checks of a Path parameter (exists=True, dir_okay=False, …): `file '/x' does
# not exist.`, `dir 'x' is a file.`; said as wmx says a file it cannot use.
_PATH_CHECK = (
    r"(?P<kind>file|dir|path) (?P<path>'.*'|\".*\") "
    r"(?P<what>does not exist|is a file|is a directory|is not readable|is not writable)\."
)
_PATH_SAID = {
    "does not exist": "no such {kind}",
    "is a file": "is a file, not a directory",
    "is a directory": "is a directory, not a file",
    "is not readable": "cannot be read (permission denied)",
    "is not writable": "cannot be written (permission denied)",
}
_KINDS = {"file": "file", "dir": "directory", "path": "file or directory"}


@contextmanager
def usage_errors() -> Iterator[None]:
    """Run a parse or an invoke of wmx.cli: a usage error becomes one line and exit 2."""
    try:
        yield
    except NoArgsIsHelpError:  # `wmx`, `wmx room`: the help, as Typer prints it
        raise
    except UsageError as exc:
        print_error(usage_line(exc))
        raise typer.Exit(exc.exit_code) from None


def usage_line(exc: UsageError) -> str:
    """`wmx lab up: --hosts: 'abc' is not a whole number (see `wmx lab up --help`)`."""
    ctx = exc.ctx or _parsing(exc)
    what = _what(exc, ctx)
    if ctx is None:
        return what
    path = _word(ctx.command_path)
    see = f" (see `{path} --help`)" if ctx.command.get_help_option(ctx) else ""
    return f"{path}: {what}{see}"


def _innermost(exc: BaseException, name: str, kind: type[T]) -> T | None:
    """The local `name` of the innermost frame `exc` passed through that holds a `kind`."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        value = tb.tb_frame.f_locals.get(name)
        if isinstance(value, kind):
            found = value
        tb = tb.tb_next
    return found


def _parsing(exc: BaseException) -> Context | None:
    """The context of the innermost command being parsed when `exc` was raised (click's
    parser raises some errors without one: `wmx lab up --hosts`)."""
    return _innermost(exc, "ctx", Context)


def _what(exc: UsageError, ctx: Context | None) -> str:
    if isinstance(exc, NoSuchOption):
        option = exc.option_name
        if re.fullmatch(r"-[0-9][0-9.]*", option):
            # A negative number meant as a value (`wmx config set KEY -5`): click reads
            # any word with a leading '-' as an option until `--` ends the options.
            return f"no such option {option}; to give {option} as a value, put `--` before it"
        if ctx is not None and ctx.parent is not None and _root_option(ctx, option):
            # `wmx deploy --site DIR`: the site option of wmx itself, given after the
            # command. `wmx init` takes its directory as its argument instead.
            root = ctx.find_root().info_name or "wmx"
            path = ctx.command_path.removeprefix(root).strip()
            if path == "init":
                return (
                    f"no such option {_word(option)}: the new site's directory is init's "
                    f"argument (`{root} init DIR`)"
                )
            return (
                f"no such option {_word(option)}: it is {root}'s own, and goes before the "
                f"command (`{root} {option} … {path}`)"
            )
        close = difflib.get_close_matches(option, exc.possibilities or [], n=3, cutoff=CLOSE)
        return f"no such option {_word(option)}{_did_you_mean(close)}"
    if isinstance(exc, MissingParameter):
        return _missing(exc, ctx)
    if isinstance(exc, BadParameter):
        return _bad_value(exc)
    message = exc.message
    if found := re.match(_NO_COMMAND, message):
        name = str(ast.literal_eval(found["name"]))
        known = (
            ctx.command.list_commands(ctx) if ctx and hasattr(ctx.command, "list_commands") else []
        )
        close = difflib.get_close_matches(name, known, n=3, cutoff=CLOSE)
        return f"no such command {_value(name)}{_did_you_mean(close, quote=True)}"
    if found := re.fullmatch(_EXTRA, message):
        # Not echoed: a word in the wrong place may be a password (`user create zed hunter2`).
        # Counted from the parser's list of them: a word holding a space is one.
        left = _innermost(exc, "args", list)
        extra = len(left) if left else len(found["words"].split(" "))
        return f"{extra} unexpected argument{'s' if extra > 1 else ''} (not repeated here)"
    if isinstance(exc, BadOptionUsage) and (found := re.fullmatch(_OPTION_USE, message)):
        count = found["count"]
        wanted = "no value" if count is None else "a value" if count == "an" else f"{count} values"
        verb = "takes" if count is None else "needs"
        return f"{_word(exc.option_name)} {verb} {wanted}"
    return _sentence(message)


def _did_you_mean(names: list[str], *, quote: bool = False) -> str:
    if not names:
        return ""
    shown = [_value(n) if quote else _word(n) for n in names]
    return f"; did you mean {' or '.join(shown)}?"


def _root_option(ctx: Context, option: str) -> bool:
    """Whether `option` is one of the root's options that take a value (`--site DIR`):
    moved before the command it works; a flag such as --version would not."""
    root = ctx.find_root().command.params
    return any(option in p.opts and not getattr(p, "is_flag", False) for p in root)


def _missing(exc: MissingParameter, ctx: Context | None) -> str:
    param = exc.param
    kind = exc.param_type or getattr(param, "param_type_name", "parameter")
    text = f"missing {kind} {_name(param)}" if param is not None else "a value is missing"
    extra = param.get_missing_message(ctx) if param is not None else ""
    if extra:  # a choice: "Choose from:\n\ta,\n\tb"
        text += f"; {_sentence(extra)}"
    return text


def _bad_value(exc: BadParameter) -> str:
    """`--hosts: 'abc' is not a whole number`: the option or argument, then the value."""
    param = exc.param
    hint = _name(param) if param is not None else _hint(exc.param_hint)
    errors = getattr(exc.__cause__, "errors", None)
    said = _pydantic(errors()[0], param) if callable(errors) and errors() else None
    said = said or _path_check(exc.message) or _sentence(exc.message)
    return f"{hint}: {said}" if hint else said


def _pydantic(error: dict[str, Any], param: Any) -> str | None:
    """Typer checks a value with pydantic; its error in the words of wmx's other errors."""
    kind = str(error.get("type", ""))
    given = error.get("input")
    if not isinstance(given, str):
        return None
    limits = error.get("ctx") or {}
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{_value(given)} is not a whole number"
    if kind in ("float_parsing", "float_type"):
        return f"{_value(given)} is not a number"
    if kind in ("bool_parsing", "bool_type"):
        return f"{_value(given)} is not true or false"
    bounds = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        low, high = _range(param)
        if low is not None and high is not None:
            return f"{_word(given)} is out of range ({low} to {high})"
        bound, limit = next(iter(limits.items()))
        size = "small" if bound in ("ge", "gt") else "large"
        return f"{_word(given)} is too {size} ({bounds.get(bound, bound)} {limit})"
    choices = _choices(param)
    if choices and kind in ("value_error", "enum", "literal_error"):
        return f"{_value(given)} is not one of {', '.join(repr(c) for c in choices)}"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if message.startswith("Input should be"):
        return f"{_value(given)} {_sentence(message.removeprefix('Input '))}"
    return None


def _path_check(message: str) -> str | None:
    """Typer's `file '/x' does not exist.` as wmx's `/x: no such file`."""
    found = re.fullmatch(_PATH_CHECK, message, re.DOTALL)
    if found is None:
        return None
    from wmx.site.given import given

    path = str(ast.literal_eval(found["path"]))
    said = _PATH_SAID[found["what"]].format(kind=_KINDS[found["kind"]])
    return f"{given(path)}: {said}"


def _range(param: Any) -> tuple[Any, Any]:
    info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
    return getattr(info, "min", None), getattr(info, "max", None)


def _choices(param: Any) -> list[str]:
    described = getattr(param, "type_descriptor", None)
    if described is None or not described.is_choice:
        return []
    return [str(getattr(choice, "value", choice)) for choice in described.choices or ()]


def _name(param: Any) -> str:
    """An option by its long name (`--hosts`), an argument as --help shows it (`USER`)."""
    if getattr(param, "param_type_name", "") == "argument":
        return _word(str(param.display_name_raw))
    opts = [*getattr(param, "opts", ())]
    long = [o for o in opts if o.startswith("--")]
    return _word((long or opts or [str(getattr(param, "name", "?"))])[0])


def _hint(hint: Any) -> str:
    if hint is None:
        return ""
    first = hint if isinstance(hint, str) else next(iter(hint), "")
    return _word(str(first).strip("'"))


def _sentence(message: str) -> str:
    """click's or Typer's sentence as part of wmx's line: one line, no final full stop,
    lower case (`Missing command.` → `missing command`), odd words escaped."""
    words = [w if w.isprintable() else _word(w) for w in message.split()]
    text = " ".join(words).removesuffix(".")
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def _word(text: str) -> str:
    """A word from the command line, shown as the site's errors show a key: as typed, or
    (holding a line break, a control or bidi character, or long) quoted and escaped."""
    if text.isprintable() and len(text) <= 64:
        return text  # as _shown_key would; spares loading wmx.site for a plain word
    from wmx.site.validation import _shown_key

    return _shown_key(text)


def _value(text: str) -> str:
    """A value from the command line in quotes: `'abc'`."""
    shown = _word(text)
    return shown if shown != text else f"'{text}'"


# An option typed empty or blank (`--limit "$HOST"` with HOST unset) had been read as the
# option left out: `deploy --limit ''` deployed every host, `media delete --before 90d
# --size ''` deleted every size; an empty path meant the current directory. Either is
# refused before the command runs. An empty text argument (`config set KEY ''`) is the
# command's to judge. The check sits on each parameter's processing, where the value is
# still as typed (Typer turns '' into Path('.') there).


def refuse_empty_values(command: Any) -> None:
    """Make every parameter of `command`, and of every command below it, refuse an
    option given empty (on the command line or from its environment variable) and an
    empty path argument."""
    for sub in getattr(command, "commands", {}).values():
        refuse_empty_values(sub)
    for param in command.params:
        refuse_empty(param)


def refuse_empty(param: Any) -> None:
    """Make `param` refuse an empty value (refuse_empty_values)."""
    from typer._click.core import ParameterSource

    process = param.process_value
    option = param.param_type_name == "option"
    path = getattr(param.type_descriptor, "annotation", None) is Path

    def checked(ctx: Context, value: Any) -> Any:
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, str) and not v.strip() for v in values):
            source = ctx.get_parameter_source(param.name)
            if option and source is not ParameterSource.DEFAULT:
                name = max(param.opts, key=len)
                env = f" (from ${param.envvar})" if source is ParameterSource.ENVIRONMENT else ""
                raise BadParameter(
                    f"an empty value{env}; give one, or leave {name} out", ctx=ctx, param=param
                )
            if path and source is ParameterSource.COMMANDLINE:
                raise BadParameter("an empty path", ctx=ctx, param=param)
        return process(ctx, value)

    param.process_value = checked
