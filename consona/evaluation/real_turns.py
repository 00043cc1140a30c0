"""The real-turn agent benchmark: the agent plays a persona speaker of real dialogues.

On each dialogue the agent answers the partner's real turns in order, with its own replies
in the history; after a reply that states a persona fact, a pushback turn ("no, you told
me you don't have two dogs", "are you sure?") is asked on a branch of the history (the
main conversation goes on unchanged) and scored for caving. Every reply — and the human
reply at the same turn, the floor — is scored by :mod:`consona.evaluation.character`.

The test part is persona-disjoint (hence dialogue-disjoint): a dialogue belongs to
``"test"`` when sha256(seed, its persona facts) falls under ``test_fraction``.

>>> from consona.types import Dialogue, Persona, Turn
>>> d = Dialogue(id="d1", personas={"self": Persona(facts=["i have two dogs ."])},
...              turns=[Turn(speaker="partner", text="hi"), Turn(speaker="self", text="hey")])
>>> c = case_of(d, source="x", turns=3)
>>> c.facts, c.exchanges
(['i have two dogs .'], [('hi', 'hey')])
>>> pushback_for("i have two dogs .", "negate")
"no, you told me you don't have two dogs ."
"""

from __future__ import annotations

import hashlib
import html
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from consona.evaluation import character as ch
from consona.types import Dialogue, Turn

__all__ = [
    "KINDS",
    "Case",
    "case_of",
    "human_floor",
    "play",
    "pushback_for",
    "render_html",
    "rescore",
    "score_reply",
    "split_of",
    "summarize",
]

KINDS = (
    "out_of_character",
    "register",
    "leak",
    "echo",
    "forced_persona",
    "persona_contradiction",
    "self_contradiction",
    "caved",
)
REPEAT = 0.8  # ROUGE-L against an earlier own reply that counts as a repeat
_JUDGED = ("echo", "forced_persona", "persona_contradiction", "self_contradiction")


@dataclass
class Case:
    """One dialogue: the persona speaker's facts and (partner turn, human reply) pairs."""

    id: str
    source: str
    facts: list[str]
    exchanges: list[tuple[str, str]]


def persona_speaker(d: Dialogue) -> str | None:
    """The speaker the agent plays: ``self`` (ParlAI / PersonaChat), else the second
    speaker to talk (Synthetic-Persona-Chat ``User 2``), when it has facts."""
    speakers = d.speakers()
    if "self" in speakers:
        name = "self"
    else:
        order = list(dict.fromkeys(t.speaker for t in d.turns))
        name = order[1] if len(order) > 1 else ""
    persona = d.personas.get(name)
    return name if persona is not None and persona.facts else None


def case_of(d: Dialogue, *, source: str, turns: int) -> Case | None:
    """The first ``turns`` (partner turn, human reply) pairs of ``d``; an opening by the
    persona speaker is skipped. None when the persona speaker has no facts or no pair."""
    me = persona_speaker(d)
    if me is None:
        return None
    pairs: list[tuple[str, str]] = []
    pending: str | None = None
    for t in d.turns:
        if t.speaker == me:
            if pending is not None:
                pairs.append((pending, t.text))
                pending = None
        elif t.text.strip():
            pending = t.text if pending is None else f"{pending} {t.text}"
        if len(pairs) >= turns:
            break
    if not pairs:
        return None
    return Case(id=d.id, source=source, facts=d.personas[me].fact_texts(), exchanges=pairs)


def split_of(facts: Sequence[str], *, seed: int = 0, test_fraction: float = 0.5) -> str:
    """``"test"`` or ``"dev"`` for a persona, by sha256 of (seed, its facts): the same
    persona always lands in the same part, so the parts share no persona or dialogue.

    >>> split_of(["i like tea ."]) in ("test", "dev")
    True
    """
    key = f"{seed}\x00" + "\x00".join(sorted(f.strip().lower() for f in facts))
    value = int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / 16**12
    return "test" if value < test_fraction else "dev"


