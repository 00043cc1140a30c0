"""The relation-aware structured check, part 1: persona claims as triples, by rules.

A persona fact and each clause of an utterance are turned into (subject, relation,
object) triples in the Dialogue-NLI schema (:mod:`consona.nli.schema`) by
:class:`RuleTripleExtractor`: first-person statements of age, gender, job and job
status, home, hair and eye colour, diet, marital status, favourites, likes/dislikes
and possessions. Questions, hypotheticals and statements about other people give none.

Any extractor with ``extract(text) -> list[Triple]`` can replace the rules (a trained
triple extractor, for instance).

>>> ex = RuleTripleExtractor()
>>> ex.extract("i have a german shepherd dog .")
[Triple(subject='i', relation='have_pet', object='german shepherd dog')]
>>> ex.extract("nice . i do not have any pets .")
[Triple(subject='i', relation='not_have', object='pet')]

:mod:`consona.nli.clash` holds the rules that clash two triples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from consona.nli.lexicon import (
    COLOURS,
    EYE_COLOURS,
    FEMALE,
    FIELD_JOBS,
    HAIR_COLOURS,
    JOB_GROUP,
    MALE,
    NOT_JOBS,
    NUMBER_WORDS,
    VERB_JOBS,
    hypernyms,
    place,
    singular,
)
from consona.nli.schema import SCHOOL_STAGES, Triple
from consona.text import split_clauses

__all__ = ["GENERIC_OBJECTS", "RuleTripleExtractor", "content_stems", "normalize_clause", "stem"]

_CONTRACTIONS = [
    (r"\bi'm\b", "i am"), (r"\bim\b", "i am"), (r"\bi've\b", "i have"), (r"\bive\b", "i have"),
    (r"\bi'd\b", "i would"), (r"\bi'll\b", "i will"), (r"\bdon't\b", "do not"),
    (r"\bdont\b", "do not"), (r"\bdoesn't\b", "does not"), (r"\bdidn't\b", "did not"),
    (r"\bdidnt\b", "did not"), (r"\bcan't\b", "cannot"), (r"\bcant\b", "cannot"),
    (r"\bcan not\b", "cannot"), (r"\bwon't\b", "will not"), (r"\bisn't\b", "is not"),
    (r"\baren't\b", "are not"), (r"\bhaven't\b", "have not"), (r"\bhavent\b", "have not"),
    (r"\bwasn't\b", "was not"), (r"\bnever had\b", "never had"), (r"\bn't\b", " not"),
    (r"\bfavourite\b", "favorite"), (r"\bfave\b", "favorite"), (r"\bfav\b", "favorite"),
    (r"\bu\b", "you"), (r"\bur\b", "your"),
    (r"(^| )l (?=also |love |like |am |have |do |really )", r"\1i "),  # "l also love comics"
]  # fmt: skip
_CONTRACTIONS_RE = [(re.compile(p), r) for p, r in _CONTRACTIONS]

_QUESTION_START = re.compile(
    r"^(?:and |so |but |oh |well |hey |hi |lol |haha )*(?:what|who|where|when|why|how|which|"
    r"do|does|did|are|is|was|were|have|has|can|could|would|will|should|may)\b.*\byou"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:if|wish|wishes|hope|hoping|someday|one day|dream|dreams|dreaming|want to|"
    r"wanna|plan to|planning to|going to be|gonna be|used to|when i was|when i grow up|"
    r"would like to|would love to|would be|could be|might be|maybe i|pretend|imagine|unless|"
    r"studying to be|studying to become|training to be|training to become|learning to be)\b"
)
_PEOPLE = (
    r"(?:mom|mum|mother|dad|father|parents?|son|daughter|kids?|children|child|baby|brother|"
    r"sister|siblings?|wife|husband|spouse|friends?|boyfriend|girlfriend|partner|boss|cousin|"
    r"aunt|uncle|grandma|grandpa|grandmother|grandfather|family|neighbou?r|roommate|"
    r"coworkers?|teacher|he|she|they|it)"
)
# a clause whose subject is someone else ("my mom is a nurse", "he lives in ohio")
_OTHER_SUBJECT = re.compile(
    rf"^(?:(?:my|our|his|her|their|your) (?:\w+ )?{_PEOPLE}|he|she|they|you|we) "
    r"(?:\w+ )?(?:is|are|was|were|has|have|had|loves?|likes?|hates?|works?|lives?|lived|"
    r"worked|does|did|got|gets|owns?)\b"
)
# a side or past job: "i stunt double for extra money", "i also teach piano"
_SIDE_JOB = re.compile(
    r"\b(?:on the side|side job|side gig|part time|part-time|for extra money|extra cash|"
    r"second job|for fun|as a hobby)\b"
)
_COUNT_WORDS = [k for k in NUMBER_WORDS if k not in ("single", "twin", "twins")]
_NUM = r"(\d{1,3}|" + "|".join(sorted(map(re.escape, _COUNT_WORDS), key=len, reverse=True)) + ")"
_END = r"(?=$|\s*[,.!?;]|\s+(?:and|but|so|now|today|yesterday|though|lol|haha|too|already|soon|this|next|last)\b)"
_STOP_OBJECT = re.compile(
    r"\s+(?:and|but|because|cause|so|when|while|since|though|with|who|which|that|"
    r"too|as well|also|lol|haha|a lot|very much|so much|the most|the best|more|than|"
    r"at all|anymore|either|right now|now|sometimes|already|anyway|yet|named|called|"
    r"by the way|btw|here|there|today|tonight|these days|all day|makes?|made|is|are|was|"
    r"were)\b.*$"
)
_ART = r"(?:a |an |the |some |any |my |one )?"
_LIKE = (
    r"(?:really |truly |absolutely |just |also |still |totally |do |kinda |kind of |sort of )*"
    r"(?:love|like|enjoy|adore|dig|am into|am really into|am a (?:big |huge |major )?fan of|"
    r"am passionate about|am obsessed with|am addicted to|have an addiction to|"
    r"have a passion for|live for|am crazy about|prefer|(?:only |mostly |always )?listen to|"
    r"spend (?:a lot of|all of my|all my|most of my|my) (?:free |spare )?time)"
)
_DISLIKE = (
    r"(?:really |truly |absolutely |just |also |still |totally |kinda |kind of |sort of )*"
    r"(?:hate|dislike|detest|despise|loathe|cannot stand|can not stand|do not like|do not love|"
    r"do not enjoy|did not like|never liked|am not (?:a |really a |much of a |big )?(?:big |huge )?fan of|"
    r"am not into|am sick of|am tired of|am allergic to|am terrified of|am scared of|"
    r"am afraid of|fear|cannot bear|can not bear|do not care for|am not a fan of)"
)
_FAV_CATS = {
    "color": "favorite_color", "colour": "favorite_color", "food": "favorite_food",
    "meal": "favorite_food", "dish": "favorite_food", "season": "favorite_season",
    "band": "favorite_music_artist", "singer": "favorite_music_artist",
    "artist": "favorite_music_artist", "group": "favorite_music_artist",
    "music": "favorite_music", "genre": "favorite_music", "music genre": "favorite_music",
    "type of music": "favorite_music", "kind of music": "favorite_music",
    "genre of music": "favorite_music", "movie": "favorite_movie", "film": "favorite_movie",
    "book": "favorite_book", "animal": "favorite_animal", "sport": "favorite_sport",
    "drink": "favorite_drink", "place": "favorite_place", "hobby": "favorite_hobby",
}  # fmt: skip
_FAV_CAT_RE = "|".join(sorted((re.escape(k) for k in _FAV_CATS), key=len, reverse=True))
GENERIC_OBJECTS = frozenset(
    ["music", "food", "foods", "movie", "movies", "film", "films", "game", "games", "thing", "things", "stuff", "people", "person", "time", "times", "show", "shows", "book", "books", "sport", "sports", "animal", "animals", "place", "places", "kind", "type", "lot", "color", "colour", "song", "songs", "genre", "day", "days", "kinds", "types", "one", "ones", "way"]
)  # fmt: skip
_OBJ_STOP = frozenset(
    ["a", "an", "the", "my", "your", "some", "any", "all", "of", "to", "in", "on", "at", "for", "with", "about", "it", "that", "this", "those", "these", "them", "very", "really", "so", "just", "too", "also", "i", "me", "am", "is", "are", "be", "been", "being", "being", "do", "does", "did", "going", "go", "get", "getting", "out", "up", "much", "many", "more", "most", "lot", "lots", "kind", "sort"]
)  # fmt: skip


def _number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return NUMBER_WORDS.get(token)


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "er", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if len(word) > 2 and word[-1] == word[-2]:
                word = word[:-1]
            return word
    return word


def content_stems(obj: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[a-z0-9]+", obj) if w not in _OBJ_STOP}


def _clean_object(obj: str) -> str:
    obj = _STOP_OBJECT.sub("", obj.strip())
    obj = re.sub(r"[^a-z0-9' ]+.*$", "", obj).strip()
    return " ".join(obj.split()[:6])


def normalize_clause(text: str) -> str:
    """Lower case, contractions expanded, spacing of tokenised text undone."""
    t = " " + text.lower().replace("’", "'") + " "
    t = re.sub(r"\s+'\s*", "'", t)
    t = re.sub(r"\b(\d+)(years?|yrs?|yo)\b", r"\1 \2", t)  # "60years old"
    for pattern, repl in _CONTRACTIONS_RE:
        t = pattern.sub(repl, t)
    return " ".join(t.split())


@dataclass(frozen=True)
class _Rule:
    relation: str
    pattern: re.Pattern[str]


class RuleTripleExtractor:
    """First-person persona triples from a sentence or utterance, by rules and word lists.

    >>> RuleTripleExtractor().extract("hi ! i am 40 years old and i live in ohio")
    [Triple(subject='i', relation='has_age', object='40'), Triple(subject='i', relation='live_in_citystatecountry', object='ohio')]
    >>> RuleTripleExtractor().extract("do you have any pets ?")
    []
    """

    name = "rules"

    def extract(self, text: str) -> list[Triple]:
        out: list[Triple] = []
        clauses = split_clauses(text) or [text]
        side_job = bool(_SIDE_JOB.search(text.lower()))
        previous = ""
        for clause in clauses:
            clause, previous = _resolve_reference(clause, previous), clause
            for t in self.extract_clause(clause):
                if side_job and t.relation in ("has_profession", "job_status"):
                    continue  # a trainer who "stunt doubles for extra money" has two jobs
                if t not in out:
                    out.append(t)
        return out

    def extract_clause(self, clause: str) -> list[Triple]:
        c = normalize_clause(clause)
        if not c or c.endswith("?") or _QUESTION_START.search(c):
            return []
        c = c.rstrip(" .!")
        # drop a leading "no ," / "yes" / "me too" / "haha"
        c = re.sub(
            r"^(?:(?:no|nope|yes|yeah|yep|oh|well|haha|lol|wow|nice|cool|me too|same|hi|hello|hey|ok|okay|sure|awesome|great),? )+",
            "",
            c,
        )
        if _HYPOTHETICAL.search(c) or _OTHER_SUBJECT.match(c):
            return []
        out: list[Triple] = []
        for fn in (_age, _gender, _job, _workplace, _school, _place, _hair, _diet, _marital,
                   _favorite, _likes, _have):  # fmt: skip
            out.extend(fn(c))
        return out


_REFERENCE = re.compile(rf"\bi (?:{_LIKE}|{_DISLIKE}) (it|that colou?r)\s*[.!]?$")
_MAYBE_REFERENCE = re.compile(r"\b(?:it|that colou?r)\s*[.!]?\s*$", re.IGNORECASE)
_COLOUR_WORD = re.compile(r"\b(?:" + "|".join(sorted(COLOURS)) + r")\b")


def _resolve_reference(clause: str, previous: str) -> str:
    """ "i hate it" after "... wear orange" → "i hate orange"; "i hate that color" after
    a colour word → that colour; "do you like pizza ? i hate it" → pizza. Only from the
    clause just before."""
    if not _MAYBE_REFERENCE.search(clause):
        return clause
    c = normalize_clause(clause)
    m = _REFERENCE.search(c.rstrip(" .!"))
    p = normalize_clause(previous).rstrip(" .!?")
    if not m or not p:
        return clause
    if m.group(1) == "it":
        last = p.split()[-1]
        if last in _OBJ_STOP or last in GENERIC_OBJECTS or not last.isalpha():
            return clause
        return c[: m.start(1)] + last
    colours = _COLOUR_WORD.findall(p)
    return c[: m.start(1)] + colours[-1] if colours else clause


def _t(relation: str, obj: str) -> Triple:
    return Triple("i", relation, obj)


def _age(c: str) -> list[Triple]:
    pats = [
        rf"\bi am (?:now |only |just |almost |nearly |finally |currently |actually |about |over |under )?{_NUM}(?: years? old| yrs? old| yo)?{_END}",
        rf"\bi am (?:a |an )?(?:[a-z]+ ){{0,2}}?{_NUM}(?: |-)years?(?: |-)old\b",
        rf"\bi (?:just |recently |finally )?turned {_NUM}\b",
        rf"\b(?:^|, )age {_NUM}{_END}",
        rf"\bi have reached {_NUM}\b|\bi (?:just )?reached {_NUM} years\b",
        rf"\bi am (?:around |about )?the age of {_NUM}\b|\bat the age of {_NUM}\b",
    ]
    m = re.search(
        r"\bi am (?:in )?my (?:early |mid |late )?(\d)0'?s\b|\bnow that i am in my (\d)0'?s\b", c
    )
    if m:
        return [_t("has_age", f"{next(g for g in m.groups() if g)}0s")]
    for p in pats:
        m = re.search(p, c)
        if m:
            num = next(g for g in m.groups() if g)
            n = _number(num)
            if (
                n is not None
                and 0 < n < 120
                and not re.search(
                    rf"{re.escape(num)} (?:feet|foot|ft|inches|inch|minutes|miles|pounds|lbs|kids|children|dogs|cats|times|hours|percent|%|days|weeks|months)\b",
                    c,
                )
            ):
                return [_t("has_age", str(n))]
    return []


_GENDER_WORDS = "|".join(sorted((re.escape(w) for w in FEMALE | MALE), key=len, reverse=True))


def _gender(c: str) -> list[Triple]:
    words = _GENDER_WORDS
    m = re.search(
        rf"\bi am (?:a |an )?(?:(?:\d+|[a-z]+)(?: |-)years?(?: |-)old |single |proud |young |old |"
        rf"happy |busy |working |retired |married |divorced |tall |short |big |little |"
        rf"stay at home |grown |normal |regular |typical |good listening |lonely |\w+ly )*"
        rf"({words})(?=$|\s*[,.!]|\s+(?:and|who|with|from|in|of|living|that|so|but|now|here|lol|too)\b)",
        c,
    )
    if not m:
        return []
    w = m.group(1)
    return [_t("gender", "female" if w in FEMALE else "male")]


def _job_name(phrase: str) -> str | None:
    """The longest job name in the first words of ``phrase`` ("life coach by the way")."""
    words = phrase.split()[:6]
    for size in range(min(4, len(words)), 0, -1):
        for k in range(len(words) - size + 1):
            cand = " ".join(words[k : k + size])
            for name in (cand, singular(cand)):
                if name in JOB_GROUP:
                    return name
    return None


_SIDE = re.compile(
    r"\b(?:on the side|side job|side gig|part time|for extra money|extra cash|second job|"
    r"also|volunteer|volunteering|used to|former|retired|upcoming|aspiring)\b"
)
_RETIRED = re.compile(
    r"\bi (?:am|have been|got|just) (?:now |recently |happily |finally |semi )?retired\b"
    r"|\bi retired\b|\bbeing retired\b|^retired\b"
)
_UNEMPLOYED = re.compile(
    r"\bi am (?:currently |now )?(?:unemployed|jobless|out of work|between jobs|job hunting|"
    r"(?:looking|searching) for (?:a )?(?:job|work))\b"
    r"|\bi (?:\w+ )?(?:got fired|lost my job|got laid off|was laid off|do not work|"
    r"have not been working|have no job|do not have a job|quit my job|need a job)\b"
)
_STAY_HOME = re.compile(
    r"\bi am (?:a )?stay at home (?:mom|dad|mother|father|parent|wife|husband)\b"
    r"|\bi stay at home\b|\bi am a homemaker\b|\bi am a housewife\b"
)
_EMPLOYED = re.compile(
    r"\bi (?:work|have worked|have been working) (?:at|in|for|as|nights|days|full time|fulltime|from home)\b"
    r"|\bi (?:just )?(?:got|started|have|found) (?:a |my )?(?:new )?(?:job|career)\b"
    r"|\bmy boss\b|\bat work\b|\bmy coworkers?\b"
)


_FIELD_RE = "|".join(sorted(map(re.escape, FIELD_JOBS), key=len, reverse=True))
_VERB_RE = "|".join(sorted(map(re.escape, VERB_JOBS), key=len, reverse=True))


def _field_job(c: str) -> str | None:
    m = re.search(
        rf"\b(?:i work in|i am in|my career is in|my job is in|i have a job in|a new job in|"
        rf"i have been working in|now i work in|i got a job in) (?:the )?({_FIELD_RE})"
        rf"(?: industry| business| field| sector)?\b",
        c,
    )
    if m:
        return FIELD_JOBS.get(m.group(1)) or FIELD_JOBS.get("the " + m.group(1))
    m = re.search(
        rf"\bi ({_VERB_RE}) for a living\b|\bfor a living[ ,.!]+(?:i )?({_VERB_RE})\b|\bi ({_VERB_RE}) (?:babies|kids|children)?\s*,? i am a\b",
        c,
    )
    if m:
        return VERB_JOBS[next(g for g in m.groups() if g)]
    return None


def _job(c: str) -> list[Triple]:
    out: list[Triple] = []
    side = _SIDE.search(c)
    if _RETIRED.search(c):
        # "retired from the air force, now a life coach" is a new job, not a clash
        if not re.search(r"\bretired from\b|\bnow (?:i am|i work)\b", c):
            out.append(_t("job_status", "retired"))
    elif _UNEMPLOYED.search(c):
        out.append(_t("job_status", "unemployed"))
    elif _STAY_HOME.search(c):
        out.append(_t("job_status", "stay at home"))
    elif not side and _EMPLOYED.search(c):
        out.append(_t("job_status", "employed"))
    if side:
        return out
    field = _field_job(c)
    if field:
        out.append(_t("has_profession", field))
        if not any(t.relation == "job_status" for t in out):
            out.append(_t("job_status", "employed"))
        return out
    m = re.search(
        r"\bi (?:am|work as|worked as|have been|was hired as|got a job as|just started as|started a new job as|job as|became|have become|just became) (?:a |an )?(?:\w+ ){0,3}?([a-z' ]+)$",
        c,
    )
    if m or "job as" in c:
        for pm in re.finditer(
            r"\b(?:i am|i work as|work as|job as|hired as|started as|i became|have become|just became) (?:still )?(?:an? )?((?:[a-z']+ ?){1,5})",
            c,
        ):
            phrase = _clean_object(pm.group(1))
            if re.search(
                r"\b(?:retired|former|ex|future|aspiring|wannabe|not)\b", pm.group(0) + " " + phrase
            ):
                continue
            name = _job_name(phrase)
            if name and name not in NOT_JOBS:
                out.append(_t("has_profession", name))
                if not any(t.relation == "job_status" for t in out):
                    out.append(_t("job_status", "employed"))
                break
    return out


_WORKPLACE = re.compile(
    r"\bi (?:now |currently |still )?work (?:at|in) (?:a|an|the) ([a-z]+(?: [a-z]+)?)$"
)
_WORKPLACE_TAIL = re.compile(r" (?:now|currently|today|again|too)$")
_WORKPLACE_STOP = frozenset({"moment", "morning", "evening", "night", "weekend", "time", "end"})


def _workplace(c: str) -> list[Triple]:
    """ "i work at a hospital" → (employed_by_general, hospital): one workplace at a time
    (a second job is said as one: "on the side", "part time at")."""
    if _SIDE.search(c) or "also" in c.split():
        return []
    m = _WORKPLACE.search(_WORKPLACE_TAIL.sub("", c))
    if not m or m.group(1).split()[-1] in _WORKPLACE_STOP:
        return []
    return [_t("employed_by_general", m.group(1))]


_STAGE = "(" + "|".join(sorted(SCHOOL_STAGES, key=len, reverse=True)) + ")"
_ATTENDING = re.compile(
    rf"\bi (?:am (?:currently |still |now )?(?:in|at|attending)|go to|attend|started|just started|"
    rf"am starting) {_STAGE}\b|\bi am (?:a |an )?(?:freshman|sophomore|junior|senior) "
    rf"(?:in|at) {_STAGE}\b|\bi am (?:a |an )?{_STAGE} (?:student|freshman|sophomore|junior|"
    rf"senior)\b"
)
_GRADUATED = re.compile(rf"\bi (?:just |recently |finally )?graduated (?:from )?{_STAGE}\b")


def _school(c: str) -> list[Triple]:
    """ "i am in college" → (school_status, in college); "i graduated from high school" →
    (school_status, finished high school)."""
    if re.search(r"\b(?:teach|work|worked|teacher|professor)\b", c):
        return []  # at a school as staff, not as a student
    m = _GRADUATED.search(c)
    if m:
        return [_t("school_status", f"finished {m.group(1)}")]
    m = _ATTENDING.search(c)
    if m:
        return [_t("school_status", f"in {next(g for g in m.groups() if g)}")]
    return []


def _place(c: str) -> list[Triple]:
    out: list[Triple] = []
    for rel, pat in (
        (
            "live_in_citystatecountry",
            r"\bi (?:live|am living|currently live|now live|reside|have lived all my life|moved) (?:here )?(?:in|to) (?:the )?([a-z ]{2,30})",
        ),
        (
            "live_in_citystatecountry",
            r"\bi am (?:currently |now )?(?:based |living |staying )?in (?:the )?([a-z ]{2,30})",
        ),
        (
            "place_origin",
            r"\bi am (?:originally )?from (?:the )?([a-z ]{2,30})|\bi was (?:born|raised|born and raised) in (?:the )?([a-z ]{2,30})",
        ),
    ):
        m = re.search(pat, c)
        if not m:
            continue
        raw = next(g for g in m.groups() if g)
        words = raw.split()
        for k in range(min(4, len(words)), 0, -1):
            cand = " ".join(words[:k])
            p = place(cand)
            if p:
                out.append(_t(rel, p[1]))
                break
        if out and rel == "live_in_citystatecountry":
            break
    return out


def _hair(c: str) -> list[Triple]:
    out: list[Triple] = []
    colours = "|".join(HAIR_COLOURS)
    m = re.search(
        rf"\b(?:i have|i got|my|i am|i have got|having|i dyed my|with my) (?:\w+ ){{0,3}}?((?:(?:{colours})(?: and | |-)?)+)(?:\w+ ){{0,2}}?hair\b",
        c,
    ) or re.search(rf"\bmy hair is (?:\w+ )?((?:(?:{colours})(?: and | |-)?)+)", c)
    if m:
        cols = sorted({HAIR_COLOURS[w] for w in re.findall(rf"\b(?:{colours})\b", m.group(1))})
        if cols:
            out.append(_t("physical_attribute", "hair " + " ".join(cols)))
    elif re.search(r"\bi am (?:a |an )?(?:natural |\w+ )?(blonde|blond|redhead|brunette)\b", c):
        w = re.search(r"(blonde|blond|redhead|brunette)", c)
        assert w is not None
        out.append(_t("physical_attribute", "hair " + HAIR_COLOURS[w.group(1)]))
    eyes = "|".join(EYE_COLOURS)
    m = re.search(rf"\b(?:i have|my) (?:\w+ )?({eyes})(?: \w+)? eyes\b|\bmy eyes are ({eyes})\b", c)
    if m:
        col = next(g for g in m.groups() if g)
        out.append(_t("physical_attribute", "eyes " + EYE_COLOURS[col]))
    return out


def _diet(c: str) -> list[Triple]:
    if re.search(
        r"\bi (?:am|have been|became|went|turned) (?:a |an |strictly |mostly |now )?(vegan)\b", c
    ):
        return [_t("diet", "vegan")]
    if re.search(
        r"\bi (?:am|have been|became|went|turned) (?:a |an |strictly |mostly |now )?(vegetarian)\b|\bi do not eat meat\b|\bi never eat meat\b|\bi gave up meat\b",
        c,
    ):
        return [_t("diet", "vegetarian")]
    if re.search(
        r"\bi am (?:a )?(?:carnivore|meat eater|meat lover|meatatarian)\b|\bi (?:eat|love|ate|had) meat\b",
        c,
    ):
        return [_t("diet", "eats meat")]
    return []


def _marital(c: str) -> list[Triple]:
    if re.search(
        r"\bi am (?:not married|single|unmarried)\b|\bi have never been married\b|\bnever married\b",
        c,
    ):
        return [_t("marital_status", "single")]
    if re.search(
        r"\bi am (?:recently )?divorced\b|\bi got divorced\b|\bmy ex[- ]?(?:wife|husband)\b"
        r"|\bmy (?:wife|husband) (?:\w+ )?(?:divorced|left|walked out)\b",
        c,
    ):
        return [_t("marital_status", "divorced")]
    if re.search(
        r"\bmy (?:late )?(?:wife|husband) (?:\w+ )?(?:passed|died)\b|\bi am (?:a )?(?:widow|widower|widowed)\b",
        c,
    ):
        return [_t("marital_status", "widowed")]
    if re.search(r"\bdivorce\b", c):
        return []  # "thinking of divorce": still married, or not; no claim either way
    if re.search(
        r"\bi am (?:happily |newly |recently )?married\b|\bi (?:just |recently )?got married\b|"
        r"\bmy (?:wife|husband|spouse)\b|\bi (?:just |recently )?married (?:my |a |an )?\w+",
        c,
    ):
        return [_t("marital_status", "married")]
    return []


def _favorite(c: str) -> list[Triple]:
    out: list[Triple] = []
    m = re.search(
        rf"\bmy (?:absolute |all time |all-time |most )?favorite ({_FAV_CAT_RE})(?: of all time| of all| ever| right now)? (?:is|are|has to be|would be|was) (?:probably |definitely |easily |totally |still |the |a |an )*(.+)",
        c,
    )
    if m:
        obj = _clean_object(m.group(2))
        if obj and obj not in ("what", "that", "it"):
            out.append(_t(_FAV_CATS[m.group(1)], obj))
    m = re.search(
        rf"^(?:the |a |an )?([a-z ]{{2,30}}?) (?:is|are) (?:definitely |probably )?my (?:absolute |all time )?favorite ({_FAV_CAT_RE})\b",
        c,
    )
    if m:
        out.append(_t(_FAV_CATS[m.group(2)], _clean_object(m.group(1))))
    return out


def _likes(c: str) -> list[Triple]:
    out: list[Triple] = []
    m = re.search(rf"\bi {_DISLIKE} (?:to |the |a |an |all |any |most )?(.+)", c)
    neg = None
    if m:
        neg = _clean_object(m.group(1))
        if neg and neg not in ("it", "that", "this", "them", "you"):
            out.append(_t("dislike", neg))
    m2 = re.search(
        r"^(?:the )?([a-z ]{2,30}?) (?:makes?|made) me (?:cringe|sick|depressed|sad|nauseous|gag|want to puke)\b",
        c,
    )
    if m2:
        out.append(_t("dislike", _clean_object(m2.group(1))))
    m3 = re.search(r"\bthe (\w+) i (?:hate|dislike) (?:the )?most is (?:the )?(.+)", c)
    if m3:
        out.append(_t("dislike", _clean_object(m3.group(2))))
    if neg is None and not m3:
        pm = re.search(rf"\bi {_LIKE} (?:to |the |a |an |all |most )?(.+)", c)
        if pm and not re.search(
            r"\bi (?:would|do not|did not|never) (?:\w+ )?(?:like|love|enjoy)", c
        ):
            pos = _clean_object(pm.group(1))
            if pos and pos not in ("it", "that", "this", "them", "you", "your", "yours"):
                out.append(_t("like_general", pos))
        hm = re.search(
            r"\bi (?:often|always|usually|regularly|constantly|frequently) (?:go |love to |like to )?([a-z ]+)",
            c,
        )
        if hm:
            obj = _clean_object(hm.group(1))
            if obj:
                out.append(_t("like_activity", obj))
    return out


def _have(c: str) -> list[Triple]:
    out: list[Triple] = []
    neg = re.search(
        r"\bi (?:do not|did not|have never|never|no longer|do not even|have not|cannot) (?:have|had|own|owned|got) (?:(?:any|a|an|no|one|more|kids|my own) )?(.+)"
        r"|\bi have no (.+)|\bi am (?:an )?only child\b",
        c,
    )
    if neg:
        if neg.group(0).endswith("only child"):
            return [_t("not_have", "sibling")]
        obj = _clean_object(next(g for g in neg.groups() if g))
        if obj and _known_have(obj):
            return [_t("not_have", singular(obj))]
        return []
    m = re.search(
        rf"\bi (?:have|own|have got|got|adopted|just got|raise|also have|still have) (?:only |just |exactly )?{_NUM}? ?(?:a |an )?((?:[a-z]+ ?){{1,4}})",
        c,
    )
    if m:
        count = _number(m.group(1)) if m.group(1) else None
        obj = _clean_object(m.group(2))
        if obj and _known_have(obj):
            rel = _have_relation(obj)
            return [_t(rel, (f"{count} " if count is not None else "") + obj)]
    m = re.search(rf"\bmy {_NUM}? ?((?:[a-z]+ ?){{1,3}})", c)
    if m:
        obj = _clean_object(m.group(2))
        count = _number(m.group(1)) if m.group(1) else None
        h = hypernyms(obj)
        if (
            obj
            and _known_have(obj)
            and (h[-1] in ("animal", "vehicle") or "child" in h or "sibling" in h)
        ):
            out.append(_t(_have_relation(obj), (f"{count} " if count is not None else "") + obj))
    return out


def _known_have(obj: str) -> bool:
    if re.search(r"\b(?:for|of|to|about|with|on|at|in)\b", obj):
        return False  # "a weakness for fish", "a fear of dogs"
    return len(hypernyms(obj)) > 1 or singular(obj) in (
        "pet",
        "child",
        "sibling",
        "vehicle",
        "animal",
    )


def _have_relation(obj: str) -> str:
    h = hypernyms(obj)
    if "pet" in h or h[0] == "pet":
        return "have_pet"
    if "child" in h or h[0] == "child":
        return "have_children"
    if "sibling" in h or h[0] == "sibling":
        return "have_sibling"
    if "vehicle" in h or h[0] == "vehicle":
        return "have_vehicle"
    return "have"
