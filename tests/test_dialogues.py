"""Clarification questions, dialogue assembly and the five error-correction types."""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import pytest

from asktoact.constants import EOE, SOE, TAG_QUESTION, TAG_SUMMARY
from asktoact.data import assemble, augment, clarify, quality, sampling, underspecify
from asktoact.data import templates as T
from asktoact.data.augment import ERROR_TYPES
from asktoact.data.sources import demo
from asktoact.schema import render_value

UNIFORM = dict.fromkeys(ERROR_TYPES, 1)


@pytest.fixture(scope="module")
def corpus():
    examples = demo.load(n=600, seed=7)
    by_id = {e.id: e for e in examples}
    samples = [sampling.sample_parameters(e, random.Random(f"s:{e.id}")) for e in examples]
    records, _ = underspecify.run(examples, samples, seed=0)
    records, _, _ = quality.run(records, scorer=None)
    records, _ = clarify.run(by_id, records, seed=0)
    return by_id, records


def test_one_question_per_shared_missing_value(corpus):
    _, records = corpus
    for rec in records:
        gs = clarify.groups(rec)
        assert sum(len(g) for g in gs) == len(rec.removed())
        for g in gs:
            assert len({a.question for _, _, a in g}) == 1
        values = [render_value(g[0][2].value) for g in gs if g[0][2].strategy != "partial"]
        assert len(values) == len(set(values))
    assert any(len(g) > 1 for rec in records for g in clarify.groups(rec)), (
        "no shared value in corpus"
    )


def test_clean_dialogue_structure(corpus):
    by_id, records = corpus
    for rec in records[:200]:
        msgs = assemble.build_messages(by_id[rec.id], rec, seed=0)
        roles = [m["role"] for m in msgs]
        assert roles == ["user", "assistant"] * (len(roles) // 2)
        assert len(msgs) == 2 + 2 * len(clarify.groups(rec))
        assert msgs[0]["content"].startswith(T.FIRST_USER.split("{")[0])
        assert rec.unspecified_query in msgs[0]["content"]
        assert (
            msgs[1]["content"].startswith("[TASK DECOMPOSITION]")
            and "[PARAMETER EVALUATION]" in msgs[1]["content"]
        )
        final = msgs[-1]["content"]
        assert TAG_SUMMARY in final and SOE not in final
        solution = json.loads(final.split(T.SUMMARY.split("{")[0])[1])
        assert solution == [c.to_dict() for c in rec.solution()]
        for g, user in zip(clarify.groups(rec), msgs[2::2], strict=False):
            assert (g[0][2].original_value or str(g[0][2].value)) in user["content"]


def test_augmentation_ratio_is_exact_and_seeded(corpus, mix):
    _, records = corpus
    for ratio in (0.0, 0.1, 0.3, 0.5):
        out, stats = augment.run(records, ratio, seed=1, mix=mix)
        n_aug = sum(assemble.find_error(r) is not None for r in out)
        assert abs(n_aug - ratio * len(records)) <= 1
        assert stats["augmented"] == n_aug and len(out) == len(records)
    a, _ = augment.run(records, 0.3, seed=1, mix=mix)
    b, _ = augment.run(records, 0.3, seed=1, mix=mix)
    assert [r.to_dict() for r in a] == [r.to_dict() for r in b]
    assert [r.to_dict() for r in records] != [r.to_dict() for r in a]
    with pytest.raises(ValueError, match=r"augmentation.ratio must be in \[0, 1\]"):
        augment.run(records, 1.5, seed=1, mix=mix)
    with pytest.raises(ValueError, match="unknown error types"):
        augment.run(records, 0.3, seed=1, mix={"typo": 1})


def _span(text: str) -> str:
    found = re.findall(re.escape(SOE) + r" (.*?) " + re.escape(EOE), text, re.S)
    assert len(found) == 1, text
    return found[0]


def test_all_five_error_types_render_with_spans_and_corrections(corpus):
    by_id, records = corpus
    out, stats = augment.run(records, 0.5, seed=2, mix=UNIFORM)
    assert all(stats["per_type"][t] > 20 for t in ERROR_TYPES), stats
    seen = Counter()
    for clean, rec in zip(records, out, strict=True):
        err = assemble.find_error(rec)
        if err is None:
            continue
        kind = err["type"]
        seen[kind] += 1
        msgs = assemble.build_messages(by_id[rec.id], rec, seed=0)
        clean_msgs = assemble.build_messages(by_id[rec.id], clean, seed=0)
        marked = [k for k, m in enumerate(msgs) if SOE in m["content"]]
        assert len(marked) == 1 and msgs[marked[0]]["role"] == "assistant"
        k = marked[0]
        span = _span(msgs[k]["content"])
        correction_head = augment.ERRORS[kind].correction.split("{")[0][:30]
        if kind in ("imprecise", "irrelevant"):
            assert msgs[k]["content"].endswith(EOE) and msgs[k + 1]["role"] == "user"
            assert msgs[k + 2]["content"].startswith(correction_head)
            assert len(msgs) == len(clean_msgs) + 2
        else:
            assert correction_head in msgs[k]["content"].split(EOE)[1]
            assert len(msgs) == len(clean_msgs)
        # The dialogue still ends on the clean dialogue's summary, with the gold solution.
        final = msgs[-1]["content"].split(TAG_SUMMARY)
        assert (
            final[-1] == clean_msgs[-1]["content"].split(TAG_SUMMARY)[-1] and SOE not in final[-1]
        )
        questions = [g[0][2].question for g in clarify.groups(rec)]
        if kind == "redundant":
            earlier = questions[: err["slot"]]
            assert span.startswith(TAG_QUESTION) and span[len(TAG_QUESTION) + 1 :] in earlier
        elif kind == "incomplete":
            assert span.startswith(TAG_SUMMARY) and "<unknown_" in span
        elif kind == "clearly_stated":
            i, name = err["target"]
            assert not rec.key_info[i].arguments[name].removed
            assert span.startswith(TAG_QUESTION) and name.split("_")[0] in span.lower()
        else:
            assert span.startswith(TAG_QUESTION) and span[len(TAG_QUESTION) + 1 :] not in questions
    assert set(seen) == set(ERROR_TYPES)


def test_error_types_respect_eligibility(corpus):
    _, records = corpus
    level0 = next(r for r in records if not r.removed())
    assert augment.eligible_types(level0) == ["clearly_stated", "irrelevant"]
    with_gap = next(
        r for r in records if r.removed() and any(not a.removed for _, _, a in r.params())
    )
    assert augment.eligible_types(with_gap) == list(ERROR_TYPES)
    for seed in range(30):
        rec = augment.inject(with_gap, "redundant", random.Random(seed))
        assert assemble.find_error(rec)["slot"] >= 1
