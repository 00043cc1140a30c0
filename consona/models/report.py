"""The default models as a Rich table: what ``consona models list`` and the demo print.

>>> human_size(1117320768)
'1.1 GB'
>>> models_table([]).title
'consona models'
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from consona.models.registry import ModelStatus

__all__ = ["human_size", "models_table", "short_path"]


def short_path(path: object) -> str:
    """``path`` with the home directory written ``~`` ("-" for none)."""
    text = str(path or "-")
    home = os.path.expanduser("~")
    return "~" + text[len(home) :] if home != "/" and text.startswith(home + os.sep) else text


def human_size(size: int | None) -> str:
    """``1117320768`` → ``'1.1 GB'`` ("-" for unknown)."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


def models_table(statuses: Sequence[ModelStatus]) -> Table:
    """One row per model role: model, source and licence, installed/missing, path, size."""
    table = Table(title="consona models", title_justify="left")
    table.add_column("role", no_wrap=True)
    for col in ("model", "source", "status", "path"):
        table.add_column(col, overflow="fold")
    table.add_column("size", no_wrap=True, justify="right")
    for s in statuses:
        state = "[green]installed[/]" if s.installed else "[red]missing[/]"
        if s.detail:
            state += f"\n[dim]{escape(s.detail)}[/]"
        source = f"{escape(s.source)}\n[dim]licence: {escape(s.licence)}[/]"
        table.add_row(
            s.role, escape(s.model), source, state, escape(short_path(s.path)), human_size(s.size)
        )
    return table
