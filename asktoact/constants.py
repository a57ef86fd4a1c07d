"""Constants shared by data, training and evaluation: tags, markers, levels, IGNORE_INDEX.

Everything that more than one stage must spell the same way lives here, so that the data
pipeline, the encoder and the evaluation parser can never disagree on a tag.
"""

from __future__ import annotations

# Label value for tokens that take no loss (the value torch's cross_entropy ignores by default).
IGNORE_INDEX = -100

# Assistant-turn section tags (AskToAct appendix C.2.2 structure).
TAG_DECOMPOSITION = "[TASK DECOMPOSITION]"
TAG_EVALUATION = "[PARAMETER EVALUATION]"
TAG_QUESTION = "[QUESTION]"
TAG_SUMMARY = "[SUMMARY]"
TAGS = (TAG_DECOMPOSITION, TAG_EVALUATION, TAG_QUESTION, TAG_SUMMARY)

# Markers around an injected error inside an assistant turn.
SOE = "<SOE>"
EOE = "<EOE>"

# Complexity levels of Algorithm 1.
LEVELS = {
    0: "fully specified",
    1: "single-API single-parameter",
    2: "single-API multi-parameter",
    3: "multi-API multi-parameter",
}

# Placeholder for a value the assistant does not know yet (Algorithm 3); {name} is the parameter.
UNKNOWN_VALUE = "<unknown_{name}>"
