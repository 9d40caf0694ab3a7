"""How commands show what servers and users wrote: as the literal text, never as Rich
markup; and listings printed page by page as they arrive, the same document as a whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console
from ruamel.yaml import YAML

from wmx import present
from wmx.admin.http import PageStream
from wmx.present import (
    Column,
    OutputFormat,
    console,
    emit_done,
    emit_record,
    emit_rows,
    esc,
)
from wmx.present_pages import emit_pages

HOSTILE = ["[link=https://evil]x[/link]", "[hidden]", "[bold red]alarm[/]", "a\\[b]"]
COLUMNS = [Column.key("user", "name"), Column.key("display name", "displayname")]


def _shown(capsys: pytest.CaptureFixture[str], show: Any) -> str:
    with console.capture() as captured:
        show()
    return captured.get() + capsys.readouterr().out


@pytest.mark.parametrize("value", HOSTILE)
def test_table_cells_and_records_show_markup_as_text(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    row = {"name": "@mallory:example.test", "displayname": value}
    table = _shown(capsys, lambda: emit_rows([row], OutputFormat.table, COLUMNS))
    record = _shown(capsys, lambda: emit_record(row, OutputFormat.table, COLUMNS))
    for text in (table, record):
        assert value in text


@pytest.mark.parametrize("value", HOSTILE)
def test_messages_quote_values_as_text(capsys: pytest.CaptureFixture[str], value: str) -> None:
    shown = _shown(
        capsys,
        lambda: emit_done(OutputFormat.table, f"[bold]{esc(value)}[/] is locked.", {}),
    )
    assert f"{value} is locked." in shown


def test_no_link_reaches_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Console(force_terminal=True, width=120)
    monkeypatch.setattr(present, "console", terminal)
    with terminal.capture() as captured:
        emit_rows(
            [{"name": "@m:example.test", "displayname": HOSTILE[0]}], OutputFormat.table, COLUMNS
        )
    assert "\x1b]8;" not in captured.get()  # no OSC 8 hyperlink
    assert HOSTILE[0] in captured.get()


def _stream(pages: list[list[dict[str, Any]]], total: int | None = None) -> PageStream[Any]:
    def fetch(stream: PageStream[Any]) -> Iterator[list[dict[str, Any]]]:
        stream.total = total
        yield from pages

    return PageStream(fetch)


PAGES = [
    [{"name": f"@u{n}:example.test", "displayname": f"User {n}"} for n in range(start, start + 3)]
    for start in (0, 3, 6)
]
EVERYONE = [row for page in PAGES for row in page]


def test_json_streams_one_valid_array(capsys: pytest.CaptureFixture[str]) -> None:
    emit_pages(_stream(PAGES), OutputFormat.json, COLUMNS, empty="none")
    out = capsys.readouterr().out
    assert json.loads(out) == EVERYONE
    # One object a line, for line-oriented tools.
    lines = out.splitlines()
    assert lines[0] == "[" and lines[-1] == "]" and len(lines) == len(EVERYONE) + 2
    emit_pages(_stream([]), OutputFormat.json, COLUMNS, empty="none")
    assert json.loads(capsys.readouterr().out) == []


def test_yaml_streams_one_list(capsys: pytest.CaptureFixture[str]) -> None:
    emit_pages(_stream(PAGES), OutputFormat.yaml, COLUMNS, empty="none")
    assert YAML(typ="safe").load(capsys.readouterr().out) == EVERYONE


def test_table_pages_share_one_header(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _shown(
        capsys, lambda: emit_pages(_stream(PAGES, total=20), OutputFormat.table, COLUMNS, empty="-")
    )
    assert shown.count("display name") == 1
    for row in EVERYONE:
        assert row["name"] in shown
    assert "9 of 20 shown" in shown
    empty = _shown(
        capsys,
        lambda: emit_pages(_stream([]), OutputFormat.table, COLUMNS, empty="no accounts match"),
    )
    assert "no accounts match" in empty


def test_pages_are_printed_as_they_arrive(capsys: pytest.CaptureFixture[str]) -> None:
    printed_before: list[int] = []

    def fetch(stream: PageStream[Any]) -> Iterator[list[dict[str, Any]]]:
        for page in PAGES:
            printed_before.append(capsys.readouterr().out.count("@u"))
            yield page

    emit_pages(PageStream(fetch), OutputFormat.json, COLUMNS, empty="none")
    # Before the second and third requests, the earlier pages were already out.
    assert printed_before == [0, 3, 3]


def test_streamed_table_rows_show_hostile_text_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [
        {"name": f"@m{n}:example.test", "displayname": value} for n, value in enumerate(HOSTILE)
    ]
    rows.append({"name": "@esc:example.test", "displayname": "bell\x07 \x1b[31mred"})
    shown = _shown(
        capsys, lambda: emit_pages(_stream([rows]), OutputFormat.table, COLUMNS, empty="-")
    )
    for value in HOSTILE:
        assert value in shown
    assert "\x1b" not in shown and "\x07" not in shown  # no terminal control from a name
    assert "[31mred" in shown


def test_status_screen_shows_server_text_literally() -> None:
    from wmx.status.collect import Alert, HostStatus, ServiceStatus, SiteStatus, Target
    from wmx.status.present import render_status

    host = HostStatus(
        "matrix",
        "10.0.0.1",
        ["base"],
        reachable=True,
        services=[ServiceStatus("synapse", "x.service", "active", "running", HOSTILE[1], 5)],
    )
    status = SiteStatus(
        server_name="example.test",
        collected_at=0.0,
        hosts=[host],
        monitoring=True,
        targets=[Target(HOSTILE[2], "db1", False)],
        alerts=[Alert("Down", "critical", HOSTILE[0], HOSTILE[1], "2026-01-01T00:00")],
    )
    console = Console(record=True, width=200)
    console.print(render_status(status))
    text = console.export_text()
    for value in HOSTILE[:3]:
        assert value in text


def test_answer_gives_scripts_the_data_and_people_the_presenter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import typer

    shown: list[str] = []
    present.answer("json", lambda: {"ok": True}, lambda: shown.append("table"))
    assert json.loads(capsys.readouterr().out) == {"ok": True} and shown == []
    with pytest.raises(typer.Exit) as exited:
        present.answer(
            "table", lambda: pytest.fail("no data for people"), lambda: shown.append("t"), False
        )
    assert exited.value.exit_code == 1 and shown == ["t"]


def test_report_gives_yaml_to_scripts_but_answer_keeps_the_table_for_yaml(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The administration and irc commands answer -o yaml with YAML; the commands whose
    # help offers table or json (upgrade, lab) show the table for yaml, as they always did.
    import typer

    shown: list[str] = []
    with pytest.raises(typer.Exit) as exited:
        present.Report(lambda: {"ok": False}, lambda: shown.append("t"), present.exit_if(1)).show(
            present.OutputFormat.yaml
        )
    assert exited.value.exit_code == 1 and capsys.readouterr().out == "ok: false\n" and not shown
    present.answer("yaml", lambda: pytest.fail("no data for yaml"), lambda: shown.append("t"))
    assert shown == ["t"] and capsys.readouterr().out == ""


def test_confirm_goes_on_with_yes_and_exits_1_on_no(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    monkeypatch.setattr(typer, "confirm", lambda *a, **k: pytest.fail("--yes asks nothing"))
    present.confirm("Go on?", yes=True)
    asked: list[dict[str, Any]] = []

    def no(*_args: Any, **kwargs: Any) -> bool:
        asked.append(kwargs)
        return False

    monkeypatch.setattr(typer, "confirm", no)
    with pytest.raises(typer.Exit) as exited, present.err_console.capture() as captured:
        present.confirm("Go on?", yes=False, refused="Nothing changed.")
    assert exited.value.exit_code == 1 and "Nothing changed." in captured.get()
    # Question and refusal on stderr: stdout is the command's answer (-o json).
    assert asked == [{"default": False, "err": True}]


def test_a_long_id_folds_on_a_terminal_but_not_into_a_pipe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`wmx user list | grep` finds a whole id: into a pipe no cell is cut at the
    terminal's width; on a terminal a long one folds onto the next lines of its row."""
    long_id = "@" + "a" * 90 + ":wiki.example.org"
    rows = [{"name": long_id, "displayname": "Long"}, {"name": "@b:x", "displayname": "B"}]

    def listed() -> str:
        return _shown(
            capsys, lambda: emit_pages(_stream([rows]), OutputFormat.table, COLUMNS, empty="-")
        )

    monkeypatch.setattr(console, "_width", 80)
    piped = listed()
    assert any(line.startswith(long_id) for line in piped.splitlines())
    # The header too is one line, wider than Rich's 80 columns (it wrapped there).
    assert piped.splitlines()[0].split() == ["user", "display", "name"]
    monkeypatch.setattr(console, "_force_terminal", True)
    folded = listed()
    assert long_id not in folded
    assert long_id == "".join(line.split()[0] for line in folded.splitlines()[1:3])


