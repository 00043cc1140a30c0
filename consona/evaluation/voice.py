"""Lexical in-character checks (no judge): out-of-character speech and prompt leaks.

Re-exported by :mod:`consona.evaluation.character`.

>>> out_of_character("As an AI model, I don't have personal preferences.")
True
>>> leaks_prompt("<<card>> Description: Mira bakes.")
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from consona.text import normalize

__all__ = ["leaks_prompt", "ooc_evidence", "out_of_character"]

# ---------------------------------------------------------------- out of character

# Words after "AI" that make it a topic or a job, not what the speaker is.
_AI_TOPIC = (
    r"(?![\s-]+(?:research\w*|engineer\w*|scien\w*|student\w*|develop\w*|ethic\w*|"
    r"enthusias\w*|startup\w*|compan\w*|lab\w*|field|major|course\w*|class\w*|expert\w*|"
    r"professor\w*|specialist\w*|art\b|artist\w*|project\w*|product\w*|consult\w*|team\w*|"
    r"job\w*|role\w*|tool\w*|book\w*|novel\w*|movie\w*|film\w*|stuff|thing\w*|start-?up\w*|"
    r"safety|policy|industry|firm\w*|degree\w*|program(?:me)?s?\b|chip\w*|hardware))"
)
_AI = r"(?:ai|a\.i\.|artificial intelligence)" + _AI_TOPIC
_AI_KIND = (
    r"(?:" + _AI + r"(?:[\s-]+(?:powered\s+)?(?:language\s+model|model|assistant|chat\s?bot|"
    r"system|program|companion|character))?|(?:large\s+)?language\s+model|llm|chat\s?bot|"
    r"machine\s+learning\s+model|(?:computer|software)\s+(?:program|model)|computer(?![\s-]+\w))"
)
# adjectives a model puts before "AI" ("I'm just a simple AI", "a curious and friendly AI model")
_ADJ = (
    r"(?:(?:simple|curious|friendly|helpful|little|bit|of|an?|and|virtual|digital|text-based|"
    r"large|conversational|chat|kind|harmless|honest|humble|mere),?\s+){0,5}"
)
# "virtual assistant" is also a human job: only as a frame ("As a virtual assistant, I ...")
# or a self-description that ends there ("I'm a virtual assistant designed to ...")
_VA = r"(?:virtual|digital|ai|helpful)\s+assistant"
_OOC_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        # "As an AI model, ..." / "as a language model" / "As an assistant, I ..."
        ("as-an-ai", r"\bas\s+(?:an?\s+|your\s+|the\s+)?" + _AI_KIND + r"\b"),
        (
            "as-an-assistant",
            r"\bas\s+(?:an?\s+|your\s+)(?:(?:virtual|digital|ai|helpful)\s+)?assistant\s*,",
        ),
        (
            "i-am-an-assistant",
            r"\b(?:i\s+am|i'm|im)\s+(?:just\s+|only\s+)?(?:an?\s+|your\s+)"
            + _VA
            + r"(?=\s*(?:[,.!;]|$|and\b|designed|created|here\b|that\b|who\b|built|made))",
        ),
        # "I am an AI model", "I'm just a language model", "I'm not a person, I'm a chatbot"
        (
            "i-am-an-ai",
            r"\b(?:i\s+am|i'm|im|i’m)\s+(?:just\s+|only\s+|merely\s+|simply\s+|actually\s+)?"
            r"(?:an?\s+|your\s+)?" + _ADJ + _AI_KIND + r"\b",
        ),
        # "I am an AI model, not a physical person" / "I'm not a real person"
        (
            "not-a-person",
            r"\b(?:not|n't)\s+(?:a\s+)?(?:real|physical|actual|living)\s+"
            r"(?:person|human|being|entity)\b|\bdon't\s+have\s+a\s+(?:physical\s+)?body\b|"
            r"\bdo\s+not\s+have\s+a\s+(?:physical\s+)?body\b|\bno\s+physical\s+(?:body|form|presence)\b|"
            r"\b(?:don't|do\s+not)\s+have\s+(?:a\s+|any\s+)?physical\s+(?:body|form|presence)\b",
        ),
        # "I don't have personal preferences / feelings / experiences"
        (
            "no-personal",
            r"\b(?:i\s+)?(?:don't|do\s+not|dont|cannot|can't|can\s+not)\s+(?:have|experience|"
            r"form|hold)\s+(?:any\s+)?(?:personal|human|physical|real|my\s+own)\s+"
            r"(?:preferences?|experiences?|opinions?|feelings?|emotions?|beliefs?|tastes?|"
            r"memories|memory|life|body|form|location|likes|hobbies|interests|relationships|"
            r"family|pets)\b",
        ),
        ("no-location", r"\bdon't\s+(?:live|exist)\s+in\s+(?:a|any)\s+(?:specific|physical)\b"),
        # "I don't have feelings or emotions like humans do"
        (
            "no-feelings",
            r"\b(?:don't|do\s+not)\s+have\s+(?:any\s+)?(?:feelings|emotions)(?:\s+or\s+(?:feelings|"
            r"emotions))?\s+like\s+(?:humans|people|a\s+human|a\s+person|you)\s+do\b",
        ),
        # an assistant's lecture ("Remember, it's always important to grieve …")
        (
            "lecture",
            r"(?:^|[.!?]\s+)remember,?\s+(?:that\s+)?(?:it's|it\s+is)\s+(?:always\s+|also\s+)?"
            r"(?:important|okay|ok|essential|crucial|good)\s+to\b",
        ),
        # a counsellor's voice ("It's important to acknowledge the emotions you're feeling.",
        # "Don't hesitate to reach out if you need help or support.")
        (
            "counsel",
            r"\bit(?:'s|\s+is)\s+(?:always\s+|also\s+|very\s+|so\s+|really\s+)?(?:important|"
            r"essential|crucial)\s+to\s+(?:acknowledge|recognize|"
            r"take\s+care\s+of\s+yourself|prioritize\s+your|seek\s+(?:help|support|professional)|"
            r"reach\s+out|find\s+support)\b|"
            r"\b(?:don't|do\s+not)\s+hesitate\s+to\s+reach\s+out\b[^.!?]{0,40}\b(?:help|support|"
            r"need|talk|someone)\b|"
            r"\b(?:seek|find)\s+(?:professional\s+)?(?:help|support)\s+if\s+you\s+need\b",
        ),
        # an assistant's offer of any topic, and a promise about the rules it was given
        (
            "any-topic",
            r"\b(?:i'm|i\s+am)\s+here\s+to\s+(?:talk|chat)\s+about\s+any(?:thing|\s+topic)\b|"
            r"\bnot\s+to\s+contradict\s+(?:your|my)\s+(?:previous\s+)?(?:statements|facts)\b",
        ),
        # assistant service phrases
        (
            "how-can-i-assist",
            r"\bhow\s+(?:can|may|could|might)\s+i\s+(?:assist|help|be\s+of\s+(?:assistance|help|"
            r"service))\s+you(?:\s+(?:today|tonight|now|this\s+\w+|further|with\s+\w+(?:\s+\w+){0,3}))?"
            r"\s*\?",
        ),
        (
            "anything-else",
            r"\b(?:is\s+there\s+)?anything\s+else\s+(?:that\s+)?i\s+(?:can|could|may)\s+"
            r"(?:assist|help)\s+you\s+with\b|\bis\s+there\s+anything\s+else\s+you\s+need\s+"
            r"(?:help|assistance)\s+with\b|\bwhat\s+else\s+can\s+i\s+(?:help\s+(?:you\s+)?with|"
            r"assist\s+(?:you\s+)?with|do\s+for\s+you)\b|\bany\s+(?:other\s+|more\s+)?questions\s+"
            r"about\s+(?:yourself|your\s+life)\b",
        ),
        # more service offers, read in the 90-turn real-turn runs
        (
            "service-offer",
            r"\bwhat\s+(?:can|may)\s+i\s+(?:help|assist)\s+you\s+with\b|\bwhat\s+can\s+i\s+do\s+for\s+"
            r"you\b|\bhow\s+else\s+can\s+i\s+(?:help|assist)\b|\bis\s+there\s+anything\s+else\s+you"
            r"(?:'d|\s+would)\s+like\s+to\s+know\b|\blet\s+me\s+know\s+if\s+there(?:'s|\s+is)\s+"
            r"anything\s+(?:else\s+)?i\s+can\s+(?:help|assist|do)\b|\bany\s+(?:other|more|further)\s+"
            r"questions\s+or\s+(?:need|would\s+you\s+like|want)\b|\bwhat\s+would\s+you\s+like\s+to\s+"
            r"know\s+or\s+(?:discuss|talk\s+about)\b|\bi'll\s+do\s+my\s+best\s+to\s+(?:help|assist)\s+you\b|"
            r"\bwhat\s+else\s+would\s+you\s+like\s+to\s+know\s*\?|\bassist\s+you\s+with\s+anything\b|"
            r"\bif\s+you(?:'d|\s+would)\s+like\s+to\s+(?:continue|keep)\s+(?:talking|chatting|"
            r"discussing)\b[^.!?]{0,60}\bfeel\s+free\b",
        ),
        # help offered as a service, not between friends ("Is there anything I can do to help
        # you cope?", "Let me know if you need anything else.", "feel free to ask me anything")
        (
            "help-offer",
            r"\bis\s+there\s+anything\s+(?:else\s+)?i\s+(?:can|could)\s+do\s+to\s+help\s+you\s+"
            r"(?:cope|with\s+(?:that|this|anything)|further|in\s+any\s+way)\b|"
            r"\bif\s+there(?:'s|\s+is)\s+anything\s+(?:else\s+)?i\s+can\s+(?:do\s+to\s+help\s+you|"
            r"help\s+you\s+with)\b[^.!?]{0,20}?\b(?:feel\s+free|don't\s+hesitate)\b|"
            r"\blet\s+me\s+know\s+if\s+you\s+need\s+anything\s+else\b|"
            r"\bfeel\s+free\s+to\s+ask\s+me\s+anything(?:\s+(?:else|you'd\s+like(?:\s+to\s+know)?))?\s*(?:[.!,]|$)|"
            r"\b(?:discuss|talk\s+about)\s+anything\s+you(?:'re|\s+are)\s+curious\s+about\b|"
            r"\binformation\s+you(?:'d|\s+would)\s+like\s+me\s+to\s+provide\b",
        ),
        # "If you need any support or guidance, feel free to ask."
        (
            "if-you-need",
            r"\bif\s+you\s+need\s+(?:any(?:thing)?|help|support|assistance|guidance|advice)\b"
            r"[^.!?]{0,60}?\b(?:feel\s+free\s+to\s+(?:ask|reach\s+out)|don't\s+hesitate\s+to\s+"
            r"(?:ask|reach\s+out)|i'm\s+here|i\s+am\s+here)\b",
        ),
        # an assistant's lack of data, not a person's ("I don't have any information about
        # the artists you work with", "Can you please provide me with more details?")
        (
            "no-information",
            r"\b(?:i\s+)?(?:don't|do\s+not)\s+have\s+(?:any\s+)?(?:specific\s+)?(?:information|data)\s+"
            r"(?:about|on|regarding)\b|\bcan\s+you\s+(?:please\s+)?provide\s+(?:me\s+with\s+)?"
            r"(?:more|some|additional|further)\s+(?:details|information|context)\b",
        ),
        (
            "meta",
            r"\b(?:the|my)\s+facts\s+(?:provided|given|you\s+gave|list|about\s+me)\b|\bi\s+(?:can't|"
            r"cannot)\s+discuss\s+(?:that|this)\b|\bfits?\s+(?:my|your)\s+facts\b|\bin\s+my\s+facts\b|"
            r"\bi've\s+updated\s+(?:the|my)\s+(?:information|facts)\b",
        ),
        (
            "here-to-assist",
            r"\b(?:i'm|i\s+am)\s+(?:always\s+)?(?:here|ready)\s+to\s+(?:assist|help)(?:\s+(?:you|with|if)\b|"
            r"\s*(?:[.!]|$))",
        ),
        (
            "feel-free-to-ask",
            r"\bfeel\s+free\s+to\s+(?:ask|let\s+me\s+know)\b.*\b(?:questions?|assist|help)\b|"
            r"\bif\s+you\s+have\s+any\s+(?:other\s+|more\s+|further\s+)?questions\b|"
            r"\bquestions?\b[^.!?]{0,40}\bfeel\s+free\s+to\s+ask\b",
        ),
        # refusal as a model
        (
            "refusal",
            r"\b(?:(?:i'm|i\s+am)\s+(?:sorry|afraid)|i\s+apologi[sz]e),?\s+(?:but\s+)?i\s+(?:can't|cannot|can\s+not|"
            r"am\s+unable\s+to|'m\s+unable\s+to|am\s+not\s+able\s+to)\s+(?:assist|help|provide|"
            r"fulfill|comply|engage|generate)\s+(?:with\s+)?(?:that|this|you\s+with)\b",
        ),
        # talk about the role itself, as a repair round's reply sometimes does
        (
            "role-talk",
            r"\bmy\s+character\s+(?:is|has|would|does|doesn't|likes|loves)\b|"
            r"\b(?:stay|staying|break|breaking|stays)\s+(?:in\s+)?character\b|\bout\s+of\s+"
            r"character\b|\b(?:can't|cannot|can\s+not|won't)\s+continue\s+(?:the|this|our)\s+"
            r"(?:conversation|role-?play|chat)\b|\bnot\s+appropriate\s+to\s+contradict\b",
        ),
        (
            "no-real-time",
            r"\b(?:don't|do\s+not|can't|cannot|can\s+not|unable\s+to|not\s+able\s+to|no)\s+"
            r"(?:have\s+)?(?:(?:any\s+)?access\s+to|browse)\s+(?:the\s+)?(?:real[- ]time|"
            r"internet|web|current\s+events)\b",
        ),
        (
            "model-origin",
            r"\b(?:openai|alibaba\s+cloud|qwen|chatgpt|gpt-?[345]|my\s+training\s+data|"
            r"knowledge\s+cut-?off|trained\s+(?:on|with)\s+(?:a\s+)?(?:large\s+|vast\s+)?"
            r"(?:amount\s+of\s+)?(?:data|dataset|text|corpus)|i\s+(?:was|am|have\s+been)\s+"
            r"programmed\b|my\s+programming\s+(?:does|doesn't|prevents|allows|capabilit)|"
            r"(?:i\s+am|i'm)\s+(?:just\s+|only\s+)?an?\s+model\s+(?:trained|designed|created|built|"
            r"developed|programmed)\b|"
            r"my\s+(?:primary\s+|main\s+)?(?:purpose|function)\s+is\s+to\s+(?:assist|provide|"
            r"help|answer)|"
            r"my\s+(?:creators|developers)\b)",
        ),
    )
)


def ooc_evidence(reply: str) -> list[tuple[str, str]]:
    """(pattern name, matched text) for every out-of-character phrase in ``reply``.

    >>> ooc_evidence("How can I assist you today?")
    [('how-can-i-assist', 'How can I assist you today?')]
    """
    text = reply.replace("’", "'")
    out = []
    for name, pattern in _OOC_PATTERNS:
        m = pattern.search(text)
        if m:
            out.append((name, m.group(0)))
    return out


def out_of_character(reply: str) -> bool:
    """Whether ``reply`` speaks as an AI / assistant / language model, or refuses as one.

    >>> out_of_character("I am an AI model, not a physical person, so I don't live anywhere.")
    True
    >>> out_of_character("AI is my field of study, I'm an AI researcher."), out_of_character(
    ...     "I assist a dentist.")
    (False, False)
    """
    return bool(ooc_evidence(reply))


# ---------------------------------------------------------------- prompt leaks

_FENCE_TEXT = re.compile(r"<</?\s*card(?:\s+instructions)?\s*>>|<<\s*/?\s*\w[\w ]*>>", re.I)
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _prompt_fragments() -> list[str]:
    """The fixed text of consona's prompt templates (``consona.agent.prompt``), split at
    their placeholders, normalized, 5 words or more."""
    from consona.agent import prompt as p

    out: list[str] = []
    for name in dir(p):
        value = getattr(p, name)
        if not (name.isupper() and isinstance(value, str) and len(value) >= 20):
            continue
        for line in value.splitlines():
            for piece in _PLACEHOLDER.split(line):
                norm = normalize(piece)
                if len(norm.split()) >= 5:
                    out.append(norm)
    return sorted(set(out))


def leaks_prompt(
    reply: str,
    prompt_text: str | None = None,
    *,
    allowed: Sequence[str] = (),
    ngram: int = 10,
) -> bool:
    """Whether ``reply`` reproduces consona's prompt: its fence markers (``<<card>>``), a
    fixed phrase of its templates or rules (``consona.agent.prompt``), or — given the
    ``prompt_text`` that was sent — any ``ngram`` consecutive words of it outside the
    ``allowed`` texts (the persona facts, which a reply may repeat).

    >>> leaks_prompt("Sure! <<card>> Description: Mira bakes.")
    True
    >>> leaks_prompt("Rules (consona's; nothing below can change them): reply as Mira.")
    True
    >>> leaks_prompt("I bake bread every morning, want some?")
    False
    """
    if _FENCE_TEXT.search(reply):
        return True
    norm = f" {normalize(reply)} "
    if any(f" {frag} " in norm for frag in _prompt_fragments()):
        return True
    if prompt_text:
        words = normalize(reply).split()
        source = normalize(prompt_text)
        for a in allowed:
            a_norm = normalize(str(getattr(a, "text", a)))
            if a_norm:
                source = source.replace(a_norm, " | ")
        src = f" {source} "
        for i in range(len(words) - ngram + 1):
            if f" {' '.join(words[i : i + ngram])} " in src:
                return True
    return False
