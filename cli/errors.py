"""Exit codes and the one-line error report every verb uses."""

from __future__ import annotations

from typing import NoReturn

import typer

OK = 0
FAILED = 1  # verification or domain failure
UNUSABLE = 2  # usage error or unusable input


def report(message: str) -> None:
    """A line for the user on stderr (stdout carries results only)."""
    typer.echo(f"bpl: {message}", err=True)


def fail(message: str, code: int = UNUSABLE) -> NoReturn:
    """Stop the command: one line on stderr, then exit with ``code``."""
    report(message)
    raise typer.Exit(code)
