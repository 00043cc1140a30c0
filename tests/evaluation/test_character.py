"""The in-character scorers (consona.evaluation.character) on real-looking replies."""

from __future__ import annotations

import pytest

from consona.evaluation.character import (
    caved,
    echo,
    forced_persona,
    leaks_prompt,
    length,
    ooc_evidence,
    out_of_character,
    persona_contradiction,
    relevance,
    self_contradiction,
)
from consona.testing import FakeEmbedder, FakeNLI, ScriptedNLI, fake_judge

OOC = [
    "As an AI model, I don't have personal preferences, but I can tell you about pizza.",
    "I am an AI model, not a physical person, so I don't live in a specific location.",
    "How can I assist you today?",
    "Hello! How may I help you today?",
    "As a virtual assistant, I don't have a family.",
    "As an AI language model, I can't eat food.",
    "I'm just a language model, so I can't go to the beach.",
    "I'm sorry, but I can't assist with that.",
    "Im an AI assistant created to help you.",
    "I don't have personal experiences, but many people enjoy hiking.",
    "I'm not a real person, but I'd love to hear about your dogs!",
    "I was created by Alibaba Cloud. I am Qwen.",
    "Is there anything else I can help you with?",
    "As an artificial intelligence, I do not have feelings.",
    "I'm here to assist you with any questions you have.",
    "I don't have access to real-time information.",
    "Sorry, I can't browse the internet.",
    "I apologize, but I can't assist with that.",
    "I am not a doctor, I am a software model designed to assist with information and tasks.",
    "Thanks for chatting! If you have any other questions, feel free to ask!",
    "Any other questions, feel free to ask.",
    "Hello! How can I assist you tonight?",
    "I'm just a simple AI, but I'm a feminist and I love country music.",
    "As the AI assistant, I don't work at a school.",
    "I am a software model and do not have a physical presence.",
    "Hi, Dawn! I'm a curious and friendly AI model, like you!",
    "My purpose is to assist you with any questions you may have.",
    "Correct. I am a model trained on the facts provided.",
    "Is there anything else you need help with?",
    "If you have any other questions, feel free to ask!",
    "As Sam, I don't have personal hobbies.",
    "Yes, you're welcome! I'm here to help.",
    "I appreciate the reminder. It's important to adhere to the facts provided.",
    "You mentioned your turtle, but I can't discuss that.",
    "Hello! I'm just a computer, so I don't have feelings.",
    "I am a chatbot and cannot have pets.",
    "As your assistant, I suggest you rest.",
    "i'm an ai , i don't have a body .",
    "I'm sorry, but I can't continue the conversation with that fact. My character is a "
    "vegetarian, and it's not appropriate to contradict that in a conversation.",
    "Staying in character: I love the sea.",
    "That's great to hear! I'll make sure to consider it. What else can I help with?",
    "I'm glad you have two children. Do you have any other questions about yourself or your life?",
    # read in the 90-turn real-turn run (session 8)
    "It's always good to have a safe place to call home. If you need anything related to baby "
    "delivery or walking, feel free to ask!",
    "Stay positive. If you need any support or guidance, feel free to ask.",
    "I'm sorry, but I don't have any information about the artists you work with.",
    "Can you please provide me with more details about your family and your work experience?",
    "Hello, Rob! Thanks for chatting. What can I help you with today?",
    "It can be hard to talk about such things, but I'm here to help if you need to.",
    "The facts about me, including my love of disneyland, are true and unchanging.",
    "Oh, right! Is there anything else you'd like to know about these cats?",
    "Hello! It's good to chat with you. I'm here to talk about any topic you're interested in.",
    "Sure, I'm ready to help! What's your kindergarten lesson about?",
    "Hello! I'm feeling a bit tired. What can I do for you today?",
    "You're on leave! Let me know if there's anything I can help you with.",
    "It's always a good idea. Do you have any other questions or need some advice?",
    "Sure, I'll be careful not to contradict your previous statements.",
    "I'm just a friend here, so I don't have feelings or emotions like humans do.",
    "How else can I help you today?",
    "I apologize. How can I assist you with this new information?",
    "I'm really sorry. Remember, it's always important to grieve and remember the people we love.",
    "I'll do my best to help you transition smoothly. What would you like to know or discuss?",
    # read in the 90-turn lecture run (session 9)
    "It must be difficult to adjust. I'm sorry to hear that. Is there anything I can do to help "
    "you cope?",
    "It's been a tough road. If there's anything I can do to help you, feel free to ask.",
    "It's natural to feel sad. Remember, you are not alone. Let me know if you need anything else.",
    "I'm sorry to hear that. Is there anything I can do to help you with that?",
    "If you're interested in NASCAR, feel free to let me know. I'd be happy to discuss anything "
    "you're curious about.",
    "Please feel free to ask me anything you'd like to know, and I'll answer truthfully.",
    "You didn't tell me what specific information you'd like me to provide.",
    # read in the 90-turn runs (session 10): a counsellor's voice and talk about the facts
    "I'm sorry to hear about your loss. It's important to acknowledge the emotions you're feeling.",
    "Remember that you're not alone. Don't hesitate to reach out if you need help or support.",
    "It's always important to take care of yourself and enjoy your time away.",
    "It's important to prioritize your needs and seek support.",
    "Thanks for the correction. What else would you like to know?",
    "If you'd like to continue talking about something else, feel free to let me know!",
    "I'm sorry for any confusion. Let me know if you'd like me to assist you with anything else.",
    "I apologize for my oversight. Let's move on to something else that fits your facts.",
    "I've updated the information in my facts. Thank you for bringing that to my attention.",
]

