"""``consona memory``: look at and manage long-term persona memory.

Commands: ``list``, ``export`` (JSON Lines, history included), ``import``, ``forget``,
``restore`` (undo a forget or a supersede), ``add`` (through the NLI gate; ``--dry-run``
shows the diff). Every command takes ``--user NAME --character C`` and ``--db`` (a file
or an SQLAlchemy URL; default ``CONSONA_HOME/memory.db``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from consona.cli._common import emit_json, out_console, status

memory_app = typer.Typer(
    name="memory",
    help="Long-term memory of users and characters: list, export, import, forget, restore, add.",
    no_args_is_help=True,
)

_USER = typer.Option(..., "--user", "-u", help="The user's name (as in 'consona chat --user').")
_CHAR = typer.Option(..., "--character", "-c", help="The character's name.")
_DB = typer.Option(
    None, "--db", help="Memory file or SQLAlchemy URL (default: CONSONA_HOME/memory.db)."
)


def register(app: typer.Typer) -> None:
    app.add_typer(memory_app, name="memory")


def default_db(settings: Any = None) -> Path:
    from consona.config import Settings

    settings = settings or Settings.load()
    return Path(settings.home) / "memory.db"


def open_store(db: str | None, settings: Any = None) -> Any:
    from consona.memory import MemoryStore

    return MemoryStore(db or default_db(settings))


def open_memory(
    db: str | None,
    settings: Any,
    *,
    user: str,
    persona: Any,
    nli: Any,
    backend: Any = None,
    fakes: bool = False,
) -> Any:
    """The ``PersonaMemory`` of ``user`` with ``persona`` (for ``consona chat --user``);
    ``fakes``: consona.testing's extractor and embedder instead of the real models."""
    from consona.agent.prompt import display_name
    from consona.memory import PersonaMemory

    kwargs: dict[str, Any] = {}
    if fakes:
        from consona.testing import FakeEmbedder, FakeExtractor

        kwargs.update(extractor=FakeExtractor(), embedder=FakeEmbedder())
    if backend is not None:
        from consona.backends.base import count_tokens

        kwargs["count_tokens"] = lambda t: count_tokens(backend, t)
    return PersonaMemory(
        open_store(db, settings),
        user=user,
        character=persona.name or display_name(persona),
        nli=nli,
        settings=settings,
        **kwargs,
    )


def _fact_row(f: Any) -> str:
    state = (
        ""
        if f.active
        else f"  [dim]({f.retired}{' by #' + str(f.superseded_by) if f.superseded_by else ''})[/]"
    )
    seen = f" (×{f.times_seen})" if f.times_seen > 1 else ""
    return f"{f.id}. {escape('[' + f.role + ']')} {escape(f.text)}{seen}{state}"


@memory_app.command("list")
def list_cmd(
    user: str = _USER,
    character: str = _CHAR,
    db: str = _DB,
    role: str = typer.Option(None, "--role", help="user | bot (default: both)"),
    all_: bool = typer.Option(False, "--all", help="Include retired facts (history)."),
    as_json: bool = typer.Option(False, "--json", help="JSON on stdout."),
) -> None:
    """The facts remembered for a user with a character."""
    store = open_store(db)
    store.require_owner(user, character)
    facts = store.facts(user, character, role, include_retired=all_)
    if as_json:
        emit_json([f.to_dict() for f in facts])
        return
    for f in facts:
        out_console.print(_fact_row(f), soft_wrap=True)
    status(f"{len(facts)} fact(s) of {user} with {character}")


@memory_app.command("export")
def export_cmd(
    user: str = _USER,
    character: str = _CHAR,
    db: str = _DB,
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file (default: stdout)."),
) -> None:
    """One JSON fact per line, history included (role, valid_from, invalid_at, superseded_by)."""
    from consona.memory.transfer import export_jsonl

    store = open_store(db)
    store.require_owner(user, character)
    if out is None:
        n = export_jsonl(store, user, character, sys.stdout)
        sys.stdout.flush()
    else:
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            n = export_jsonl(store, user, character, fh)
        tmp.replace(out)
    status(f"exported {n} fact(s){' to ' + str(out) if out else ''}")


