"""What answers a chat completion: a persona agent per request (the character's model
``consona/<id>``) or the plain backend (no persona layer), behind one lock.

>>> from consona.testing import FakeBackend, FakeNLI
>>> from consona.server.characters import CharacterRegistry
>>> from consona.server.schemas import parse_chat_request
>>> engine = ChatEngine(backend=FakeBackend(["I keep the lighthouse."]), nli=FakeNLI(),
...                     characters=CharacterRegistry(None), candidates=2)
>>> req = parse_chat_request({"model": "consona/mira",
...                           "messages": [{"role": "user", "content": "What do you do?"}]})
>>> target = engine.resolve(req)
>>> done = engine.run(req, target)
>>> done.texts, done.verdict["character"], done.verdict["flagged"]
(['I keep the lighthouse.'], 'mira', False)
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from consona.agent import PersonaAgent
from consona.agent.agent import CHOOSE
from consona.agent.rerank import make_coherence, rank
from consona.backends.base import ChatBackend, Sampling, apply_stop, count_tokens
from consona.errors import ConfigError, ConsonaError
from consona.server.characters import MODEL_PREFIX, Character, CharacterRegistry
from consona.server.errors import APIError
from consona.server.schemas import ID_PATTERN, ChatRequest, check_id
from consona.types import Persona, Turn

__all__ = ["Cancelled", "ChatEngine", "Completed", "Target"]

Emit = Callable[[int, str], None]


@dataclass
class Target:
    """Who answers a request: a character (with user and session) or the plain model."""

    kind: Literal["persona", "plain"]
    model: str
    character: Character | None = None
    user: str = "anonymous"
    session: str | None = None
    owner: str = ""  # the API key's digest ("" without keys): whose session it is


@dataclass
class Completed:
    """A finished completion: one text per returned choice, and why."""

    texts: list[str]
    finish_reasons: list[str]
    usage: dict[str, int]
    verdict: dict[str, Any] | None = None
    choice_verdicts: list[dict[str, Any]] = field(default_factory=list)
    user_text: str = ""
    first_piece_s: float | None = None


def _model_name(backend: Any) -> str:
    for attr in ("model_path", "model", "model_name"):
        value = getattr(backend, attr, None)
        if value:
            name = getattr(value, "name", None) or str(value)
            return name.rsplit("/", 1)[-1]
    return str(getattr(backend, "name", "backend"))


class ChatEngine:
    """Answers parsed ``ChatRequest``s. ``candidates``: replies the agent samples per turn
    (a request's ``n`` raises it, ``consona.candidates`` sets it); ``temperature`` /
    ``max_tokens``: defaults when a request has none; ``plain_model``: the id of the plain
    backend model (default: the backend's model name); ``memory``: ``memory(user,
    character)`` (a user id and a ``Character``) opens the long-term memory the agent
    reads and writes (``None``: off).

    A request's ``temperature``, ``max_tokens``, ``seed``, ``stop``, ``top_p`` and
    penalties reach every candidate the agent draws (``PersonaAgent.reply(sampling=...)``)
    and the plain model; the client's own system messages (a front-end's main prompt)
    reach a character's prompt as card instructions (``with_client_system``)."""

    def __init__(
        self,
        *,
        backend: ChatBackend,
        nli: Any,
        characters: CharacterRegistry,
        candidates: int = 4,
        temperature: float = 0.8,
        max_tokens: int = 96,
        plain_max_tokens: int = 256,
        coherence: Any = "lexical",
        repair_attempts: int = 1,
        seed: int | None = None,
        plain_model: str | None = None,
        memory: Callable[[str, Character], Any] | None = None,
        choose: str = "best",
    ) -> None:
        self.backend = backend
        self.nli = nli
        self.characters = characters
        self.candidates = candidates
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.plain_max_tokens = plain_max_tokens
        self.coherence = make_coherence(coherence)
        self.repair_attempts = repair_attempts
        self.seed = seed
        self.plain_model = plain_model or _model_name(backend)
        if choose not in CHOOSE:
            raise ConfigError(
                f"choose must be one of {', '.join(CHOOSE)}, got {choose!r}",
                hint="--choose best or --choose first-clean",
            )
        self.choose = choose  # PersonaAgent(choose=...)
        # long-term memory: ``memory(user, character)`` opens one (e.g. a
        # ``consona.memory.PersonaMemory`` on the store ``consona chat`` uses); one per pair;
        # with API keys on, the user is scoped to the key (``memory_user``)
        self.memory_factory = memory
        self._memories: dict[tuple[str, str], Any] = {}
        # One model, one NLI judge: requests take turns on them.
        self.lock = threading.Lock()

    # -- models ---------------------------------------------------------------------
    def models(self) -> list[dict[str, Any]]:
        created = 0
        out = [
            {
                "id": c.model_id,
                "object": "model",
                "created": created,
                "owned_by": "consona",
                "name": c.persona.name,
            }
            for c in self.characters.all()
        ]
        out.append(
            {
                "id": self.plain_model,
                "object": "model",
                "created": created,
                "owned_by": "consona",
                "name": f"{self.plain_model} (plain, no persona)",
            }
        )
        return out

    def resolve(self, req: ChatRequest, *, owner: str = "") -> Target:
        """The character (or the plain model), user and session a request is for;
        ``owner`` (the API key's digest) goes into automatic session ids, so that two keys
        never share one."""
        opts = req.consona
        char: Character | None = None
        if opts is not None and opts.character:
            char = self.characters.get(opts.character, param="consona.character")
        elif req.model.startswith(MODEL_PREFIX):
            cid = req.model[len(MODEL_PREFIX) :]
            char = self.characters.find(cid) if ID_PATTERN.match(cid) else None
            if char is None:
                raise self._unknown_model(req.model)
        elif req.model != self.plain_model:
            raise self._unknown_model(req.model)
        if char is None:
            return Target(kind="plain", model=req.model)
        user = "anonymous"
        if opts is not None and opts.user:
            user = check_id(opts.user, what="user", param="consona.user")
        elif req.user:
            user = req.user if ID_PATTERN.match(req.user) else _digest(req.user)
        if opts is not None and opts.session:
            session = check_id(opts.session, what="session", param="consona.session")
        else:
            first = next((m.text for m in req.messages if m.role == "user"), "")
            scope = f"{owner}\0" if owner else ""
            session = "auto-" + _digest(f"{scope}{char.id}\0{user}\0{first}")
        return Target(
            kind="persona",
            model=req.model,
            character=char,
            user=user,
            session=session,
            owner=owner,
        )

    def _unknown_model(self, model: str) -> APIError:
        valid = [m["id"] for m in self.models()]
        return APIError(
            404,
            f"The model {model!r} does not exist. Valid models: {', '.join(valid)}",
            code="model_not_found",
            param="model",
            hint="list them with GET /v1/models",
        )

    # -- answering ------------------------------------------------------------------
    def run(
        self,
        req: ChatRequest,
        target: Target,
        *,
        emit: Emit | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Completed:
        """Answer ``req`` (blocking; call it from a worker thread). With ``emit``, the text
        of each returned choice is passed on piece by piece, ``emit(choice_index, text)``:
        the backend's own token stream where nothing has to be chosen, else the chosen
        candidates as soon as the agent has chosen them."""
        if target.kind == "plain":
            return self._run_plain(req, emit=emit, cancelled=cancelled)
        return self._run_persona(req, target, emit=emit, cancelled=cancelled)

    def _sampling(self, req: ChatRequest, default_max: int) -> dict[str, Any]:
        """The request's sampling arguments over the server's defaults (``top_p`` and the
        penalties only when the request sets them: the backend's defaults otherwise)."""
        return {
            "temperature": self.temperature if req.temperature is None else req.temperature,
            "max_tokens": req.sampling_max_tokens or default_max,
            "seed": self.seed if req.seed is None else req.seed,
            **_options(req),
        }

    def _run_persona(
        self,
        req: ChatRequest,
        target: Target,
        *,
        emit: Emit | None,
        cancelled: Callable[[], bool] | None,
    ) -> Completed:
        assert target.character is not None
        persona = with_client_system(target.character.persona, _system_text(req))
        turns, user_text = _turns(req, persona.name or "assistant")
        opts = req.consona
        n_cands = opts.candidates if opts is not None and opts.candidates else self.candidates
        n_cands = max(n_cands, req.n)
        s = self._sampling(req, self.max_tokens)
        extra: dict[str, Any] = {}
        if self.memory_factory is not None:
            user = memory_user(target.user, target.owner)
            key = (user, target.character.id)
            with self.lock:
                if key not in self._memories:
                    self._memories[key] = self.memory_factory(user, target.character)
            extra["memory"] = self._memories[key]
        agent = PersonaAgent(
            persona,
            **extra,
            backend=self.backend,
            nli=self.nli,
            candidates=n_cands,
            temperature=s["temperature"],
            max_tokens=s["max_tokens"],  # also what the prompt leaves room for
            seed=s["seed"],
            coherence=self.coherence,
            repair_attempts=self.repair_attempts,
            choose=self.choose,
        )
        stop = req.stop_list
        # the request's own settings reach every candidate the agent draws
        sampling = Sampling(
            temperature=s["temperature"],
            max_tokens=s["max_tokens"],
            seed=s["seed"],
            stop=stop or None,
            **_options(req),
        )
        start = time.perf_counter()
        first: list[float] = []
        sent: list[str] = []  # the chosen text, once streamed while the agent still worked

        def timed_emit(i: int, piece: str) -> None:
            if not first:
                first.append(time.perf_counter() - start)
            if emit is not None:
                emit(i, piece)

        with self.lock:
            if emit is not None and n_cands == 1 and self.nli is None:
                stream = agent.stream_reply(turns, sampling=sampling)
                _pump(iter(stream), stop, lambda p: timed_emit(0, p), cancelled)
                reply = stream.reply
                if reply is None:  # cancelled before the end: nothing to commit
                    raise Cancelled
                texts = [apply_stop(reply.text, stop)]
                order = [reply.chosen]
                emitted = True
            else:

                def send_chosen(text: str) -> None:
                    # the chosen reply goes out as soon as the agent has chosen it (with
                    # choose="first-clean", before the other choices are drawn)
                    if emit is None:
                        return
                    for piece in _words(apply_stop(text, stop)):
                        if cancelled is not None and cancelled():
                            raise Cancelled
                        timed_emit(0, piece)
                    sent.append(text)

                reply = agent.reply(turns, sampling=sampling, on_chosen=send_chosen,
                                    choices=req.n)  # fmt: skip
                # the chosen one as the agent gives it (a neutral line when it leaked the
                # prompt), then the best others; a leaked candidate is never sent
                others = [
                    i
                    for i in rank(reply.candidates)
                    if i != reply.chosen and not getattr(reply.candidates[i], "leaked", False)
                ]
                order = [reply.chosen, *others[: req.n - 1]]
                texts = [
                    apply_stop(reply.text if i == reply.chosen else reply.candidates[i].text, stop)
                    for i in order
                ]
                emitted = False
        if emit is not None and not emitted:
            for i, text in enumerate(texts):
                if i == 0 and sent:
                    continue
                for piece in _words(text):
                    if cancelled is not None and cancelled():
                        raise Cancelled
                    timed_emit(i, piece)
        usage = dict(reply.usage)
        if not usage:  # the backend's own stream reports none: count the prompt and reply
            try:
                prompt = agent.prompt(turns).prompt_tokens
            except ConsonaError:
                prompt = sum(count_tokens(self.backend, m.text) for m in req.messages)
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": sum(count_tokens(self.backend, t) for t in texts),
            }
        usage = {
            "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        cands = reply.candidates
        verdict = {
            "character": target.character.id,
            "user": target.user,
            "session": target.session,
            "chosen": reply.chosen,
            "returned": order,
            "flagged": reply.flagged,
            "repaired": reply.repaired,
            "caught": reply.caught,
            "contradicted_facts": reply.contradicted_facts,
            "repair_facts": reply.repair_facts,
            "facts": reply.facts,
            "candidates": [
                {k: v for k, v in c.to_dict().items() if k != "verdicts"} for c in cands
            ],
            "timings": reply.timings,
            "latency_s": round(reply.latency_s, 3),
        }
        memory = getattr(reply, "memory", None)
        if memory is not None:
            verdict["memory"] = memory
        per_choice = [
            {
                "candidate": i,
                "score": round(cands[i].score, 4),
                "flagged": cands[i].disqualified,
                "contradicted": cands[i].contradicted,
            }
            for i in order
        ]
        return Completed(
            texts=texts,
            finish_reasons=["stop"] * len(texts),
            usage=usage,
            verdict=verdict,
            choice_verdicts=per_choice,
            user_text=user_text,
            first_piece_s=first[0] if first else None,
        )

    def _run_plain(
        self, req: ChatRequest, *, emit: Emit | None, cancelled: Callable[[], bool] | None
    ) -> Completed:
        messages = _plain_messages(req)
        s = self._sampling(req, self.plain_max_tokens)
        stop = req.stop_list or None
        with self.lock:
            if emit is not None and req.n == 1:
                pieces: list[str] = []

                def keep(p: str) -> None:
                    pieces.append(p)
                    emit(0, p)

                _pump(self.backend.stream(messages, n=1, stop=stop, **s), None, keep, cancelled)
                texts = ["".join(pieces)]
                usage: dict[str, int] = {}
            else:
                gen = self.backend.generate(messages, n=req.n, stop=stop, **s)
                texts, usage = list(gen.texts), dict(gen.usage)
        if emit is not None and req.n > 1:
            for i, text in enumerate(texts):
                for piece in _words(text):
                    if cancelled is not None and cancelled():
                        raise Cancelled
                    emit(i, piece)
        prompt = int(usage.get("prompt_tokens") or 0) or sum(
            count_tokens(self.backend, m["content"]) for m in messages
        )
        completion = int(usage.get("completion_tokens") or 0) or sum(
            count_tokens(self.backend, t) for t in texts
        )
        return Completed(
            texts=texts,
            finish_reasons=["stop"] * len(texts),
            usage={
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        )


class Cancelled(Exception):
    """The client went away mid-stream (nothing is stored)."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _options(req: ChatRequest) -> dict[str, float]:
    """``top_p`` and the penalties the request sets (passed on where the backend has them)."""
    names = ("top_p", "presence_penalty", "frequency_penalty")
    return {k: getattr(req, k) for k in names if getattr(req, k) is not None}


def _system_text(req: ChatRequest) -> str:
    """The client's own system (and developer) messages, joined: a front-end's main prompt."""
    parts = [m.text.strip() for m in req.messages if m.role in ("system", "developer")]
    return "\n\n".join(p for p in parts if p)


def with_client_system(persona: Persona, text: str) -> Persona:
    """``persona`` with the client's system text among its card instructions (in place of
    ``{{original}}`` where the card's ``system_prompt`` has it, as Card V2 defines, else
    after it). The agent prompt fences card instructions as untrusted data below consona's
    rules, so a front-end's main prompt shapes the reply but cannot change the rules.

    >>> with_client_system(Persona(name="Mira", system_prompt="Be terse. {{original}}"),
    ...                    "Write in the present tense.").system_prompt
    'Be terse. Write in the present tense.'
    """
    if not text:
        return persona
    own = persona.system_prompt or ""
    pattern = re.compile(r"\{\{\s*original\s*\}\}", re.I)
    if pattern.search(own):
        merged = pattern.sub(lambda _m: text, own)
    else:
        merged = f"{own.strip()}\n\n{text}" if own.strip() else text
    return persona.model_copy(update={"system_prompt": merged})


def _turns(req: ChatRequest, bot: str) -> tuple[list[Turn], str]:
    """The conversation as agent turns (system messages go to the persona's card
    instructions, see ``with_client_system``; tool messages are left out); the last one
    must be the user's."""
    turns: list[Turn] = []
    for m in req.messages:
        if m.role == "user":
            turns.append(Turn(speaker="user", text=m.text))
        elif m.role == "assistant" and m.text.strip():
            turns.append(Turn(speaker=bot, text=m.text))
    if not turns or turns[-1].speaker != "user":
        raise APIError(
            400,
            "The last message must be the user's",
            code="invalid_request",
            param="messages",
            hint="end messages with {'role': 'user', 'content': ...}",
        )
    if not turns[-1].text.strip():
        raise APIError(
            400,
            "The user's message is empty",
            code="invalid_request",
            param="messages",
            hint="send some text",
        )
    return turns, turns[-1].text


def _plain_messages(req: ChatRequest) -> list[dict[str, str]]:
    out = []
    for m in req.messages:
        role = "system" if m.role in ("system", "developer") else m.role
        if role in ("system", "user", "assistant"):
            out.append({"role": role, "content": m.text})
    if not any(m["role"] == "user" for m in out):
        raise APIError(400, "No user message to answer", code="invalid_request", param="messages")
    return out


def memory_user(user: str, owner: str) -> str:
    """The memory store's user name for ``user`` under the API key whose digest is
    ``owner``: with keys on, each key has its own users (one key cannot read or write
    what another key's "alice" said); without keys, the plain name, shared with
    ``consona chat --user``.

    >>> memory_user("alice", "")
    'alice'
    >>> memory_user("alice", "3f2a9c0d11e4b5a6c7d8")
    'alice@key-3f2a9c0d11e4'
    """
    return f"{user}@key-{owner[:12]}" if owner else user


def _words(text: str) -> Iterator[str]:
    for i, word in enumerate(text.split(" ")):
        yield word if i == 0 else " " + word


def _pump(
    pieces: Iterator[str],
    stop: list[str] | None,
    out: Callable[[str], None],
    cancelled: Callable[[], bool] | None,
) -> None:
    """Pass pieces to ``out`` until a stop string (text that may begin one is held back)
    or the client leaves; the stream is run to its end so the agent records its reply."""
    stops = [s for s in stop or [] if s]
    held, done = "", False
    for piece in pieces:
        if cancelled is not None and cancelled():
            close = getattr(pieces, "close", None)
            if callable(close):
                close()
            raise Cancelled
        if done or not piece:
            continue
        if not stops:
            out(piece)
            continue
        held += piece
        cut = apply_stop(held, stops)
        if len(cut) < len(held):
            if cut:
                out(cut)
            held, done = "", True
            continue
        keep = max((k for s in stops for k in range(1, len(s)) if held.endswith(s[:k])), default=0)
        if len(held) > keep:
            out(held[: len(held) - keep])
            held = held[len(held) - keep :]
    if held and not done:
        out(held)
