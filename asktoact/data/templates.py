"""Every fixed sentence of the generated dialogues, written for this project.

The structure follows AskToAct appendix C.2.2 / D.2 (tags, tones, one correction per error type);
the wording is ours. ``{value}`` is the user's answer, ``{api}``/``{param}`` name an argument.
"""

from __future__ import annotations

# The assistant's instructions (AskToAct appendix F.1 structure, our words): every evaluated model
# gets them, and training dialogues carry them (train data.system_prompt), so a fine-tuned model
# sees at evaluation what it saw in training.
SYSTEM_PROMPT = (
    "You turn a user's request into API calls. The request may leave out values the calls "
    "need: never guess them, ask. Answer in these parts:\n"
    "[TASK DECOMPOSITION] the calls needed, in order.\n"
    "[PARAMETER EVALUATION] which parameters the request gives and which are missing.\n"
    "[QUESTION] one question about one missing value, then wait for the reply.\n"
    "[SUMMARY] once nothing is missing, the calls as JSON: "
    '[{"task":"<API>","arguments":[{"name":"<parameter>","value":<value>}]}]. Do not run them.'
)

# First user message: the (underspecified) request and the candidate APIs as compact JSON.
FIRST_USER = "My request: {query}\nAPIs:\n{tools}"

DECOMPOSITION = "{n} step(s): {steps}"
EVAL_KNOWN = "{param}: {value}"
EVAL_MISSING = "{param}: missing"
EVAL_STEP = "{k}. {api}: {items}."
CONFIRM = "{param} of {api} is {value}."
SUMMARY = "All values are known. Calls: {solution}"

# User answers to a clarification question, by tone (AskToAct Table 8 has the idea of tones).
TONES: dict[str, list[str]] = {
    "neutral": [
        "{value}.",
        "It's {value}.",
        "The value is {value}.",
        "Use {value}.",
    ],
    "friendly": [
        "Of course! It's {value}. Happy to help with anything else.",
        "Good question, that would be {value}!",
        "Sure thing, go with {value}. Thanks for checking!",
    ],
    "dismissive": [
        "{value}, I suppose. Does it matter that much?",
        "Fine, {value}. Can we keep going?",
        "If you must know, {value}. Not a big deal either way.",
    ],
    "irritated": [
        "{value}! How many more questions are there?",
        "Seriously, it's {value}. Please hurry up.",
        "Ugh. {value}. I really don't have time for this.",
        "It's {value}, obviously. Let's get this done already!",
    ],
}

# User replies to a question they cannot answer (imprecise or irrelevant ones), by tone.
UNCLEAR_REPLIES: dict[str, list[str]] = {
    "neutral": ["I'm not sure what you are asking for.", "Could you be more specific?"],
    "friendly": ["Happy to help, but I don't quite follow. What exactly do you need?"],
    "dismissive": ["No idea what you mean. Whatever."],
    "irritated": ["What is that even supposed to mean? Ask me properly!"],
}
IRRELEVANT_REPLIES: dict[str, list[str]] = {
    "neutral": [
        "I don't see how that matters for my request.",
        "I can't say, and it's not needed.",
    ],
    "friendly": ["Hmm, I don't think that's needed here, but feel free to ask something else!"],
    "dismissive": ["Doesn't matter. Not relevant."],
    "irritated": ["Why would you need that? It has nothing to do with what I asked!"],
}

# The assistant's correction after each error type (data/augment.py ERRORS), opening the corrected
# behaviour; ``{api}``/``{param}``/``{value}`` name the argument the error is about.
CORRECT_CLEARLY_STATED = (
    'That question was a mistake: the request already sets "{param}" for {api} to {value}, '
    "so there is nothing to ask about it."
)
CORRECT_IMPRECISE = "That question was a mistake: it was too vague to answer. Let me ask precisely."
CORRECT_IRRELEVANT = (
    "That question was a mistake: the answer would not change any API call, so I will move on."
)
CORRECT_REDUNDANT = (
    'That question was a mistake: "{param}" for {api} was already answered with {value}, '
    "so I should not ask again."
)
CORRECT_INCOMPLETE = (
    "That summary was a mistake: some values the calls need are still missing, so I have "
    "to ask first."
)

# Rules backend for semantic errors: vague and off-topic questions.
IMPRECISE_QUESTIONS = [
    "Can you tell me a bit more about what you want?",
    "Is there anything else I should know about {api_words}?",
    "How would you like me to handle the {api_words} part?",
    "Any preferences regarding this?",
    "What did you have in mind for that?",
]
IRRELEVANT_QUESTIONS = [
    "Would you like the results as a table or as a list?",
    "Which time zone are you in right now?",
    "Do you prefer dark mode or light mode?",
    "Should I also save a copy of the results to a file?",
    "How did you hear about this service?",
    "Would you like me to explain how {api} works internally?",
    "Do you want the answer in a formal or a casual style?",
]
CLEARLY_STATED_QUESTIONS = [
    'What "{param_words}" should I use for {api}?',
    "Could you tell me the {param_words} for {api}?",
]