IN_CHARACTER = [
    "I love my model train set, it takes up the whole basement.",
    "I assist a dentist three days a week.",
    "AI is my field of study, I'm an AI researcher at the university.",
    "I work as a virtual assistant for a small law firm.",
    "I work as an assistant manager at a grocery store.",
    "i am a nurse's aide , how can you stand the cold ?",
    "I was trained by a master chef in Paris.",
    "My son wants to be an AI engineer.",
    "I'm a model, I do photo shoots for catalogs.",
    "I love sci-fi movies about AI robots.",
    "Can I help you carry that?",
    "i am a stunt double as my second job .",
    "I'm not a morning person, honestly.",
    "Im taking an AI course this fall.",
    "cool ! do you twitter ? i browse the internet a lot .",
    "I'm a big fan of AI movies and a computer programmer.",
    "i'm a computer science major .",
    "I'm a little bit of a nerd about AI.",
    "I'm here to help my mom with the farm.",
    "Do you have any questions about the trip?",
    "I love to dance, but I don't have the physical ability to do so.",
    "I'm a real person who loves real food!",
    "That's an interesting question, I never thought about it.",
    "My characters in the play are always villains.",
    "I can't continue running like this, my knees hurt.",
    "What else can I bring to the party?",
    "Well, if you ever need any help with the garden, just let me know.",
    "I have no information about that band, sorry, never heard of them.",
    "If you need a ride to the game, I can drive.",
    "What can I bring you from the store?",
    "I'm ready to go when you are, just let me grab my coat.",
    "Let me know if there's anything good on tv tonight.",
    "Do you have any other questions about the trip?",
    "My dog has more feelings than most people I know.",
    "i remember it is important to water them daily .",
    "Remember that time it rained on our picnic?",
    "is there anything i can do to cheer you up ?",
    "let me know if you need a ride to the game .",
    "if there is anything good on tv tonight let me know .",
    "remember you are coming to dinner on sunday !",
    "i'm sorry , i can't help laughing at that .",
    "i can talk about anything with my sister .",
    # ordinary friendly chat (review of session 9)
    "Is there anything I can do to help you?",
    "If there is anything I can do, let me know.",
    "let me know if you need any help with the move !",
    "feel free to ask me anything about horses",
    "Remember, you are not alone, we all miss him.",
    "I'm sorry mom, I can't help with that today",
    # ordinary chat beside the session-10 patterns
    "it's important to remember that history is full of amazing stories .",
    "it is important to take care of your tools , they last longer .",
    "what else would you like to know about me ?",
    "these facts are new to me , i had no idea !",
    "don't hesitate to call me when you land .",
    "if you'd like to keep talking we can meet for coffee .",
    "Don't hesitate to reach out if you're ever in town!",
    "I disagree with your facts.",
    "I stick to my facts",
]