@memory_app.command("import")
def import_cmd(
    path: Path = typer.Argument(
        ..., help="JSON Lines as 'consona memory export' writes ('-' = stdin)."
    ),
    user: str = _USER,
    character: str = _CHAR,
    db: str = _DB,
) -> None:
    """Import facts (all or nothing; facts already stored are skipped)."""
    from consona.errors import FormatError
    from consona.memory.transfer import import_jsonl

    store = open_store(db)
    if str(path) == "-":
        n = import_jsonl(store, user, character, sys.stdin, source="stdin")
    else:
        try:
            fh = path.open(encoding="utf-8")
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror}", path=path) from None
        with fh:
            try:
                n = import_jsonl(store, user, character, fh, source=str(path))
            except UnicodeDecodeError:
                raise FormatError("not UTF-8 text", path=path) from None
    status(f"imported {n} fact(s) for {user} with {character}")


def _owned(db: str, fact_id: int, user: str, character: str) -> Any:
    """The store, once fact ``fact_id`` is known to belong to ``user`` with ``character``."""
    from consona.memory import MemoryStoreError

    store = open_store(db)
    store.require_owner(user, character)
    f = store.get(fact_id)
    if (f.user, f.character) != (user, character):
        raise MemoryStoreError(
            f"Memory fact #{fact_id} is not one of {user!r} with {character!r}",
            hint="see the ids with 'consona memory list'",
        )
    return store


@memory_app.command("forget")
def forget_cmd(
    fact_id: int = typer.Argument(..., help="The fact's number (see 'consona memory list')."),
    user: str = _USER,
    character: str = _CHAR,
    db: str = _DB,
) -> None:
    """Retire a fact (kept as history; 'restore' undoes it)."""
    f = _owned(db, fact_id, user, character).forget(fact_id)
    status(f"forgot #{f.id}: {escape(f.text)}")


@memory_app.command("restore")
def restore_cmd(
    fact_id: int = typer.Argument(..., help="A retired fact's number ('list --all')."),
    user: str = _USER,
    character: str = _CHAR,
    db: str = _DB,
) -> None:
    """Undo a forget or a supersede: the fact is active again."""
    f = _owned(db, fact_id, user, character).restore(fact_id)
    status(f"restored #{f.id}: {escape(f.text)}")


@memory_app.command("add")
def add_cmd(
    text: list[str] = typer.Argument(..., help="Facts, one per argument."),
    user: str = _USER,
    character: str = _CHAR,
    db: str = _DB,
    role: str = typer.Option("user", "--role", help="user | bot"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the diff; write nothing."),
    nli: str = typer.Option(None, "--nli", help="The judge (default: consona)."),
    as_json: bool = typer.Option(False, "--json", help="The diff as JSON on stdout."),
    fakes: bool = typer.Option(False, "--fakes", hidden=True, help="Fake embedder (tests)."),
) -> None:
    """Add facts through the NLI gate (merge / supersede / add) and show the diff."""
    from consona.memory import PersonaMemory
    from consona.memory.store import check_role
    from consona.nli.models import load_nli_model

    check_role(role)
    extra: dict[str, Any] = {}
    if fakes:
        from consona.testing import FakeEmbedder

        extra["embedder"] = FakeEmbedder()
    memory = PersonaMemory(
        open_store(db), user=user, character=character, nli=load_nli_model(nli), **extra
    )
    diff = memory.remember(role, text, dry_run=dry_run)
    if as_json:
        emit_json(diff.to_dict())
    else:
        out_console.print(escape(diff.render()), soft_wrap=True)
    if dry_run:
        status("(dry run: nothing written)")
