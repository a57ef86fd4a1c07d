"""Quality control with the real all-MiniLM-L6-v2 model: similarity threshold and leak check."""

from __future__ import annotations

import pytest

from asktoact.data import quality
from asktoact.schema import ArgRecord, CallRecord, TransformationRecord


def record(rid: str, query: str, original: str, current: str, strategy: str = "abstraction"):
    arg = ArgRecord(original, original, current, True, strategy)
    return TransformationRecord(
        rid, f"Book a table in {original}.", query, [CallRecord("book", {"city": arg})], 1
    )


@pytest.fixture(scope="module")
def scorer():
    return quality.SimilarityScorer()


def test_scorer_loads_the_packaged_model_offline(scorer):
    same, different = scorer.similarities([("Lisbon", "Lisbon"), ("Lisbon", "a certain city")])
    assert same == pytest.approx(1.0, abs=1e-4)
    assert different < 0.95


def test_similarity_filter_drops_rewrites_too_close_to_the_original(scorer, monkeypatch):
    monkeypatch.setattr(quality, "_MEMO", {})  # count this run's encodes, not earlier tests'
    start = scorer.encoded
    recs = [
        record("near", "Book a table in lisbon.", "Lisbon", "lisbon"),  # only the case changed
        record("far", "Book a table in a certain city.", "Lisbon", "a certain city"),
        record("gone", "Book a table.", "Lisbon", "", strategy="removal"),
    ]
    kept, dropped, counts = quality.run(recs, threshold=0.95, scorer=scorer, leak_check=False)
    assert [r.id for r in kept] == ["far", "gone"]
    assert dropped[0][0] == "near" and "similarity" in dropped[0][1]
    assert counts == {"similarity": 1, "leak": 0}
    # Only distinct non-empty strings were encoded ("Lisbon", "lisbon", "a certain city"), once
    # each (the removal contributes none), and a second pass encodes nothing again.
    assert scorer.encoded - start == 3
    quality.run(recs, threshold=0.95, scorer=scorer, leak_check=False)
    assert scorer.encoded - start == 3


def test_threshold_is_a_strict_upper_bound(scorer):
    recs = [record("far", "Book a table in a certain city.", "Lisbon", "a certain city")]
    sim = scorer.similarities([("Lisbon", "a certain city")])[0]
    assert quality.run(recs, threshold=sim - 1e-3, scorer=scorer)[2]["similarity"] == 1
    assert quality.run(recs, threshold=sim + 1e-3, scorer=scorer)[2]["similarity"] == 0


def test_leak_check_drops_queries_that_still_state_a_removed_value():
    recs = [
        record("leaky", "Book a table in a certain city, Lisbon.", "Lisbon", "a certain city"),
        record("clean", "Book a table in a certain city.", "Lisbon", "a certain city"),
    ]
    kept, dropped, counts = quality.run(recs, scorer=None)
    assert [r.id for r in kept] == ["clean"]
    assert dropped == [("leaky", "removed value still in query: city")]
    assert quality.run(recs, scorer=None, leak_check=False)[2] == {"similarity": 0, "leak": 0}


def test_partial_obfuscation_only_checks_the_hidden_element():
    arg = ArgRecord(["Ana", "Bo"], "Bo", "one more member", True, "partial")
    rec = TransformationRecord(
        "p",
        "Invite Ana and Bo.",
        "Invite Ana and one more member.",
        [CallRecord("invite", {"members": arg})],
    )
    assert quality.leaks(rec) == []
    rec.unspecified_query = "Invite Ana and Bo."
    assert quality.leaks(rec) == ["members"]