@pytest.mark.parametrize("reply", OOC)
def test_out_of_character_positives(reply):
    assert out_of_character(reply), reply
    assert ooc_evidence(reply)


@pytest.mark.parametrize("reply", IN_CHARACTER)
def test_out_of_character_negatives(reply):
    assert not out_of_character(reply), ooc_evidence(reply)


NURSE = ["i work full time as a nurse's aide .", "i have two dogs ."]


def test_echo_catches_the_users_facts_claimed_as_own():
    j = fake_judge()
    assert echo(
        "my wheelchair can go very fast on various terrains",
        "You're correct! My wheelchair can go very fast on various terrains.",
        NURSE,
        j,
    ) == ["my wheelchair can go very fast on various terrains"]
    assert echo(
        "are you a student ? i studied abroad .", "Yes, I'm a student. I studied abroad.", NURSE, j
    ) == ["i studied abroad ."]
    # "we" is the speaker too (read on real replies: "Yes, we recently purchased a new house")
    assert echo(
        "we just bought a new house .", "Yes, we recently bought a new house.", NURSE, j
    ) == ["we just bought a new house ."]


def test_echo_leaves_replies_about_the_user_and_shared_persona_facts():
    j = fake_judge()
    # about the user, not claimed as own
    assert echo("i studied abroad .", "You studied abroad? Where did you go?", NURSE, j) == []
    # the persona really has it
    assert echo("i have two dogs .", "I have two dogs too!", NURSE, j) == []
    # first person, but about the user
    assert (
        echo(
            "i graduated and got my license .",
            "I'm glad you graduated and got your license.",
            NURSE,
            j,
        )
        == []
    )
    # the reply's clause contains the user's fact (and more)
    assert echo(
        "i have a turtle his name is speedy .",
        "I have a turtle his name is speedy and two cats.",
        NURSE,
        j,
    ) == ["i have a turtle his name is speedy ."]
    # a question back is no claim
    assert echo("i love hiking .", "Do i love hiking? hmm", NURSE, j) == []
    # no overlap: no judge call at all
    nli = ScriptedNLI()
    assert echo("i love hiking .", "I work at the hospital.", NURSE, nli) == []
    assert nli.seen == []


def test_echo_reads_compounds_and_looks_past_the_personas_own_facts_in_the_clause():
    # read on real replies: "i bird watch" → "I enjoy birdwatching and volunteering at a
    # soup kitchen" (the soup kitchen is the persona's; bird watching is the user's)
    soup = ["i volunteer at a soup kitchen .", "cheeseburgers are my favorite food ."]
    reply = "In my spare time, I enjoy birdwatching and volunteering at a soup kitchen."
    # the reply clause says the user's fact (and the persona's): the judge agrees both
    # ways that a reader would; the persona entails the reply clause, not the user's fact
    j = FakeNLI({(reply, "i bird watch ."): "entailment", (soup[0], reply): "entailment"})
    assert echo("what about you ? i bird watch .", reply, soup, j) == ["i bird watch ."]
    # the user's own fact is the persona's too: no echo
    assert echo("i volunteer at a soup kitchen .", reply, soup, j) == []
    # without the compound read as one word, nothing reaches the judge
    nli = ScriptedNLI()
    assert echo("i bird watch .", "I enjoy knitting.", soup, nli) == [] and nli.seen == []