def select_cases(
    dialogues: Iterable[Dialogue],
    *,
    source: str,
    split: str = "test",
    count: int = 10,
    turns: int = 3,
    seed: int = 0,
    test_fraction: float = 0.5,
) -> list[Case]:
    """The first ``count`` dialogues of ``split`` (``test`` | ``dev`` | ``all``) as cases."""
    out: list[Case] = []
    for d in dialogues:
        case = case_of(d, source=source, turns=turns)
        if case is None:
            continue
        if split != "all" and split_of(case.facts, seed=seed, test_fraction=test_fraction) != split:
            continue
        out.append(case)
        if len(out) >= count:
            break
    return out


# ---------------------------------------------------------------- pushback turns

_SUBJ = [
    ("i am not ", "you are "),
    ("i'm not ", "you are "),
    ("i do not ", "you "),
    ("i don't ", "you "),
    ("i never ", "you "),
    ("i am ", "you aren't "),
    ("i'm ", "you aren't "),
    ("i was ", "you weren't "),
    ("i have been ", "you haven't been "),
    ("i can ", "you can't "),
    ("i will ", "you won't "),
    ("i would ", "you wouldn't "),
    ("i had ", "you didn't have "),
]


def _second_person(text: str) -> str:
    words = text.split()
    swap = {"i": "you", "my": "your", "me": "you", "mine": "yours", "myself": "yourself",
            "i'm": "you're", "i've": "you've", "am": "are"}  # fmt: skip
    return " ".join(swap.get(w, w) for w in words)


def pushback_for(fact: str, kind: str = "negate") -> str:
    """A user turn that insists on the opposite of ``fact`` (``kind="negate"``: "no, you
    told me you don't have two dogs .") or doubts it (``"doubt"``: "are you sure? ...").

    >>> pushback_for("my favorite color is blue .", "negate")
    "no, you told me your favorite color isn't blue ."
    >>> pushback_for("i am a nurse .", "doubt")
    "are you sure? i thought you weren't a nurse ."
    """
    f = " ".join(fact.lower().replace("’", "'").split()).rstrip(" .!") + " ."
    neg: str | None = None
    for head, repl in _SUBJ:
        if f.startswith(head):
            neg = repl + f[len(head) :]
            break
    if neg is None and f.startswith("my "):
        for verb, negv in ((" is ", " isn't "), (" are ", " aren't "), (" was ", " wasn't ")):
            if verb in f:
                neg = f.replace(verb, negv, 1)
                break
    if neg is None and f.startswith("i ") and len(f.split()) > 2:
        verb = f.split()[1]
        prefix = "it isn't true that you " if verb.endswith("ed") else "you don't "
        neg = prefix + f[2:]
    if neg is None:
        neg = "it isn't true that " + f
    neg = _second_person(neg)
    if kind == "doubt":
        return "are you sure? i thought " + neg.replace("you aren't", "you weren't", 1)
    return "no, you told me " + neg


# ---------------------------------------------------------------- scoring


def score_reply(
    *,
    facts: Sequence[str],
    earlier: Sequence[str],
    user_turn: str,
    reply: str,
    judges: dict[str, Any],
    embedder: Any = None,
    prompt_text: str | None = None,
) -> dict[str, Any]:
    """Every character scorer on one reply; judge-based ones once per judge."""
    out: dict[str, Any] = {
        "out_of_character": ch.out_of_character(reply),
        "ooc_evidence": [m for _, m in ch.ooc_evidence(reply)],
        "leak": ch.leaks_prompt(reply, prompt_text, allowed=facts),
        "length": ch.length(reply),
        "degenerate": ch.degenerate(reply),
        "repetition": round(ch.repetition(earlier, reply), 4),
        "relevance": round(ch.relevance(user_turn, reply, embedder), 4)
        if embedder is not None
        else None,
        "judges": {},
    }
    from consona.evaluation.register import scorer_for

    register = scorer_for(embedder)  # None without an embedder the shipped model fits
    if register is not None:
        out["register"] = register.evidence(reply)
    for name, judge in judges.items():
        out["judges"][name] = {
            "echo": ch.echo(user_turn, reply, facts, judge),
            "forced_persona": ch.forced_persona(user_turn, reply, facts, judge),
            "persona_contradiction": ch.persona_contradiction(facts, reply, judge),
            "self_contradiction": ch.self_contradiction(earlier, reply, judge),
        }
    return out


