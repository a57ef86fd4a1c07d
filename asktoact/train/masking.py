"""Masking schemes: which assistant tokens take loss, and with what weight (DESIGN.md §4).

A scheme is three choices: what happens to injected errors (``errors``), whether key tokens are
up-weighted (``pkt``), and whether the ``<SOE>``/``<EOE>`` markers stay in the input.

=============  ========  =====  ==========================================================
scheme         errors    pkt    meaning
=============  ========  =====  ==========================================================
standard       train     no     every assistant token, injected errors too ("w/o self-correction")
selective      span      no     AskToAct: error text stays as context, takes no loss
mae            turn      no     TL-Training: a whole erroneous assistant turn takes no loss
pkt            train     yes    TL-Training: key tokens weigh clip(|NK|/|K|, 1, w_max)
selective_pkt  span      yes
mae_pkt        turn      yes
=============  ========  =====  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR_MODES = ("train", "span", "turn")


@dataclass(frozen=True)
class Masking:
    name: str
    errors: str = "span"
    pkt: bool = False
    w_max: float = 9.0
    keep_markers: bool = False

    def __post_init__(self) -> None:
        if self.errors not in ERROR_MODES:
            raise ValueError(f"masking.errors must be one of {ERROR_MODES}, got {self.errors!r}")
        if self.w_max < 1.0:
            raise ValueError(f"masking.w_max must be >= 1, got {self.w_max}")


SCHEMES = {
    "standard": Masking("standard", "train"),
    "selective": Masking("selective", "span"),
    "mae": Masking("mae", "turn"),
    "pkt": Masking("pkt", "train", pkt=True),
    "selective_pkt": Masking("selective_pkt", "span", pkt=True),
    "mae_pkt": Masking("mae_pkt", "turn", pkt=True),
}