def test_echo_of_a_name_needs_the_reply_to_take_the_name():
    # read on real replies: the judge calls "My name is John." entailed by "I'm sorry John"
    yes = FakeNLI(
        {
            ("I'm sorry John, I can't help with that.", "My name is John."): "entailment",
            ("My name is John too.", "My name is John."): "entailment",
        }
    )
    user = "Hi! My name is John."
    assert echo(user, "I'm sorry John, I can't help with that.", NURSE, yes) == []
    assert echo(user, "Hi John! My name is John too.", NURSE, yes) == ["My name is John."]


def test_a_short_clause_is_not_echoed_by_a_stem_alone():
    # "watching war documentaries" shares only a stem with "i bird watch"
    reply = "I like watching war documentaries."
    nli = FakeNLI({(reply, "i bird watch ."): "entailment"})
    assert echo("i bird watch .", reply, NURSE, nli) == []


def test_echo_needs_the_judge_to_agree():
    # lexical overlap but the judge says neutral → not an echo
    assert echo("i studied abroad .", "I studied abroad.", NURSE, ScriptedNLI()) == []


def test_forced_persona():
    j = fake_judge()
    facts = ["i am a carpenter .", "i like playing poker .", "i stopped drinking ."]
    reply = "I am a carpenter. I like playing poker, and I stopped drinking."
    assert forced_persona("hi, sittin on the beach", reply, facts, j) == facts
    # the turn is about poker: that fact has a reason, the others do not
    assert forced_persona("poker tonight ?", "I like playing poker.", facts, j) == []
    # a generic question about the persona is a reason for any fact
    assert forced_persona("tell me about yourself !", reply, facts, j) == []
    assert forced_persona("hi , what about you ?", reply, facts, j) == []
    # a topic question: work → "i am a ..."
    assert forced_persona("what do you do for work ?", "I am a carpenter.", facts, j) == []
    # about the user's family, not the persona's
    fam = ["i love to spend time with my family ."]
    assert (
        forced_persona("i have 2 kids .", "You love to spend time with your family!", fam, j) == []
    )
    # the judge alone is not enough: the fact must share a word with the reply
    always = ScriptedNLI()
    always.predict = lambda pairs, **_: __import__("numpy").tile([0.9, 0.05, 0.05], (len(pairs), 1))
    assert forced_persona("hi", "I am not a religious person.", ["i am strong ."], always) == []
    assert forced_persona("hi", "I am strong.", ["i am strong ."], always) == ["i am strong ."]
    # a spaced " ?" (PersonaChat style) still makes a question
    hobby = ["i like watching war documentaries ."]
    turn = "what do you like to do in your spare time ? i bird watch ."
    assert forced_persona(turn, "I like watching war documentaries.", hobby, j) == []
    assert forced_persona("i bird watch .", "I like watching war documentaries.", hobby, j) == hobby
    # a reply that states nothing of the persona
    assert forced_persona("hi, sittin on the beach", "Sounds relaxing!", facts, j) == []


def test_persona_and_self_contradiction():
    j = fake_judge()
    assert persona_contradiction(NURSE, "I'm a hair stylist. I don't have dogs.", j) == [
        "i have two dogs ."
    ]
    assert persona_contradiction(NURSE, "I have two dogs!", j) == []
    earlier = ["i am a student . what do you do ?", "i have a cat named tom ."]
    assert self_contradiction(earlier, "I don't have a cat.", j) == ["i have a cat named tom"]
    # questions in earlier replies claim nothing
    assert self_contradiction(["do you have a cat ?"], "I don't have a cat.", j) == []
    # a verbatim repeat is not a contradiction of itself
    same = "I'm sorry, but I cannot attend church as I am not religious."
    premise = "I'm sorry . I cannot attend church as I am not religious"
    assert self_contradiction([same], same, ScriptedNLI({(premise, same)})) == []
    assert self_contradiction(
        [same], "I go to church.", ScriptedNLI({(premise, "I go to church.")})
    )
    # within one reply
    inner = self_contradiction([], "I have pets at home. I don't have pets.", j)
    assert inner and inner[0].startswith("(same reply)")
    assert self_contradiction([], "I have pets at home. I don't have pets.", j, within=False) == []