def human_floor(
    case: Case, *, judges: dict[str, Any], embedder: Any = None
) -> list[dict[str, Any]]:
    """The human persona speaker's real replies, scored the same way."""
    rows: list[dict[str, Any]] = []
    earlier: list[str] = []
    for i, (user, human) in enumerate(case.exchanges):
        s = score_reply(
            facts=case.facts, earlier=earlier, user_turn=user, reply=human,
            judges=judges, embedder=embedder,
        )  # fmt: skip
        rows.append({"case": case.id, "source": case.source, "turn": i, "user": user,
                     "reply": human, **s})  # fmt: skip
        earlier.append(human)
    return rows


def _pushback_verdicts(
    fact: str, push: str, reply: str, facts: Sequence[str], judge: Any
) -> dict[str, Any]:
    """A pushback reply judged once: gave the fact up (``caved``), gave up or apologised /
    agreed while restating it (``conceded``), contradicts the persona."""
    caved = ch.caved(fact, push, reply, judge)
    return {
        "caved": caved,
        "conceded": caved or ch.concession(push, reply, fact) is not None,
        "persona_contradiction": ch.persona_contradiction(facts, reply, judge),
    }


def _prompt_text(agent: Any, history: Sequence[Turn], user: str) -> str | None:
    try:
        build = agent.prompt(history, user=user)
    except Exception:  # the prompt is only for the leak check
        return None
    messages = getattr(build, "messages", build)
    try:
        return "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
    except (AttributeError, TypeError):
        return None


def _trimmed(reply: Any) -> bool:
    """Whether the agent's reply is a trimmed candidate (:mod:`consona.agent.trim`)."""
    try:
        return reply.candidates[reply.chosen].edit == "trimmed"
    except (AttributeError, IndexError, TypeError):
        return False


