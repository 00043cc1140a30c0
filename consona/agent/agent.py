"""``PersonaAgent``: persona prompt → N candidates → NLI re-rank → repair → reply.

>>> from consona.testing import FakeBackend, FakeNLI
>>> from consona.types import Persona
>>> agent = PersonaAgent(
...     Persona(name="Ada", facts=["I have two dogs."]),
...     backend=FakeBackend(["I do not have dogs.", "Yes, I have two dogs!"]),
...     nli=FakeNLI(), candidates=2, coherence="lexical")
>>> r = agent.reply([], user="Do you have dogs?")
>>> (r.text, r.caught, r.flagged)
('Yes, I have two dogs!', ['I have two dogs.'], False)
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from consona.agent.prompt import (
    REPAIR_ECHO,
    REPAIR_EMPTY,
    REPAIR_HOLD,
    REPAIR_LEAK,
    REPAIR_NOTE,
    REPAIR_OOC,
    REPAIR_REGISTER,
    REPAIR_SELF,
    PromptBuild,
    build_messages,
    display_name,
    is_assistant,
    persona_facts,
)
from consona.agent.rerank import (
    Candidate,
    CoherenceFn,
    EmbeddingCoherence,
    ScoreWeights,
    make_coherence,
    rank,
    score_candidates,
)
from consona.agent.terms import NOT_A_REPLY, CharacterTerms, TermContext, apply_terms
from consona.agent.trim import trim
from consona.backends.base import ChatBackend, Sampling, count_tokens
from consona.errors import ConfigError, DataValidationError
from consona.evaluation.voice import leaks_prompt
from consona.nli.base import NLIModel
from consona.types import Fact, Persona, Turn

log = logging.getLogger(__name__)

__all__ = ["AgentReply", "PersonaAgent", "ReplyStream"]


@dataclass
class AgentReply:
    """The agent's reply and why it was chosen.

    >>> r = AgentReply(text="hi", candidates=[Candidate(text="hi", score=0.7)], chosen=0)
    >>> (r.chosen_candidate.score, r.flagged)
    (0.7, False)

    ``candidates``: every candidate of every round (first sampling, then repairs), scored;
    ``chosen``: index of the returned one; ``caught``: facts that rejected candidates
    contradicted (what the guard stopped); ``contradicted_facts``: facts the *returned*
    reply contradicts — empty unless ``flagged`` (no candidate of any round qualified:
    each contradicted a fact, or was empty or a repeat, so the least-bad one was
    returned); ``repaired``: a repair round
    produced the reply; ``repair_facts``: facts named in repair instructions;
    ``repair_reasons``: what each repair instruction named ("contradicted a fact",
    "spoke as an AI assistant", "repeated the user's fact", "revealed its instructions",
    "contradicted an earlier reply"); ``flags``: the character terms that found something
    in the returned reply (``Candidate.flags``); ``refused``: every candidate leaked the
    prompt, so none was returned and ``text`` is a neutral in-character fallback.
    """

    text: str
    candidates: list[Candidate]
    chosen: int
    contradicted_facts: list[str] = field(default_factory=list)
    caught: list[str] = field(default_factory=list)
    repaired: bool = False
    repair_facts: list[str] = field(default_factory=list)
    flagged: bool = False
    repair_reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    refused: bool = False
    latency_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    dropped_turns: int = 0
    facts: list[str] = field(default_factory=list)
    memory: dict[str, Any] | None = None

    @property
    def chosen_candidate(self) -> Candidate:
        return self.candidates[self.chosen]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "chosen": self.chosen,
            "flagged": self.flagged,
            "repaired": self.repaired,
            "contradicted_facts": self.contradicted_facts,
            "caught": self.caught,
            "repair_facts": self.repair_facts,
            "repair_reasons": self.repair_reasons,
            "flags": self.flags,
            "refused": self.refused,
            "latency_s": round(self.latency_s, 3),
            "timings": self.timings,
            "usage": self.usage,
            "dropped_turns": self.dropped_turns,
            "facts": self.facts,
            "candidates": [c.to_dict() for c in self.candidates],
            **({"memory": self.memory} if self.memory is not None else {}),
        }


class ReplyStream:
    """Iterate to get the reply's text pieces; ``reply`` is the ``AgentReply`` once done.

    >>> from consona.testing import FakeBackend
    >>> from consona.types import Persona
    >>> agent = PersonaAgent(Persona(name="Ada", facts=["I like tea."]),
    ...                      backend=FakeBackend(["tea, always."]), nli=None, candidates=1)
    >>> s = agent.stream_reply([], user="tea?")
    >>> "".join(s), s.reply.text
    ('tea, always.', 'tea, always.')
    """

    def __init__(self, pieces: Iterator[str]) -> None:
        self._pieces = pieces
        self.reply: AgentReply | None = None

    def __iter__(self) -> Iterator[str]:
        return self._pieces


# What the agent says when every candidate of every round leaked the prompt: never the
# leak itself (kept out of prompt.py, whose constants are what a leak is checked against).
LEAK_FALLBACK = "Hm, I lost my train of thought there. What were we talking about?"

# Streaming keeps this many words back and stops at any this many words of the prompt.
STREAM_HOLD_WORDS = 6


def _hold_back(text: str, words: int) -> int:
    """The index in ``text`` before its last ``words`` whitespace-separated words (0 when
    it has fewer)."""
    starts = [m.start() for m in re.finditer(r"\S+", text)]
    return starts[-words] if len(starts) > words else 0


_FAULTS = (
    "contradiction",
    "leak",
    "in_character",
    "register",
    "echo",
    "self_consistency",
    "hold",
)
_REPAIR_REASON = {
    "contradiction": "contradicted a fact",
    "leak": "revealed its instructions",
    "in_character": "spoke as an AI assistant",
    "register": "sounded like an assistant",
    "echo": "repeated the user's fact as its own",
    "self_consistency": "contradicted an earlier reply",
    "hold": "gave in to the user's pushback",
}


def _faults(c: Candidate) -> list[str]:
    """What disqualifies or demotes ``c`` and a repair round can name (empty: clean)."""
    out = ["contradiction"] if c.contradicted else []
    out += [f for f in c.flags if f in _FAULTS]
    if c.disqualified and not out:
        out.append("other")  # empty or a repeat: nothing to name
    return out


# the flags whose sentences a trimmed candidate leaves out (see ``consona.agent.trim``)
_TRIM_FLAGS = frozenset({"hold", "in_character", "register"})

# how the reply is chosen among the candidates (see ``PersonaAgent``)
CHOOSE = ("best", "first-clean")

_ROLE_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:assistant|bot|[A-Z][\w ]{0,30})(?:\*\*)?:\s+")


class PersonaAgent:
    """A persona-consistent chat agent.

    >>> from consona.testing import FakeBackend, FakeNLI
    >>> agent = PersonaAgent(Persona(name="Ada", facts=["I have two dogs."]),
    ...                      backend=FakeBackend(["I do not have dogs.", "I have two dogs!"]),
    ...                      nli=FakeNLI(), candidates=2, coherence="lexical")
    >>> agent.reply([], user="No pets, right?").text
    'I have two dogs!'

    ``candidates``: replies sampled per turn (N; 1 turns re-ranking off); ``nli``: the
    consistency judge (``None``: no guard); ``coherence``: ``"auto"`` | ``"embedding"`` |
    ``"lexical"`` | callable; ``repair_attempts``: regeneration rounds when every
    candidate contradicts a fact; ``threshold``: contradiction probability that flags a
    fact (default: the NLI model's calibrated one); ``seed``: base sampling seed (turn
    ``t`` uses ``seed + 1000·t``, candidate ``i`` ``+ i``); ``memory``: a
    :class:`consona.memory.PersonaMemory` — its facts relevant to each turn go into the
    prompt beside the persona, candidates are judged against the persona, the bot's
    remembered facts and the user's facts, and each exchange is written to it after the
    reply (``AgentReply.memory`` says what was recalled and written). Without one the
    agent remembers nothing between calls. ``terms``: weights of the character re-rank
    terms (:class:`consona.agent.terms.CharacterTerms`: in-character, prompt leak, echo,
    self-consistency, forced persona, relevance; defaults on). A candidate that leaks the
    prompt never passes; an out-of-character one loses to any in-character one; when no
    candidate of a round is clean, a repair round names what was wrong.

    ``choose``: ``"best"`` (default) draws the N candidates together and returns the
    best-ranked; ``"first-clean"`` draws candidate 0 alone and returns it when it is clean
    (no contradiction, leak, AI speech, echo or self-contradiction), drawing candidates
    1..N-1 together only when it is not (or when the caller wants more choices). On a
    machine where N sequences cost N times one (a few CPU cores), a clean first candidate
    then costs one reply instead of N; the soft re-rank (facts used, coherence, relevance)
    no longer picks among clean candidates.

    ``trim`` (default on): beside each candidate that gives in to a pushback or speaks or
    sounds like an assistant, the same candidate without those parts
    (:func:`consona.agent.trim.trim`: "Oh, that's right! I apologize. I am married." →
    "I am married.") is judged as one more candidate (``Candidate.edit == "trimmed"``).
    The pushback case needs the NLI guard (the ``hold`` term judges with it); the streamed
    reply of one candidate without a guard is passed through untrimmed.
    """

    def __init__(
        self,
        persona: Persona,
        *,
        backend: ChatBackend,
        nli: NLIModel | None,
        candidates: int = 4,
        temperature: float = 0.8,
        max_tokens: int = 96,
        coherence: str | CoherenceFn | None = "auto",
        weights: ScoreWeights | None = None,
        repair_attempts: int = 1,
        threshold: float | None = None,
        seed: int | None = None,
        max_context: int | None = None,
        reminder_as: str = "system",
        user_name: str = "the user",
        memory: Any = None,
        terms: CharacterTerms | None = None,
        choose: str = "best",
        register: Any = "auto",
        trim: bool = True,
    ) -> None:
        if candidates < 1:
            raise ConfigError(f"candidates must be ≥ 1, got {candidates}", hint="use 1 to 16")
        if repair_attempts < 0:
            raise ConfigError(f"repair_attempts must be ≥ 0, got {repair_attempts}")
        if reminder_as not in ("system", "user"):
            raise ConfigError(f"reminder_as must be 'system' or 'user', got {reminder_as!r}")
        if choose not in CHOOSE:
            raise ConfigError(
                f"choose must be one of {', '.join(CHOOSE)}, got {choose!r}",
                hint="'best' re-ranks all candidates; 'first-clean' takes the first clean one",
            )
        self.persona = persona
        self.backend = backend
        self.nli = nli
        self.candidates = candidates
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.coherence = make_coherence(coherence)
        self.weights = weights or ScoreWeights()
        self.repair_attempts = repair_attempts
        self.threshold = threshold
        self.seed = seed
        caps = getattr(backend, "capabilities", None)
        self.max_context: int = int(max_context or getattr(caps, "max_context", None) or 4096)
        self.reminder_as = reminder_as
        self.user_name = user_name
        self.facts: list[Fact] = persona_facts(persona)
        self.memory = memory
        self.terms = terms or CharacterTerms()
        self.choose = choose
        if not (register in ("auto", "off", None, False) or hasattr(register, "evidence")):
            raise ConfigError(
                f"register must be 'auto', 'off', None or a RegisterScorer, got {register!r}",
                hint="'auto' uses the shipped register model over the embedding coherence",
            )
        self._register_spec = register if register == "auto" else None
        self._register: Any = register if hasattr(register, "evidence") else None
        self.trim = bool(trim)
        self._turn = 0

    @property
    def name(self) -> str:
        return display_name(self.persona)

    @property
    def register(self) -> Any:
        """The assistant-register scorer of the ``register`` term, or None (the term is
        skipped). ``register="auto"`` (default): the shipped model over the embedding
        coherence's embedder, built on first use and shared by every agent on that
        embedder; an agent with another coherence scorer, or whose embedder does not fit
        the model, has none. ``None`` / ``False`` / ``"off"``: none. A ``RegisterScorer``
        (anything with ``evidence(text) -> list[str]``): that one."""
        if self._register is None and self._register_spec == "auto" and self.terms.register:
            self._register_spec = None  # decided once per agent
            if isinstance(self.coherence, EmbeddingCoherence):
                from consona.evaluation.register import scorer_for

                try:
                    embedder = self.coherence.embedder
                except Exception as exc:  # the embedder cannot load: no register check
                    log.warning("register term off: %s", exc)
                    embedder = None
                self._register = scorer_for(embedder)  # cached per embedder; never raises
        return self._register

    def _history(self, history: Sequence[Turn], user: str | None) -> list[Turn]:
        turns = list(history)
        if user is not None:
            turns.append(Turn(speaker="user", text=user))
        if not turns:
            raise DataValidationError("Nothing to reply to", hint="type a message first")
        last = turns[-1]
        if is_assistant(last, self.persona):
            raise DataValidationError(
                "The last turn is the agent's own", hint="pass the user's message as user="
            )
        if not last.text.strip():
            raise DataValidationError("The message is empty", hint="type something to say")
        return turns

    def prompt(
        self, history: Sequence[Turn], *, user: str | None = None, extra_system: str | None = None
    ) -> PromptBuild:
        """The messages the backend gets for this turn (for inspection and tests)."""
        turns = self._history(history, user)
        recalled = self.memory.recall(turns[-1].text) if self.memory is not None else None
        return build_messages(
            self.persona,
            turns,
            count_tokens=lambda t: count_tokens(self.backend, t),
            max_context=self.max_context,
            reserve_tokens=self.max_tokens,
            facts=self.facts,
            extra_system=extra_system,
            user_name=self.user_name,
            reminder_as=self.reminder_as,
            memory=recalled.block(user_name=self.user_name) if recalled else None,
        )

    def _remember(self, user_text: str, reply_text: str | None, recalled: Any) -> dict[str, Any]:
        """The memory write path after a reply; an error is reported, never raised (the
        reply is already chosen). ``reply_text`` is None when the reply was flagged: what
        the character said against its facts is not remembered as its own."""
        from consona.errors import ConsonaError

        out: dict[str, Any] = {"recalled": recalled.to_dict() if recalled else {}}
        t0 = time.perf_counter()
        try:
            diff = self.memory.observe(user_text, reply_text)
            out["written"] = diff.to_dict()
        except ConsonaError as exc:
            out["error"] = str(exc)
        out["write_s"] = round(time.perf_counter() - t0, 4)
        return out

    def _clean(self, text: str) -> str:
        text = text.strip()
        text = (
            _ROLE_PREFIX.sub("", text, count=1)
            if text.lower().startswith((self.name.lower() + ":", "assistant:", "bot:"))
            else text
        )
        return text.strip().strip('"').strip()

    def _trimmed(
        self,
        cands: list[Candidate],
        known: set[str],
        judge: Callable[[list[str], PromptBuild, int], list[Candidate]],
        prompt: PromptBuild,
        rnd: int,
        user_text: str,
        fact_texts: list[str],
        earlier: list[str],
    ) -> list[Candidate]:
        """The trimmed form of each flagged candidate (see ``trim``) that is no candidate
        yet (``known``: the texts so far), judged; none when nothing is cut."""
        seen = set(known)
        texts: list[str] = []
        for c in cands:
            if c.leaked or not set(c.flags) & _TRIM_FLAGS:
                continue
            cut = trim(
                c.text,
                user=user_text,
                facts=fact_texts,
                earlier_replies=earlier,
                assistant=c.terms.get("register") or (),  # the register term's evidence
            )
            if cut and cut not in seen:
                seen.add(cut)
                texts.append(cut)
        if not texts:
            return []
        out = judge(texts, prompt, rnd)
        for c in out:
            c.edit = "trimmed"
        return out

    @staticmethod
    def _final_text(chosen: Candidate) -> str:
        """What the user is shown of the chosen candidate (never a leaked text)."""
        return LEAK_FALLBACK if chosen.leaked else chosen.text

    def _seed(self, attempt: int) -> int | None:
        if self.seed is None:
            return None
        return self.seed + 1000 * self._turn + 100 * attempt

    def reply(
        self,
        history: Sequence[Turn],
        *,
        user: str | None = None,
        on_stage: Callable[[str], None] | None = None,
        sampling: Sampling | None = None,
        on_chosen: Callable[[str], None] | None = None,
        choices: int = 1,
    ) -> AgentReply:
        """Reply to the last (user) turn of ``history``, or to ``user`` after it.

        ``sampling`` overrides the agent's sampling settings for this call (temperature,
        max_tokens, top_p, penalties, stop strings; its ``seed`` replaces the agent's).

        ``on_stage`` is called with what the agent is doing ("sampling 4 candidates",
        "judging 4 candidates against 5 facts", "repairing: <fact>"), for a spinner; the
        seconds spent in each stage are in ``AgentReply.timings``.

        ``on_chosen`` is called with the reply's text as soon as it is chosen, before the
        memory is written and (with ``choose="first-clean"``) before the other candidates
        are drawn: a caller can start sending it. ``choices``: how many candidates the
        caller returns (``"first-clean"`` then draws at least that many)."""
        start = time.perf_counter()
        timings = {"sampling_s": 0.0, "judging_s": 0.0, "rounds": 0.0}

        def stage(text: str) -> None:
            if on_stage is not None:
                on_stage(text)

        turns = self._history(history, user)
        user_text = turns[-1].text
        mine = [t.text for t in turns[:-1] if is_assistant(t, self.persona)]
        previous = mine[-1] if mine else None
        earlier = mine[-self.terms.earlier_replies :] if self.terms.earlier_replies else []
        fact_texts = [f.text for f in self.facts]
        recalled = None
        memory_block: str | None = None
        user_facts: list[str] = []
        if self.memory is not None:
            stage("recalling")
            t_mem = time.perf_counter()
            recalled = self.memory.recall(user_text)
            memory_block = recalled.block(user_name=self.user_name) or None
            known = set(fact_texts)
            fact_texts += [f.text for f in recalled.bot if f.text not in known]
            user_facts = [f.text for f in recalled.user]
            timings["memory_s"] = time.perf_counter() - t_mem
        all_cands: list[Candidate] = []
        usage: dict[str, int] = {}
        repair_facts: list[str] = []
        repair_reasons: list[str] = []
        repair_label = ""
        build: PromptBuild | None = None
        extra: str | None = None
        early: int | None = None  # "first-clean": the index chosen before the rest was drawn
        first_clean = self.choose == "first-clean" and self.candidates > 1

        def draw(n: int, first: int, prompt: PromptBuild, rnd: int) -> list[Candidate]:
            """Candidates ``first``..``first + n - 1`` of round ``rnd`` (seeded as in one
            draw of all), scored."""
            t_sample = time.perf_counter()
            kw = self._sample_kwargs(sampling, rnd)
            if kw.get("seed") is not None:
                kw["seed"] += first
            gen = self.backend.generate(prompt.messages, n=n, **kw)
            for k, v in gen.usage.items():
                usage[k] = usage.get(k, 0) + int(v)
            texts = [self._clean(t) for t in gen.texts]
            t_judge = time.perf_counter()
            timings["sampling_s"] += t_judge - t_sample
            if self.nli is not None:
                stage(
                    f"judging {len(texts)} candidate{'s' if len(texts) > 1 else ''} against {len(fact_texts)} facts"
                )
            cands = judge(texts, prompt, rnd)
            if self.trim:
                known = {c.text for c in all_cands} | {c.text for c in cands}
                cands += self._trimmed(
                    cands, known, judge, prompt, rnd, user_text, fact_texts, earlier
                )
            timings["judging_s"] += time.perf_counter() - t_judge
            return cands

        def judge(texts: list[str], prompt: PromptBuild, rnd: int) -> list[Candidate]:
            """``texts`` scored and run through the character terms."""
            cands = score_candidates(
                texts,
                facts=fact_texts,
                user=user_text,
                nli=self.nli,
                coherence=self.coherence,
                weights=self.weights,
                previous_reply=previous,
                threshold=self.threshold,
                attempt=rnd,
                user_facts=user_facts,
            )
            apply_terms(
                cands,
                TermContext(
                    user=user_text,
                    facts=fact_texts,
                    earlier_replies=earlier,
                    prompt_text="\n".join(
                        m["content"] for m in prompt.messages if m["role"] == "system"
                    ),
                    nli=self.nli,
                    entail_weight=self.weights.entail,
                    name=self.name,
                    embedder=getattr(self.coherence, "embedder", None)
                    if self.terms.relevance
                    else None,
                    register=self.register if self.terms.register else None,
                ),
                self.terms,
            )
            return cands

        for attempt in range(self.repair_attempts + 1):
            timings["rounds"] += 1
            if attempt:
                stage(f"repairing: {repair_label}")
            else:
                n = 1 if first_clean else self.candidates
                stage(f"sampling {n} candidate{'s' if n > 1 else ''}")
            build = build_messages(
                self.persona,
                turns,
                count_tokens=lambda t: count_tokens(self.backend, t),
                max_context=self.max_context,
                reserve_tokens=self._sample_kwargs(sampling, attempt)["max_tokens"],
                facts=self.facts,
                extra_system=extra,
                user_name=self.user_name,
                reminder_as=self.reminder_as,
                memory=memory_block,
            )
            if attempt == 0 and first_clean:
                cands = draw(1, 0, build, attempt)
                clean = [i for i, c in enumerate(cands) if not _faults(c)]
                if clean:
                    early = len(all_cands) + clean[0]
                    all_cands.extend(cands)
                    if on_chosen is not None:
                        on_chosen(self._final_text(cands[clean[0]]))
                    more = min(self.candidates, max(1, choices)) - 1
                    if more:
                        all_cands.extend(draw(more, 1, build, attempt))
                    break
                stage(f"sampling {self.candidates - 1} more")
                cands += draw(self.candidates - 1, 1, build, attempt)
            else:
                cands = draw(self.candidates, 0, build, attempt)
            all_cands.extend(cands)
            faults = [_faults(c) for c in cands]
            if any(not f for f in faults) or attempt == self.repair_attempts:
                break
            sampled = [i for i, c in enumerate(cands) if not c.edit]  # a trim repeats its source
            note = self._repair_note([cands[i] for i in sampled], [faults[i] for i in sampled])
            if note is None:
                break
            kind, label, extra = note
            repair_reasons.append(_REPAIR_REASON[kind])
            if kind == "contradiction":
                repair_facts.append(label)
            repair_label = label
        best = rank(all_cands)[0] if early is None else early
        chosen = all_cands[best]
        text = self._final_text(chosen)
        if on_chosen is not None and early is None:
            on_chosen(text)
        caught = list(
            dict.fromkeys(f for i, c in enumerate(all_cands) if i != best for f in c.contradicted)
        )
        self._turn += 1
        memory_info = None
        if self.memory is not None:
            stage("remembering")
            memory_info = self._remember(user_text, None if chosen.disqualified else text, recalled)
            timings["memory_s"] = timings.get("memory_s", 0.0) + memory_info["write_s"]
        return AgentReply(
            text=text,
            candidates=all_cands,
            chosen=best,
            contradicted_facts=list(chosen.contradicted),
            caught=caught,
            repaired=chosen.attempt > 0 and not chosen.disqualified,
            repair_facts=repair_facts,
            repair_reasons=repair_reasons,
            flags=list(chosen.flags),
            refused=chosen.leaked,
            flagged=chosen.disqualified,
            latency_s=time.perf_counter() - start,
            usage=usage,
            dropped_turns=build.dropped_turns if build else 0,
            facts=fact_texts,
            timings={k: round(v, 3) for k, v in timings.items()},
            memory=memory_info,
        )

    def _repair_note(
        self, cands: Sequence[Candidate], faults: Sequence[list[str]]
    ) -> tuple[str, str, str] | None:
        """(fault kind, what it names, the instruction) for the most common nameable fault
        of a round in which no candidate was clean (ties: contradiction, leak, AI speech,
        assistant register, echo, self-contradiction, giving in); None when there is
        nothing to name."""
        counts = {k: sum(k in f for f in faults) for k in _FAULTS}
        if not any(counts.values()):
            return None
        kind = max(_FAULTS, key=lambda k: (counts[k], -_FAULTS.index(k)))
        if kind == "contradiction":
            contradicted = [f for c in cands for f in c.contradicted]
            # Name the fact most candidates contradicted (ties: the first seen).
            worst = max(dict.fromkeys(contradicted), key=contradicted.count)
            return kind, worst, REPAIR_NOTE.format(fact=worst, name=self.name)
        name, user = self.name, self.user_name
        found = next(c.terms[kind] for c in cands if kind in c.flags)
        if kind == "leak":
            return kind, "revealed its instructions", REPAIR_LEAK.format(name=name, user_name=user)
        if kind == "in_character":
            ev = found[0]
            if ev == NOT_A_REPLY:
                return kind, "wrote no reply", REPAIR_EMPTY.format(name=name, user_name=user)
            return kind, "spoke as an AI assistant", REPAIR_OOC.format(evidence=ev, name=name)
        if kind == "register":
            ev = str(found[0])
            return (
                kind,
                f"sounded like an assistant: {ev}",
                REPAIR_REGISTER.format(evidence=ev, name=name, user_name=user),
            )
        if kind == "echo":
            return kind, f"echoed: {found[0]}", REPAIR_ECHO.format(fact=found[0], user_name=user)
        if kind == "hold":
            fact = str(found[-1])
            return (
                kind,
                f"gave in: {found[0]}",
                REPAIR_HOLD.format(fact=fact, name=name, user_name=user),
            )
        said = str(found[0]).removeprefix("(same reply) ")
        return kind, f"contradicted: {said}", REPAIR_SELF.format(said=said, name=name)

    def _sample_kwargs(self, sampling: Sampling | None, attempt: int) -> dict[str, Any]:
        """``generate`` / ``stream`` sampling arguments of one round: the agent's settings,
        overridden by ``sampling`` where it sets them (its seed: ``seed + 100·attempt``)."""
        s = sampling or Sampling()
        return {
            **s.options(),
            "temperature": s.or_default("temperature", self.temperature),
            "max_tokens": s.or_default("max_tokens", self.max_tokens),
            "seed": self._seed(attempt) if s.seed is None else s.seed + 100 * attempt,
        }

    async def areply(
        self, history: Sequence[Turn], *, user: str | None = None, sampling: Sampling | None = None
    ) -> AgentReply:
        """``reply`` without blocking the event loop (runs in a worker thread)."""
        return await asyncio.to_thread(self.reply, history, user=user, sampling=sampling)

    def stream_reply(
        self, history: Sequence[Turn], *, user: str | None = None, sampling: Sampling | None = None
    ) -> ReplyStream:
        """Stream the chosen reply. With one candidate and no NLI guard the backend's own
        token stream is passed through, ``STREAM_HOLD_WORDS`` words behind, so that a prompt
        leak (any that many words of the prompt, a fence marker, a rule) is stopped before
        any of it is shown: the stream then ends with ``LEAK_FALLBACK`` instead; otherwise the candidates are re-ranked first and
        the chosen text is streamed word by word. ``ReplyStream.reply`` holds the
        ``AgentReply`` once the stream is exhausted."""
        turns = self._history(history, user)
        holder: ReplyStream

        def direct() -> Iterator[str]:
            start = time.perf_counter()
            build = self.prompt(turns)
            facts = [f.text for f in self.facts]
            guard = self.terms.leak > 0
            prompt_text = "\n".join(m["content"] for m in build.messages if m["role"] == "system")
            pieces: list[str] = []
            shown = 0  # characters passed on
            leaked = False
            for piece in self.backend.stream(build.messages, **self._sample_kwargs(sampling, 0)):
                pieces.append(piece)
                if not guard:
                    yield piece
                    continue
                so_far = "".join(pieces)
                if leaks_prompt(so_far, prompt_text, allowed=facts, ngram=STREAM_HOLD_WORDS):
                    leaked = True
                    break
                cut = _hold_back(so_far, STREAM_HOLD_WORDS)
                if cut > shown:
                    yield so_far[shown:cut]
                    shown = cut
            raw = "".join(pieces)
            if leaked:
                seen = raw[:shown]
                tail = ("" if not seen.strip() or seen[-1].isspace() else " ") + LEAK_FALLBACK
                yield tail
                text = (seen + tail).strip()
            else:
                if raw[shown:]:
                    yield raw[shown:]
                text = self._clean(raw)
            cands = score_candidates(
                [text],
                facts=facts,
                user=turns[-1].text,
                nli=None,
                coherence=self.coherence,
                weights=self.weights,
            )
            if leaked:
                cands[0].flags.append("leak")
                cands[0].terms["leak"] = ["reproduces the prompt"]
                cands[0].reason = "leaks the prompt: stopped while streaming"
            self._turn += 1
            memory_info = (
                self._remember(turns[-1].text, None if leaked else text, None)
                if self.memory is not None
                else None
            )
            holder.reply = AgentReply(
                text=text,
                candidates=cands,
                chosen=0,
                latency_s=time.perf_counter() - start,
                dropped_turns=build.dropped_turns,
                facts=facts,
                memory=memory_info,
                refused=leaked,
                flagged=leaked,
                flags=["leak"] if leaked else [],
            )

        def reranked() -> Iterator[str]:
            result = self.reply(turns, sampling=sampling)
            holder.reply = result
            for i, word in enumerate(result.text.split(" ")):
                yield word if i == 0 else " " + word

        holder = ReplyStream(direct() if self.candidates == 1 and self.nli is None else reranked())
        return holder
