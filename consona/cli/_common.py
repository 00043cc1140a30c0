"""Helpers shared by CLI modules: stderr status, stdout results, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)


def status(message: str) -> None:
    """A status line for humans, on stderr (never mixed with results)."""
    err_console.print(message)


def emit_json(data: Any) -> None:
    """Results as JSON on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()
