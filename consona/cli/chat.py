"""``consona chat``: an interactive terminal chat with a persona agent.

Replies go to stdout, status and errors to stderr. Input may be a terminal or a pipe
(``echo "hi" | consona chat``). Commands: ``/persona``, ``/facts``, ``/why``, ``/reset``,
``/save FILE``, ``/help``, ``/quit``; with ``--user NAME`` (long-term memory) also
``/memory`` and ``/forget N``. An error in one turn is reported and the chat goes on.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from consona.cli._common import (
    BACKEND_OPTION,
    BASE_URL_OPTION,
    MEMORY_DB_OPTION,
    MEMORY_FAKES_OPTION,
    MODEL_OPTION,
    NLI_OPTION,
    err_console,
    out_console,
    status,
)
from consona.config import Settings
from consona.errors import ConfigError, ConsonaError

HELP = (
    "/persona  who the agent is    /facts  its facts    /why  scores of the last reply\n"
    "/reset  new conversation    /save FILE  write it as consona JSONL    /quit  leave"
)
MEMORY_HELP = "/memory  what is remembered about you and the character    /forget N  retire fact N"


def load_nli(name: str | None, settings: Settings) -> Any:
    """The NLI model for the guard, or ``None`` for ``--nli none``."""
    from consona.nli.models import load_optional_nli

    return load_optional_nli(name or settings.nli_model)


def load_backend_and_guard(
    backend: str | None,
    model: str | None,
    base_url: str | None,
    nli: str | None,
    settings: Settings,
    options: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """The chat backend and the NLI guard of ``consona chat`` / ``consona serve``. A default
    guard that cannot load is turned off with a warning; one asked for by name is an error."""
    from consona.backends import load_backend

    options = dict(options or {})
    if base_url:
        if (backend or settings.backend) != "openai":
            raise ConfigError("--base-url needs --backend openai", hint="add --backend openai")
        options["base_url"] = base_url
    the_backend = load_backend(backend, model=model, settings=settings, **options)
    try:
        judge = load_nli(nli, settings)
    except ConsonaError as exc:
        if nli is not None:
            raise
        status(f"[yellow]warning:[/] NLI guard off — {escape(str(exc))}")
        judge = None
    return the_backend, judge


class ChatSession:
    """The state of one terminal chat: persona, agent, history; handles one input line.

    >>> from consona.agent import PersonaAgent, default_persona
    >>> from consona.testing import FakeBackend
    >>> s = ChatSession(PersonaAgent(default_persona(), backend=FakeBackend(["hi!"]),
    ...                              nli=None, candidates=1, coherence="lexical"))
    >>> s.handle("hello")
    Mira> hi!
    True
    >>> [t.text for t in s.history]
    ['hello', 'hi!']
    """

    def __init__(self, agent: Any, *, autosave: Path | None = None) -> None:
        self.agent = agent
        self.autosave = autosave
        self.history: list[Any] = []
        self.last: Any = None
        self.id = uuid.uuid4().hex[:12]

    def greet(self) -> None:
        """Show the persona's ``first_mes`` (if any) and start the history with it."""
        from consona.agent.prompt import expand_macros
        from consona.types import Turn

        first = self.agent.persona.first_mes
        if first and first.strip():
            text = expand_macros(first, self.agent.name, "you").strip()
            self.history.append(Turn(speaker=self.agent.persona.name or "bot", text=text))
            self.say(text)

    def say(self, text: str) -> None:
        out_console.print(
            f"[bold cyan]{escape(self.agent.name)}>[/] {escape(text)}", soft_wrap=True
        )

    def handle(self, line: str) -> bool:
        """Process one input line; False when the chat should end."""
        line = line.strip()
        if not line:
            status("[dim](empty message — type something, or /help)[/]")
            return True
        if line.startswith("/"):
            return self.command(line)
        from consona.types import Turn

        try:
            reply = self._reply(line)
        except ConsonaError as exc:
            status(f"[red]error:[/] {escape(str(exc))} [dim](message not sent; try again)[/]")
            return True
        except KeyboardInterrupt:
            status("[dim](reply cancelled)[/]")
            return True
        self.history.append(Turn(speaker="user", text=line))
        self.history.append(
            Turn(
                speaker=self.agent.persona.name or "bot",
                text=reply.text,
                meta={"flagged": reply.flagged, "repaired": reply.repaired},
            )
        )
        self.last = reply
        self.say(reply.text)
        if self.autosave is not None:
            self.save(str(self.autosave), quiet=True)
        if getattr(reply, "refused", False):
            status("[yellow]note:[/] every candidate leaked the prompt; none was sent (see /why)")
        elif reply.flagged:
            status(
                "[yellow]note:[/] every candidate contradicted a fact: "
                + escape("; ".join(reply.contradicted_facts))
                + " (see /why)"
            )
        return True

    def _reply(self, line: str) -> Any:
        """The agent's reply, with a spinner on a terminal saying what it is doing."""
        if not err_console.is_terminal:
            return self.agent.reply(self.history, user=line)
        with err_console.status("[dim]thinking…[/]", spinner="dots") as spinner:

            def stage(text: str) -> None:
                spinner.update(f"[dim]{escape(text)}…[/]")

            return self.agent.reply(self.history, user=line, on_stage=stage)

    def command(self, line: str) -> bool:
        cmd, _, arg = line.partition(" ")
        cmd, arg = cmd.lower(), arg.strip()
        if cmd in ("/quit", "/exit", "/q"):
            return False
        if cmd == "/help":
            status(HELP)
        elif cmd == "/persona":
            p = self.agent.persona
            status(
                f"[bold]{escape(self.agent.name)}[/]"
                + (f" — {escape(p.description)}" if p.description else "")
            )
        elif cmd == "/facts":
            for i, f in enumerate(self.agent.facts, 1):
                out_console.print(f"{i}. {escape(f.text)}")
        elif cmd == "/why":
            self.why()
        elif cmd == "/reset":
            self.history, self.last, self.id = [], None, uuid.uuid4().hex[:12]
            status("[dim](new conversation)[/]")
            self.greet()
        elif cmd == "/save":
            self.save(arg)
        elif cmd in ("/memory", "/forget"):
            self.memory_command(cmd, arg)
        else:
            status(
                f"[red]error:[/] unknown command {escape(cmd)!s} — commands: /persona "
                "/facts /why /reset /save FILE /quit"
            )
        return True

    def memory_command(self, cmd: str, arg: str) -> None:
        memory = getattr(self.agent, "memory", None)
        if memory is None:
            status("[red]error:[/] no long-term memory in this chat — start it with --user NAME")
            return
        if cmd == "/forget":
            if not arg.strip().lstrip("#").isdigit():
                status("[red]error:[/] /forget needs a fact number from /memory, e.g. /forget 3")
                return
            try:
                fact = memory.forget(int(arg.strip().lstrip("#")))
            except ConsonaError as exc:
                status(f"[red]error:[/] {escape(str(exc))}")
                return
            status(f"forgot #{fact.id}: {escape(fact.text)}")
            return
        for role, title in (("user", "about you"), ("bot", f"{self.agent.name} about itself")):
            facts = memory.facts(role)
            out_console.print(f"[bold]{escape(title)}[/] ({len(facts)})")
            for f in facts:
                seen = f" (×{f.times_seen})" if f.times_seen > 1 else ""
                out_console.print(f"  {f.id}. {escape(f.text)}{seen}")

    def why(self) -> None:
        if self.last is None:
            status("[dim](no reply yet)[/]")
            return
        r = self.last
        table = Table(title=f"candidates ({r.latency_s:.1f}s)", show_lines=False)
        for col in ("", "reply", "score", "coherence", "entail", "contra", "verdict"):
            table.add_column(col)
        for i, c in enumerate(r.candidates):
            mark = "→" if i == r.chosen else ("r" if c.attempt else "")
            verdict = c.reason or "ok"
            if getattr(c, "edit", ""):  # made by the agent from a sampled candidate
                verdict = f"{verdict} ({c.edit})"
            table.add_row(
                mark,
                escape(c.text[:70]),
                f"{c.score:.2f}",
                f"{c.coherence:.2f}",
                f"{c.entailment:.2f}",
                f"{c.contradiction:.2f}",
                escape(verdict),
            )
        out_console.print(table)
        for i, c in enumerate(r.candidates, 1):  # the character terms, in full
            flags = getattr(c, "flags", None) or []
            if flags:
                out_console.print(
                    f"candidate {i} flags: {escape(', '.join(flags))} — {escape(c.reason)}",
                    soft_wrap=True,
                )
        t = getattr(r, "timings", None) or {}
        if t:
            out_console.print(
                f"turn took {r.latency_s:.1f} s: sampling {t.get('sampling_s', 0):.1f} s, "
                f"judging {t.get('judging_s', 0):.1f} s, {int(t.get('rounds', 1))} round(s)"
            )
        reasons = getattr(r, "repair_reasons", None) or []
        if reasons:
            out_console.print("repair rounds named: " + escape("; ".join(reasons)))
        if r.repaired:
            named = r.repair_facts or reasons
            out_console.print("repaired after naming: " + escape("; ".join(named)))
        if getattr(r, "refused", False):
            out_console.print(
                "[yellow]refused[/]: every candidate leaked the prompt; a neutral reply was sent"
            )
        elif getattr(r, "flags", None):
            out_console.print("[yellow]reply flags[/]: " + escape(", ".join(r.flags)))
        if r.flagged:
            out_console.print(
                "[yellow]flagged[/]: contradicts " + escape("; ".join(r.contradicted_facts))
            )

    def dialogue(self) -> Any:
        from consona.types import Dialogue

        name = self.agent.persona.name or "bot"
        return Dialogue(
            id=self.id,
            turns=list(self.history),
            personas={name: self.agent.persona},
            meta={"source": "consona chat"},
        )

    def save(self, arg: str, *, quiet: bool = False) -> None:
        if not arg:
            status("[red]error:[/] /save needs a file name, e.g. /save chat.jsonl")
            return
        from consona.formats.jsonl import JsonlFormat

        path = Path(arg).expanduser()
        try:
            JsonlFormat().write([self.dialogue()], path)
        except ConsonaError as exc:
            status(f"[red]error:[/] {escape(str(exc))}")
            return
        if not quiet:
            status(f"saved {len(self.history)} turns to {escape(str(path))}")