def test_wide_characters_keep_the_columns_in_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name in CJK or with an emoji takes two terminal cells a character: padding by
    characters pushed every column after it right, and folding by characters made lines
    wider than the terminal. Each line's columns start at the same cell."""
    from rich.cells import cell_len

    columns = [Column.key("display name", "displayname"), Column.key("user", "name")]
    rows = [
        {"displayname": "山田太郎", "name": "@yamada:x"},
        {"displayname": "plain", "name": "@plain:x"},
        {"displayname": "🎉🎉", "name": "@party:x"},
    ]

    def starts(text: str) -> set[int]:
        # Where the user column starts, in cells: the text before "@".
        return {cell_len(line[: line.index("@")]) for line in text.splitlines() if "@" in line}

    def listed() -> str:
        return _shown(
            capsys, lambda: emit_pages(_stream([rows]), OutputFormat.table, columns, empty="-")
        )

    assert len(starts(listed())) == 1  # into a pipe
    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_width", 80)
    assert len(starts(listed())) == 1
    # Folded on a narrow terminal: no line wider than it, no character lost.
    long_name = "漢字" * 40
    monkeypatch.setattr(console, "_width", 40)
    folded = _shown(
        capsys,
        lambda: emit_pages(
            _stream([[{"displayname": long_name, "name": "@k:x"}]]),
            OutputFormat.table,
            columns,
            empty="-",
        ),
    )
    assert all(cell_len(line) <= 40 for line in folded.splitlines())
    assert "".join(line.split()[0] for line in folded.splitlines()[1:]) == long_name


