"""Finding a parameter's value in a request's text, as the rules backend can.

A value is *located* when one of its textual forms occurs in the text as a whole token, matched
case-insensitively. The forms cover the normalisations a rule can do:

* strings: as written, with flexible punctuation between words ("San Francisco CA" finds
  "San Francisco, CA"), and ``**`` written as ``^`` (``x**2`` / ``x^2``);
* numbers: integral floats as integers, thousands separators ("15,000"), number words up to
  ninety-nine ("three", "twenty-one"), scaled words ("8.5 million"), shares as percentages
  (0.05 / "5%");
* dates (``YYYY-MM-DD``, ``DD-MM-YYYY``, ``MM-DD-YYYY``): ISO and slashed forms, written forms
  with full or abbreviated month names, ordinals and an optional year ("10th December 2022",
  "September 1, 2022", "the 10th of January, 2023");
* lists: every element located (element by element), or the list written out as one phrase.

Booleans, objects and references to another call's output are never located: a rule cannot tell
where a request states them. The underspecifier removes exactly what is located here, and the
rules backend of Algorithm 1 samples only among located values (``removable_params``), so no row
is lost because a rule could not find the value it was asked to remove.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

from asktoact.schema import Example, render_value

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_NODE_REFERENCE = re.compile(r"^<node-\d+>$")


def removable(value: object) -> bool:
    """Whether a value can be user intent at all (not empty, not another call's output)."""
    if value is None or value == "" or value == []:
        return False
    return not (isinstance(value, str) and _NODE_REFERENCE.match(value))


def _whole(body: str) -> re.Pattern[str]:
    # Whole-token match: "2" must not match inside "2026-03-02", "2.5" or "v2".
    return re.compile(rf"(?<![\w])(?<!\d[.,-]){body}(?![\w])(?![.,-]\d)", re.I)


@functools.lru_cache(maxsize=1 << 16)  # re's own cache (512) is far smaller than a corpus' values
def _literal(surface: str) -> re.Pattern[str]:
    words = re.findall(r"\w+|[^\w\s]", surface)
    if sum(w[0].isalnum() or w[0] == "_" for w in words) < 2:
        return _whole(re.escape(surface))
    # Between words, any run of spaces and punctuation (or none): "San Francisco, CA" ~ "... CA".
    alnum = [w for w in words if w[0].isalnum() or w[0] == "_"]
    return _whole(r"[\s\W_]*".join(re.escape(w) for w in alnum))


def number_words(n: int) -> list[str]:
    if not 0 <= n < 100:
        return []
    if n < 20:
        return [_UNITS[n]]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return [_TENS[tens - 2]]
    return [f"{_TENS[tens - 2]}-{_UNITS[unit]}", f"{_TENS[tens - 2]} {_UNITS[unit]}"]


def _number_forms(value: int | float) -> list[str]:
    forms = [repr(value) if isinstance(value, float) else str(value)]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
        forms.append(str(value))
    if isinstance(value, int):
        if abs(value) >= 1000:
            forms += [f"{value:,}", f"{value:,}".replace(",", " ")]
        forms += number_words(value)
    for size, word in _SCALES:
        scaled = value / size
        if abs(value) >= size and round(scaled, 3) == scaled:
            forms.append(f"{scaled:g} {word}")
    if isinstance(value, float) and 0 < abs(value) < 1:
        pct = round(value * 100, 6)
        forms += [f"{pct:g}%", f"{pct:g} percent"]
    return forms


def _as_date(text: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _date_pattern(d: dt.date) -> re.Pattern[str]:
    full = _MONTHS[d.month - 1]
    month = rf"(?:{full}|{full[:3]}\.?{'|sept' if d.month == 9 else ''})"
    day = rf"0?{d.day}(?:st|nd|rd|th)?"
    year = rf"(?:,?\s*{d.year})?"
    written = rf"(?:the\s+)?{day}\s+(?:of\s+)?{month}{year}|{month}\s*{day}{year}"
    numeric = rf"{d.year}-0?{d.month}-0?{d.day}|0?{d.month}/0?{d.day}/{d.year}|0?{d.day}/0?{d.month}/{d.year}"
    return _whole(rf"(?:{numeric}|{written})")


def patterns(value: Any) -> list[re.Pattern[str]]:
    """Patterns that find the value's textual forms, most specific first."""
    if isinstance(value, bool) or value is None or isinstance(value, dict):
        return []
    if isinstance(value, int | float):
        return [_literal(f) for f in dict.fromkeys(_number_forms(value))]
    if isinstance(value, list):
        items = [render_value(v) for v in value]
        joined = [", ".join(items), " and ".join(items), str(value)]
        if len(items) > 1:
            joined.append(", ".join(items[:-1]) + " and " + items[-1])
        return [_literal(f) for f in dict.fromkeys(joined) if f.strip()]
    text = str(value).strip()
    if not text:
        return []
    out = []
    date = _as_date(text)
    if date:
        out.append(_date_pattern(date))
    out.append(_literal(text))
    if "**" in text:
        out.append(_literal(text.replace("**", "^")))
    return out


def find_value(text: str, value: Any) -> list[re.Match[str]]:
    """Every occurrence of the value's first form found in ``text`` (empty: not located)."""
    for pattern in patterns(value):
        hits = list(pattern.finditer(text))
        if hits:
            return hits
    return []


def value_in_text(text: str, value: Any) -> bool:
    return bool(find_value(text, value))


def locatable(text: str, value: Any) -> bool:
    """Found as a whole, or — a list — element by element."""
    if find_value(text, value):
        return True
    return isinstance(value, list) and len(value) > 1 and all(find_value(text, v) for v in value)


def _spans(text: str, value: Any) -> list[tuple[int, int]]:
    """Every span a removal of the value may edit (a list may lose one element, everywhere)."""
    hits = find_value(text, value)
    if isinstance(value, list):
        hits += [h for v in value for h in find_value(text, v)]
    return [h.span() for h in hits]


def removable_params(ex: Example) -> set[tuple[int, str]]:
    """(call, parameter) pairs whose value the rules backend can take out of the query: user
    intent, located, and not sharing text with another parameter's *different* value (removing
    it would also erase a value that stays). Parameters with the same value are one intent, and
    Algorithm 1 removes them together."""
    values = {(i, n): v for i, call in enumerate(ex.solution) for n, v in call.arguments}
    spans = {
        key: _spans(ex.query, v) if locatable(ex.query, v) else []
        for key, v in values.items()
        if removable(v)
    }
    out = set()
    for key, mine in spans.items():
        same = render_value(values[key])
        others = [s for k, ss in spans.items() if render_value(values[k]) != same for s in ss]
        clash = any(a < d and c < b for a, b in mine for c, d in others)
        if mine and not clash:
            out.add(key)
    return out
