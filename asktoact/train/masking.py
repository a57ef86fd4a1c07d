"""Masking schemes: which assistant tokens take loss, and with what weight (docs/architecture.md).

A scheme is four choices: what happens to errors (``errors``), whether key tokens are up-weighted
(``pkt``) and which tokens are key (``pkt_keys``, :mod:`asktoact.train.keytokens`), and what
becomes of the ``<SOE>``/``<EOE>`` markers in the input (``markers``, :data:`MARKER_MODES`).

=============  ========  =====  ==========================================================
scheme         errors    pkt    meaning
=============  ========  =====  ==========================================================
standard       train     no     every assistant token, injected errors too ("w/o self-correction")
selective      span      no     AskToAct: error text stays as context, takes no loss
mae            turn      no     TL-Training MAE: a turn whose tool feedback reports an error
                                (:mod:`asktoact.tools.feedback`) takes no loss; an injected
                                ``<SOE>…<EOE>`` error takes none either, but the correction
                                that follows it in the same turn is trained
pkt            train     yes    TL-Training PKT: key tokens weigh clip(|NK|/|K|, 1, w_max)
selective_pkt  span      yes
mae_pkt        turn      yes
=============  ========  =====  ==========================================================

On AskToAct dialogues, which have no tool feedback, ``mae`` and ``selective`` mask the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from asktoact.configurable import configurable
from asktoact.train.keytokens import KEY_DEFINITIONS

# What each ``errors`` mode masks: (injected <SOE>…<EOE> spans, turns the tool feedback reports
# as failed). The one list of the modes: the validator's choices and the encoder read it.
ERROR_MODES: dict[str, tuple[bool, bool]] = {
    "train": (False, False),
    "span": (True, False),
    "turn": (True, True),
}


# What becomes of the <SOE>/<EOE> markers around an injected error (the error text itself is
# always kept as context): removed, kept as plain text (split into ordinary tokens), or kept as
# two tokens added to the tokenizer, as AskToAct introduces them (``asktoact.vocab``).
# Whatever is kept takes no loss under span masking.
MARKER_MODES = ("drop", "text", "special")


@configurable(
    bounds={
        "errors": {"choices": tuple(ERROR_MODES)},
        "markers": {"choices": MARKER_MODES},
        "w_max": {"ge": 1.0},
        "pkt_keys": {"choices": KEY_DEFINITIONS},
    }
)
@dataclass(frozen=True)
class Masking:
    """One masking scheme, built from ``conf/masking/<name>.yaml`` (its values are checked by the
    config validator: ``errors`` in :data:`ERROR_MODES`, ``w_max`` >= 1)."""

    name: str
    errors: str = "span"
    pkt: bool = False
    w_max: float = 9.0
    markers: str = "drop"  # MARKER_MODES
    pkt_keys: str = "tool"  # which tokens PKT up-weights: keytokens.KEY_DEFINITIONS

    @property
    def masks_spans(self) -> bool:
        """Injected ``<SOE>…<EOE>`` errors take no loss (their correction still does)."""
        return ERROR_MODES[self.errors][0]

    @property
    def masks_failed_turns(self) -> bool:
        """MAE: a turn whose tool feedback reports an error takes no loss, whole."""
        return ERROR_MODES[self.errors][1]

    @property
    def keeps_markers(self) -> bool:
        """The markers stay in the input (as text or as the two added tokens)."""
        return self.markers != "drop"

    @property
    def adds_marker_tokens(self) -> bool:
        """``<SOE>``/``<EOE>`` are added to the tokenizer and the model's embeddings."""
        return self.markers == "special"
