"""What every hostile2 case asks of a refusal: exit 2, one line on stderr saying it."""

from __future__ import annotations

from typer.testing import Result


def one_line_refusal(result: Result, *says: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for part in says:
        assert part in lines[0], (part, lines[0])
    return lines[0]
