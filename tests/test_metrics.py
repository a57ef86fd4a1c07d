"""Metrics on hand-computed fixtures (AskToAct F.3), and robust parsing of assistant turns."""

from __future__ import annotations

import pytest

from asktoact.eval.dialogues import DialogueTask
from asktoact.eval.metrics import Outcome, canonical, f1, score_solution
from asktoact.eval.parse import parse_solution, parse_turn

DIALOGUES = DialogueTask()

GOLD1 = [{"task": "a", "arguments": [{"name": "x", "value": 1}, {"name": "y", "value": "b"}]}]
GOLD2 = [
    {"task": "a", "arguments": [{"name": "x", "value": 1}]},
    {"task": "c", "arguments": [{"name": "z", "value": True}]},
]
PRED2 = [
    {"task": "a", "arguments": [{"name": "x", "value": 1.0}]},
    {"task": "d", "arguments": [{"name": "z", "value": True}]},
]


def test_solution_scores_by_hand():
    assert score_solution(GOLD1, GOLD1) == (True, 1.0, 1.0)
    # APIs {a, d} vs {a, c}: P = R = 1/2 -> F1 1/2; triples (a,x,"1") hit, (d,z) vs (c,z) miss -> 1/2
    assert score_solution(PRED2, GOLD2) == (True, 0.5, 0.5)
    assert score_solution(None, GOLD1) == (False, 0.0, 0.0)
    # one of two gold triples, one extra wrong: P = 1/2, R = 1/2
    half = [{"task": "a", "arguments": [{"name": "x", "value": "1"}, {"name": "y", "value": "B"}]}]
    assert score_solution(half, GOLD1) == (True, 1.0, 0.5)


def test_aggregate_matches_a_hand_computation():
    outcomes = [
        Outcome("q1", intents=2, clarified=2, rounds=2, valid=True, tss=1.0, prs=1.0, n_calls=1),
        Outcome(
            "q2",
            intents=1,
            clarified=0,
            rounds=3,
            valid=True,
            tss=0.5,
            prs=0.5,
            n_calls=2,
            errors={"irrelevant": 2, "redundant": 1, "incomplete": 1},
            no_question=1,
        ),
        Outcome(
            "q3",
            intents=0,
            clarified=0,
            rounds=0,
            valid=False,
            tss=0.0,
            prs=0.0,
            n_calls=1,
        ),
    ]
    m = DIALOGUES.aggregate(outcomes)
    # U = 3, C = 2, T = 5, N = 3
    assert m["ICR"] == pytest.approx(2 / 3)
    assert m["CE"] == pytest.approx(2 / 5)
    assert m["CPS"] == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))  # = 0.5
    assert m["CPS"] == pytest.approx(0.5)
    assert m["IR"] == pytest.approx(5 / 3)
    assert m["SCR"] == pytest.approx(2 / 3)
    assert m["TSS"] == pytest.approx(0.5) and m["PRS"] == pytest.approx(0.5)
    assert m["NQ"] == pytest.approx(1 / 5)  # one of the five rounds asked nothing
    # Table 6 over the underspecified queries q1, q2 (5 rounds); q3 asks for nothing.
    assert m["err_irrelevant"] == pytest.approx(2 / 5) and m["err_redundant"] == pytest.approx(
        1 / 5
    )
    assert m["err_incomplete"] == pytest.approx(1 / 2) and m["err_imprecise"] == 0.0
    by_calls = DIALOGUES.breakdown(outcomes, "n_calls")
    assert (
        by_calls[1]["N"] == 2
        and by_calls[1]["ICR"] == pytest.approx(1.0)
        and by_calls[2]["CE"] == 0.0
    )