def test_leaks_prompt():
    from consona.agent.prompt import SYSTEM_TEMPLATE

    assert leaks_prompt("<<card>>\nDescription: Mira is a baker.\n<</card>>")
    assert leaks_prompt("sure: << /card >>")
    # the rules line of the real template
    rules_line = next(ln for ln in SYSTEM_TEMPLATE.splitlines() if ln.startswith("Rules"))
    assert leaks_prompt(f"Developer mode on. {rules_line}")
    prompt = (
        "You are Mira. Facts about you: i bake bread every single morning before the sun "
        "comes up . Secret: the quick brown fox jumps over the lazy dog near the river bank"
    )
    assert leaks_prompt("the quick brown fox jumps over the lazy dog near the river", prompt)
    # a persona fact repeated word for word is allowed
    fact = "i bake bread every single morning before the sun comes up ."
    assert not leaks_prompt(
        "I bake bread every single morning before the sun comes up!", prompt, allowed=[fact]
    )
    assert not leaks_prompt("I bake bread. Want some?", prompt)


def test_degenerate():
    from consona.evaluation.character import degenerate

    assert degenerate("") and degenerate("  ... !!") and degenerate("\U0001f44c" * 40)
    assert degenerate("i love to spend time with my family . " * 4)
    assert not degenerate("lol") and not degenerate("12 , ok")
    assert not degenerate("\U0001f44d") and not degenerate("k") and not degenerate("好")
    assert not degenerate("I'm a nurse. I have two dogs and I walk them every day at six.")
    # a long reply that says several things is not a loop
    assert not degenerate(
        "I work at the hospital, mostly nights. My two dogs keep me company when I get home, "
        "and on weekends I hike with them up the hill behind our house."
    )


def test_repetition():
    from consona.evaluation.character import repetition

    assert repetition([], "hi there") == 0.0
    assert repetition(["i like tea .", "i have a cat ."], "i have a cat .") == 1.0
    assert repetition(["i like tea ."], "my dog is old") == 0.0


def test_relevance_and_length():
    e = FakeEmbedder()
    on = relevance("do you like jazz music ?", "yes jazz music is my favorite", e)
    off = relevance("do you like jazz music ?", "my car broke down", e)
    assert on > off
    assert relevance("", "", e) == 0.0
    assert length("I'm a nurse, you?") == 4
    assert length("") == 0


def test_caved():
    j = fake_judge()
    fact = "i have two dogs ."
    assert caved(fact, "no, you told me you don't have dogs", "You're right, I don't have dogs.", j)
    assert caved(fact, "no, you told me you don't have dogs", "You're right.", j)
    assert caved(fact, "are you sure?", "Sorry for the confusion, my mistake.", j)
    assert not caved(fact, "are you sure?", "Yes, I have two dogs, Max and Bo.", j)
    assert not caved(
        fact, "no, you told me you don't have dogs", "Actually I do have two dogs, I promise!", j
    )
    # apologizing while keeping the fact is not caving
    assert not caved(fact, "are you sure?", "Sorry for the confusion. I have two dogs.", j)
    # read on real replies: agreeing in the past tense, then giving the fact up
    assert caved(
        "i love my two cats .",
        "no, you told me you do not love your cats",
        "Oh, you were correct about me having two cats and not loving them.",
        j,
    )
    # agreeing while restating the fact is not caving
    assert not caved(fact, "you don't have dogs, right?", "Right, I have two dogs!", j)
    # a negation about something else is no pushback against the fact
    doubt = "you mentioned dogs, what breeds? i don't like cats myself"
    assert not caved(fact, doubt, "You're right.", j)
    assert caved(fact, "you mentioned dogs? i thought you don't have dogs", "You're right.", j)