def test_a_sentence_into_a_pipe_is_one_line_and_a_table_still_fits(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into a pipe or a file Rich wraps at 80 columns: `wmx deploy | tee log` cut a
    hundred-character line in two, and grep found neither half. A sentence (text or
    markup) stays one line there; a table is still laid out at the width; on a terminal
    a sentence wraps at the window as before."""
    from rich.table import Table

    sentence = "Deployed: " + ", ".join(f"host{n}.example.org" for n in range(12))
    for printer, text in ((console, sentence), (present.err_console, f"[b]{sentence}[/]")):
        printer.print(text)
        out, err = capsys.readouterr()
        assert (out + err) == sentence + "\n"
    table = Table("a")
    table.add_row("x " * 60)
    console.print(table)
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) == 80
    monkeypatch.setattr(console, "_force_terminal", True)
    monkeypatch.setattr(console, "_width", 60)
    with console.capture() as captured:
        console.print(sentence)
    assert all(len(line) <= 60 for line in captured.get().splitlines())
    assert len(captured.get().splitlines()) > 1


def test_a_groups_sentences_into_a_pipe_are_one_line_each(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`wmx status` and a run's summary print a Group: its sentences (status's problems,
    "Run record: …") were still broken at 80 columns into a pipe, the tables and panels
    around them laid out as before."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    problem = "synapse (matrix-synapse.service) on hs1 has failed: `wmx logs synapse` " * 2
    table = Table("a")
    table.add_row("x " * 60)
    console.print(Group(Text(problem), table, Panel(Text("p " * 60))), highlight=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == problem
    assert max(len(line) for line in lines[1:]) == 80 and lines[-1].startswith("╰")
