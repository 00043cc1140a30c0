"""Helpers shared by CLI modules: stderr status, stdout results, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
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


# Options that `consona chat` and `consona serve` share (one definition, one help text).
BACKEND_OPTION: Any = typer.Option(
    None,
    "--backend",
    "-b",
    help="llamacpp | openai | transformers | fake (default: CONSONA_BACKEND)",
)
MODEL_OPTION: Any = typer.Option(
    None,
    "--model",
    "-m",
    help="GGUF path, HF dir, a 'consona train' RUN folder or served model name (default: the "
    "consona chat model)",
)
BASE_URL_OPTION: Any = typer.Option(
    None,
    "--base-url",
    help="OpenAI-compatible server URL for --backend openai (default: CONSONA_OPENAI_BASE_URL)",
)
NLI_OPTION: Any = typer.Option(
    None,
    "--nli",
    help="NLI model for the guard (default: CONSONA_NLI_MODEL / consona; 'none' turns it off)",
)
MEMORY_DB_OPTION: Any = typer.Option(
    None, "--memory-db", help="Memory file or SQLAlchemy URL (default: CONSONA_HOME/memory.db)."
)
MEMORY_FAKES_OPTION: Any = typer.Option(
    False, "--memory-fakes", hidden=True, help="Fake extractor + embedder (tests, demos)."
)