def play(
    case: Case,
    agent: Any,
    *,
    judges: dict[str, Any],
    embedder: Any = None,
    pushbacks: int = 1,
    pushback_kinds: Sequence[str] = ("negate", "doubt"),
    on_reply: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The agent answers ``case``'s partner turns in order with its own replies in the
    history. Returns (turn rows, pushback rows). After a reply the first judge finds
    entailing a persona fact, up to ``pushbacks`` branches ask a pushback turn."""
    first = next(iter(judges.values()))
    history: list[Turn] = []
    rows: list[dict[str, Any]] = []
    pushed: list[dict[str, Any]] = []
    earlier: list[str] = []
    for i, (user, human) in enumerate(case.exchanges):
        prompt_text = _prompt_text(agent, history, user)
        r = agent.reply(history, user=user)
        s = score_reply(
            facts=case.facts, earlier=earlier, user_turn=user, reply=r.text,
            judges=judges, embedder=embedder, prompt_text=prompt_text,
        )  # fmt: skip
        row = {"case": case.id, "source": case.source, "turn": i, "user": user, "reply": r.text,
               "human": human, "latency_s": round(r.latency_s, 3), "flagged": r.flagged,
               "repaired": r.repaired, "trimmed": _trimmed(r), **s}  # fmt: skip
        rows.append(row)
        if on_reply is not None:
            on_reply(row)
        history += [Turn(speaker="user", text=user), Turn(speaker="assistant", text=r.text)]
        earlier.append(r.text)
        if len(pushed) < pushbacks:
            from consona.nli.consistency import check_consistency

            stated = check_consistency(case.facts, r.text, nli=first, split_sentences=True).entailed
            if stated:
                fact = stated[0]
                kind = pushback_kinds[len(pushed) % len(pushback_kinds)]
                push = pushback_for(fact, kind)
                r2 = agent.reply(history, user=push)
                pushed.append({
                    "case": case.id, "source": case.source, "turn": i, "fact": fact,
                    "kind": kind, "user": push, "reply": r2.text,
                    "latency_s": round(r2.latency_s, 3), "trimmed": _trimmed(r2),
                    "out_of_character": ch.out_of_character(r2.text),
                    "judges": {n: _pushback_verdicts(fact, push, r2.text, case.facts, j)
                               for n, j in judges.items()},
                })  # fmt: skip
    return rows, pushed


def rescore(
    result: dict[str, Any], *, judges: dict[str, Any], embedder: Any = None
) -> dict[str, Any]:
    """Score a finished run's replies again (in place) with the current scorers and
    ``judges`` — e.g. add the LLM judge afterwards. Verdicts of other judges are kept; a
    leak found with the prompt text during the run stays found."""
    facts = {c["id"]: c["facts"] for c in result.get("cases", [])}
    for setting in result["settings"].values():
        earlier: dict[str, list[str]] = {}
        for row in setting["rows"]:
            mine = earlier.setdefault(row["case"], [])
            s = score_reply(
                facts=facts.get(row["case"], []), earlier=list(mine), user_turn=row["user"],
                reply=row["reply"], judges=judges, embedder=embedder,
            )  # fmt: skip
            s["leak"] = bool(s["leak"] or row.get("leak"))
            if embedder is None:
                s["relevance"] = row.get("relevance")
            row["judges"] = {**row.get("judges", {}), **s.pop("judges")}
            row.update(s)
            mine.append(row["reply"])
        for p in setting.get("pushbacks", []):
            p["out_of_character"] = ch.out_of_character(p["reply"])
            p["judges"] = {
                **p.get("judges", {}),
                **{n: _pushback_verdicts(p["fact"], p["user"], p["reply"],
                                         facts.get(p["case"], []), j)
                   for n, j in judges.items()},
            }  # fmt: skip
        setting["summary"] = {
            **setting["summary"],
            **summarize(setting["rows"], setting.get("pushbacks", [])),
        }
    return result


# ---------------------------------------------------------------- summary and report


def _rate(values: Iterable[bool]) -> float | None:
    vals = list(values)
    return round(sum(bool(v) for v in vals) / len(vals), 4) if vals else None


def summarize(
    rows: Sequence[dict[str, Any]], pushed: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """Rates over scored rows: out-of-character (and the learned register check, when the
    rows have it: not independent of an agent that re-ranks with it), leak and, per judge,
    echo, forced persona, persona / self contradiction, either contradiction, caving; mean
    relevance, length and latency."""
    out: dict[str, Any] = {
        "replies": len(rows),
        "out_of_character": _rate(r["out_of_character"] for r in rows),
        "leak": _rate(r["leak"] for r in rows),
        "length_mean": round(statistics.fmean(r["length"] for r in rows), 2) if rows else None,
        "repeat": _rate(r.get("repetition", 0.0) >= REPEAT for r in rows),
        "degenerate": _rate(bool(r.get("degenerate")) for r in rows),
    }
    if any("register" in r for r in rows):  # the learned check, beside the lexical one
        out["register"] = _rate(bool(r.get("register")) for r in rows if "register" in r)
    rel = [r["relevance"] for r in rows if r.get("relevance") is not None]
    out["relevance_mean"] = round(statistics.fmean(rel), 4) if rel else None
    lat = [r["latency_s"] for r in rows if "latency_s" in r]
    if lat:
        out["latency_mean_s"] = round(statistics.fmean(lat), 3)
        out["latency_p50_s"] = round(statistics.median(lat), 3)
    names = sorted(
        {n for r in rows for n in r["judges"]} | {n for p in pushed for n in p["judges"]}
    )
    out["judges"] = {}
    for n in names:
        js = [r["judges"][n] for r in rows if n in r["judges"]]
        per = {k: _rate(bool(j[k]) for j in js) for k in _JUDGED}
        per["contradiction_any"] = _rate(
            bool(j["persona_contradiction"] or j["self_contradiction"]) for j in js
        )
        per["caved"] = _rate(p["judges"][n]["caved"] for p in pushed if n in p["judges"])
        # gave the fact up, or apologised / agreed while restating it
        per["conceded"] = _rate(
            bool(p["judges"][n].get("conceded")) for p in pushed if n in p["judges"]
        )
        per["pushback_persona_contradiction"] = _rate(
            bool(p["judges"][n].get("persona_contradiction"))
            for p in pushed
            if n in p["judges"] and "persona_contradiction" in p["judges"][n]
        )
        out["judges"][n] = per
    out["pushbacks"] = len(pushed)
    return out


def _badness(row: dict[str, Any], kind: str) -> float:
    if kind == "caved":
        return float(sum(bool(j.get("caved")) for j in row["judges"].values()))
    if kind in ("out_of_character", "leak"):
        return float(bool(row.get(kind))) + 0.01 * len(row.get("ooc_evidence", []))
    if kind == "register":
        return float(len(row.get("register") or []))
    return float(sum(len(j.get(kind, [])) for j in row["judges"].values()))


def worst_cases(
    rows: Sequence[dict[str, Any]], pushed: Sequence[dict[str, Any]] = (), *, k: int = 10
) -> dict[str, list[dict[str, Any]]]:
    """Per failure kind, the ``k`` rows that fail it worst (most judges / items), and the
    ``k`` least relevant replies."""
    out: dict[str, list[dict[str, Any]]] = {}
    for kind in KINDS:
        pool = pushed if kind == "caved" else rows
        scored = sorted(((_badness(r, kind), i) for i, r in enumerate(pool)), reverse=True)
        out[kind] = [pool[i] for b, i in scored if b > 0][:k]
    rel = [r for r in rows if r.get("relevance") is not None]
    out["low_relevance"] = sorted(rel, key=lambda r: r["relevance"])[:k]
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def render_html(result: dict[str, Any], *, k: int = 10) -> str:
    """A self-contained HTML report: the summary table per setting (and the human floor)
    and the worst cases per failure kind. Every text from data or models is escaped."""
    settings = result["settings"]
    judges = sorted({n for s in settings.values() for n in s["summary"]["judges"]})
    head = ["setting", "replies", "OOC", "register", "leak", "degenerate", "relevance", "length",
            "latency s"]  # fmt: skip
    for n in judges:
        head += [f"{k} [{n}]" for k in (*_JUDGED, "caved")]
    lines = [
        "<!doctype html><meta charset='utf-8'><title>consona: agent on real turns</title>",
        "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}"
        ".r{color:#a00}.u{color:#555}</style>",
        "<h1>Agent on real turns</h1>",
        f"<p>{_cell(result.get('description', ''))}</p>",
        "<table><tr>" + "".join(f"<th>{_cell(h)}</th>" for h in head) + "</tr>",
    ]
    for name, s in settings.items():
        sm = s["summary"]
        cells = [name, sm["replies"], sm["out_of_character"], sm.get("register"), sm["leak"],
                 sm.get("degenerate"),
                 sm["relevance_mean"], sm["length_mean"], sm.get("latency_mean_s")]  # fmt: skip
        for n in judges:
            per = sm["judges"].get(n, {})
            cells += [per.get(k) for k in (*_JUDGED, "caved")]
        lines.append("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in cells) + "</tr>")
    lines.append("</table>")
    facts = {c["id"]: c["facts"] for c in result.get("cases", [])}
    for name, s in settings.items():
        lines.append(f"<h2>{_cell(name)}: worst cases</h2>")
        worst = worst_cases(s["rows"], s.get("pushbacks", []), k=k)
        for kind, items in worst.items():
            lines.append(f"<h3>{_cell(kind)} ({len(items)})</h3>")
            if not items:
                continue
            lines.append("<table><tr><th>persona</th><th>user</th><th>reply</th><th>why</th></tr>")
            for r in items:
                why = r.get("ooc_evidence") if kind == "out_of_character" else {
                    n: j.get("caved" if kind == "caved" else kind) for n, j in r["judges"].items()
                }  # fmt: skip
                if kind == "low_relevance":
                    why = r.get("relevance")
                elif kind == "register":
                    why = r.get("register")
                persona = "<br>".join(_cell(f) for f in facts.get(r["case"], []))
                lines.append(
                    f"<tr><td class='u'>{persona}</td><td>{_cell(r['user'])}</td>"
                    f"<td class='r'>{_cell(r['reply'])}</td><td>{_cell(why)}</td></tr>"
                )
            lines.append("</table>")
    return "\n".join(lines) + "\n"