def test_format_and_behaviour_columns_by_hand():
    """q1 parsed, 3 rounds (one asked nothing), 1 of its 2 questions precise, 1 of 2 intents
    clarified, PRS 0.5; q2 parsed, no round, 1 intent not clarified, PRS 1; q3 unparsable, 2
    questions both precise, its 2 intents clarified, PRS 0; q4 unparsable, asking nothing."""
    outcomes = [
        Outcome("q1", 2, 1, 3, True, 1.0, 0.5, 1, no_question=1, parsed=True, precise=1),
        Outcome("q2", 1, 0, 0, True, 1.0, 1.0, 1, parsed=True, precise=0),
        Outcome("q3", 2, 2, 2, False, 0.0, 0.0, 1, parsed=False, precise=2),
        Outcome("q4", 0, 0, 0, False, 0.0, 0.0, 1, parsed=False, precise=0),
    ]
    m = DIALOGUES.aggregate(outcomes)
    assert m["ASK"] == pytest.approx(4 / 5)  # 4 of the 5 rounds asked a question
    assert m["PARSE"] == pytest.approx(2 / 4)
    assert m["QP"] == pytest.approx(3 / 4)  # 3 precise of the 4 questions
    assert m["ICR@P"] == pytest.approx(1 / 3)  # q1, q2: 1 clarified of 3 intents
    assert m["PRS@P"] == pytest.approx(0.75)  # mean PRS of q1, q2
    assert m["ICR"] == pytest.approx(3 / 5)  # all four, for contrast
    # nothing parsed, nothing asked: the conventions of the module doc
    m = DIALOGUES.aggregate([outcomes[3]])
    assert (m["ASK"], m["PARSE"], m["QP"], m["ICR@P"], m["PRS@P"]) == (0, 0, 0, 0, 0)
    # an outcome stored before these columns existed: they are left out, not reported as 0
    old = Outcome("q5", 1, 1, 1, True, 1.0, 1.0, 1)
    assert not {"ASK", "QP"} & set(DIALOGUES.aggregate([*outcomes, old]))
    assert "QP" not in DIALOGUES.intervals([old]) and "ICR" in DIALOGUES.intervals([old])


def test_edge_cases_are_defined():
    never = [
        Outcome("q", intents=2, clarified=0, rounds=0, valid=True, tss=1.0, prs=0.5, n_calls=1)
    ]
    m = DIALOGUES.aggregate(never)
    assert (m["ICR"], m["CE"], m["CPS"], m["IR"]) == (0.0, 0.0, 0.0, 0.0)
    assert f1(set(), set()) == 1.0 and f1({1}, set()) == 0.0


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (3, 3.0, True),
        ("10", 10, True),
        (True, "true", True),
        (2.5, "2.5", True),
        ([1, 2.0], [1, 2], True),
        ("Paris", "paris", False),
        (1, True, False),
        (None, "null", True),
    ],
)
def test_canonical_form(a, b, same):
    assert (canonical(a) == canonical(b)) is same


@pytest.mark.parametrize(
    "text",
    [
        '[SUMMARY] Done. Calls to make: [{"task": "a", "arguments": [{"name": "x", "value": 1}]}] Thanks!',
        "[SUMMARY] [{'task': 'a', 'arguments': [{'name': 'x', 'value': 1}]}]",
        '[SUMMARY] ```json\n[{"task": "a", "arguments": {"x": 1}}]\n```',
        "[SUMMARY] solution: [{'name': 'a', 'arguments': [{'name': 'x', 'value': 1}]}] (as requested)",
        '[SUMMARY] [{"task": "a", "arguments": [{"name": "x", "value": }]}]',  # no value: broken
    ],
)
def test_parse_summary_variants(text):
    turn = parse_turn(text)
    assert turn.kind == "summary"
    if '"value": }' in text:
        assert turn.solution is None and turn.error  # unreadable: invalid, never a crash
    else:
        assert turn.solution == [{"task": "a", "arguments": [{"name": "x", "value": 1}]}]


def test_parse_question_and_self_corrected_errors():
    turn = parse_turn("[PARAMETER EVALUATION] x is missing. [QUESTION] Which x do you want?")
    assert (turn.kind, turn.question) == ("question", "Which x do you want?")
    fixed = parse_turn(
        '<SOE> [SUMMARY] [{"task": "a", "arguments": []}] <EOE> Sorry. [QUESTION] Which x?'
    )
    assert (fixed.kind, fixed.question) == ("question", "Which x?")
    assert parse_turn("Which city, please?").question == "Which city, please?"
    assert parse_solution("nothing here") == (None, "no solution found after [SUMMARY]")
    # an unbalanced list still yields its complete call object
    assert parse_solution('[{"task": "a", "arguments": []}')[0] == [{"task": "a", "arguments": []}]
    assert parse_solution("[True, None]")[0] is None  # a list, but not of calls