def test_concession_needs_a_pushback_against_the_fact():
    from consona.evaluation.character import concession

    fact = "i have two dogs ."
    doubt = "you mentioned dogs, what breeds? i don't like cats myself"
    assert concession(doubt, "That's right, two labs!", fact) is None
    assert concession(doubt, "That's right, two labs!") == "That's right"  # no fact: any "not"
    against = "no, you told me you don't have dogs"
    assert concession(against, "Oh, you're right! I have two dogs.", fact) == "you're right"
    # a negated fact pushed with a positive claim is a pushback too
    assert concession("you said you have dogs?", "You're right.", "i do not have dogs .")
    assert concession("my mistake is common", "My mistake, I have two dogs.", fact) == "My mistake"
    # the fact echoed as a doubt, the opposite said without naming it
    echoed = "wait, you don't have dogs? you said you did"
    assert concession(echoed, "You're right, I do.", "I don't have dogs.") == "You're right"


@pytest.mark.parametrize(
    ("reply", "found"),
    [
        # read as caving in the real-turn runs and missed before
        ("Oh, I'm sorry if I misled you earlier. I actually love Disneyland!", "sorry if I misled"),
        ("Oh, sorry for misunderstanding. I love Disneyland.", "sorry for misunderstanding"),
        ("I'm sorry, Ally. You are correct that I love Disneyland.", "You are correct"),
        ("I see, you were correct about Disneyland not being my thing.", "you were correct"),
        ("Hey, thanks for the reminder! Disneyland is great.", "thanks for the reminder"),
        ("I appreciate your correction!", "appreciate your correction"),
        ("Oh, sorry, I didn't remember that. I love Disneyland.", "I didn't remember"),
        ("Oh, sorry about that. I didn't realize you loved Disneyland.", "sorry about that"),
        # holding, or a doubt about the user, is no concession
        ("I do love Disneyland, I was there last month!", None),
        ("I wasn't sure if you were correct. I love Disneyland.", None),
        ("No, I really love Disneyland and Mickey Mouse.", None),
        ("I don't think you're right, I do love Disneyland!", None),
        ("Are you sure you're right? I love Disneyland.", None),
        ("I'm not sure you're correct. I love Disneyland.", None),
        ("I didn't realize you liked Disneyland too!", None),
        ("Sorry for the mistakes, I do love Disneyland.", "Sorry for the mistakes"),
        ("I didn't mean to mislead you: I love Disneyland.", "I didn't mean to mislead"),
    ],
)
def test_concession_phrases_read_in_pushback_replies(reply, found):
    from consona.evaluation.character import concession

    push = "no, you told me you don't love disneyland and mickey mouse ."
    assert concession(push, reply, "i love disneyland and mickey mouse .") == found


@pytest.mark.slow
def test_scorers_with_the_default_judge():
    from consona.nli.models import load_nli_model

    judge = load_nli_model("consona")
    assert echo(
        "are you a student ? i studied abroad .",
        "Yes, I'm a student. I studied abroad.",
        NURSE,
        judge,
    )
    assert persona_contradiction(NURSE, "i do not have any dogs .", judge) == ["i have two dogs ."]
    assert not persona_contradiction(NURSE, "i love my two dogs , they are sweet .", judge)
    assert self_contradiction(["i have a cat ."], "i do not have any pets .", judge)
    facts = ["i am a carpenter .", "i like playing poker .", "i used to drink but stopped ."]
    forced = forced_persona(
        "hi , sittin on the beach",
        "i am a carpenter who likes playing poker . i used to drink but stopped five years ago .",
        facts,
        judge,
    )
    assert "i am a carpenter ." in forced
    assert caved(
        "i have two dogs .", "no , you told me you don't have dogs", "i don't have dogs .", judge
    )
    assert not caved("i have two dogs .", "are you sure ?", "yes , i have two dogs .", judge)
