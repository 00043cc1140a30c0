"""The ``consona`` command. Each command group lives in its own module of this package
and is listed in ``COMMAND_MODULES``; a module exposes ``register(app)``.

Errors that consona raises on purpose (``ConsonaError``) end the command with their
message on stderr and the error's exit code — never a traceback.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import typer
from typer.core import TyperGroup

from consona import __version__
from consona.errors import ConsonaError

# Command-group modules, in the order --help lists them.
COMMAND_MODULES: list[str] = [
    "consona.cli.models",
    "consona.cli.convert",
    "consona.cli.chat",
    "consona.cli.check",
    "consona.cli.nli",
    "consona.cli.extract",
    "consona.cli.build",
    "consona.cli.train",
    "consona.cli.eval",
    "consona.cli.serve",
    "consona.cli.memory",
]


class _ConsonaGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ConsonaError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(code=130) from None

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # registration order, not alphabetical


app = typer.Typer(
    cls=_ConsonaGroup,
    name="consona",
    help="consona — build, serve and measure persona-consistent dialogue agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"consona {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug details to stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors; no progress bars."),
) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("consona").setLevel(level)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