def _lines(interactive: bool) -> Any:
    if interactive:
        while True:
            try:
                yield err_console.input("[bold green]you>[/] ")
            except EOFError:
                return
    else:
        yield from sys.stdin


def chat(
    persona: Path | None = typer.Option(
        None,
        "--persona",
        "-p",
        help="Persona file (JSON/YAML, Character Card V2/V3 JSON or PNG). Default: Mira.",
    ),
    backend: str | None = BACKEND_OPTION,
    model: str | None = MODEL_OPTION,
    base_url: str | None = BASE_URL_OPTION,
    candidates: int = typer.Option(
        4,
        "--candidates",
        "-n",
        min=1,
        max=16,
        help="Replies sampled per turn and re-ranked by NLI.",
    ),
    nli: str | None = NLI_OPTION,
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed (reproducible runs)."),
    max_tokens: int = typer.Option(96, "--max-tokens", min=8, help="Tokens per reply."),
    temperature: float = typer.Option(0.8, "--temperature", min=0.0),
    save: Path | None = typer.Option(
        None, "--save", help="Write the dialogue (consona JSONL) to this file after every reply."
    ),
    coherence: str = typer.Option(
        "auto",
        "--coherence",
        help="auto | embedding | lexical: how candidates are scored against your message",
    ),
    user: str | None = typer.Option(
        None,
        "--user",
        "-u",
        help="Remember this user across chats (long-term memory of both speakers).",
    ),
    memory_db: str | None = MEMORY_DB_OPTION,
    memory_fakes: bool = MEMORY_FAKES_OPTION,
) -> None:
    """Chat with a persona agent in the terminal (or through a pipe)."""
    from consona.agent import PersonaAgent, default_persona
    from consona.agent.personas import load_persona

    settings = Settings.load()
    the_persona = load_persona(persona) if persona else default_persona()
    the_backend, judge = load_backend_and_guard(backend, model, base_url, nli, settings)
    memory = None
    if user is not None:
        from consona.cli.memory import open_memory

        memory = open_memory(
            memory_db,
            settings,
            user=user,
            persona=the_persona,
            nli=judge,
            backend=the_backend,
            fakes=memory_fakes,
        )
    elif memory_db is not None:
        raise ConfigError("--memory-db needs --user NAME", hint="add --user NAME")
    agent = PersonaAgent(
        the_persona,
        backend=the_backend,
        nli=judge,
        candidates=candidates,
        seed=seed,
        max_tokens=max_tokens,
        temperature=temperature,
        coherence=coherence,
        memory=memory,
    )
    session = ChatSession(agent, autosave=save)
    interactive = sys.stdin.isatty()
    status(
        f"chatting with [bold]{escape(agent.name)}[/] on {escape(the_backend.name)}"
        f" ({candidates} candidates, NLI: {escape(getattr(judge, 'name', 'off'))})"
    )
    if memory is not None:
        n = len(memory.facts())
        status(f"memory of {escape(memory.user)} with {escape(memory.character)}: {n} facts")
    if interactive:
        status(HELP + ("\n" + MEMORY_HELP if memory is not None else ""))
    session.greet()
    for line in _lines(interactive):
        if not session.handle(line):
            break


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
