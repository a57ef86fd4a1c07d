"""The project-owned demo corpus: seeded, invented but realistic tool-calling rows, any number.

Every default run uses it, so nothing needs a network; it is also the large input of the
benchmarks. Row ``i`` depends only on ``(seed, i)``: asking for more rows never changes earlier
ones. Each row has 1–4 calls drawn from ``demo_apis.APIS`` and lists those tools plus a few
distractor tools from the same domains, as xlam rows do.
"""

from __future__ import annotations

import random
from typing import Any

from asktoact.configurable import configurable
from asktoact.data.sources.demo_apis import APIS, CONNECTORS
from asktoact.errors import ConfigError
from asktoact.schema import Example, ParamSpec, ToolCall, ToolSpec

_POOLS: dict[str, list[Any]] = {
    "city": [
        "Lisbon",
        "Osaka",
        "Nairobi",
        "Toronto",
        "Santiago",
        "Krakow",
        "Auckland",
        "Montreal",
        "Seville",
        "Hanoi",
        "Reykjavik",
        "Marrakesh",
        "Porto",
        "Dublin",
        "Zagreb",
        "Tallinn",
        "Bogota",
        "Lima",
        "Perth",
        "Oslo",
        "Helsinki",
        "Valencia",
        "Busan",
        "Cebu",
        "Accra",
        "Quito",
        "Tbilisi",
        "Bergen",
        "Leeds",
        "Nantes",
        "Graz",
        "Turin",
        "Malmo",
        "Ghent",
    ],
    "airport": [
        "LIS",
        "KIX",
        "NBO",
        "YYZ",
        "SCL",
        "KRK",
        "AKL",
        "YUL",
        "SVQ",
        "HAN",
        "KEF",
        "RAK",
        "OPO",
        "DUB",
        "ZAG",
        "TLL",
        "BOG",
        "LIM",
    ],
    "currency": [
        "EUR",
        "USD",
        "JPY",
        "GBP",
        "CHF",
        "CAD",
        "AUD",
        "SEK",
        "NOK",
        "PLN",
        "BRL",
        "INR",
    ],
    "ticker": [
        "AAPL",
        "MSFT",
        "NVDA",
        "AMZN",
        "TSLA",
        "ORCL",
        "INTC",
        "CSCO",
        "ADBE",
        "SHOP",
        "UBER",
        "ABNB",
    ],
    "person": [
        "Amara",
        "Bruno",
        "Chiara",
        "Dmitri",
        "Elena",
        "Farid",
        "Greta",
        "Hiro",
        "Ines",
        "Jonas",
        "Kavya",
        "Liam",
        "Mei",
        "Nadia",
        "Omar",
        "Priya",
        "Quentin",
        "Rosa",
        "Sven",
        "Tariq",
        "Uma",
        "Viktor",
        "Wen",
        "Yusuf",
        "Zoe",
    ],
    "units": ["metric", "imperial"],
    "subject": [
        "Quarterly budget",
        "Team offsite",
        "Invoice 5521",
        "Lunch on Friday",
        "Project kickoff",
        "Lease renewal",
        "Conference travel",
        "Design review",
    ],
    "message": [
        "running ten minutes late",
        "the report is ready",
        "call me when you land",
        "dinner is at eight",
        "please review the draft",
        "the keys are under the mat",
    ],
    "group": ["Book Club", "Climbing Crew", "Family", "Product Team", "Hiking Buddies"],
    "event": [
        "Dentist visit",
        "Sprint planning",
        "Yoga class",
        "Parent meeting",
        "Guitar lesson",
        "Tax consultation",
        "Car service",
    ],
    "reminder": [
        "water the plants",
        "call grandma",
        "pay the rent",
        "take my vitamins",
        "renew my passport",
        "feed the cat",
    ],
    "product": [
        "running shoes",
        "noise-cancelling headphones",
        "espresso machine",
        "desk lamp",
        "yoga mat",
        "backpack",
        "electric kettle",
        "phone charger",
    ],
    "brand": ["Acme", "Northwind", "Globex", "Initech", "Umbrella"],
    "cuisine": ["Thai", "Peruvian", "Ethiopian", "Korean", "Lebanese", "Mexican", "Georgian"],
    "ingredients_item": [
        "chickpeas",
        "spinach",
        "lemon",
        "feta",
        "rice",
        "mushrooms",
        "tofu",
        "eggs",
        "tomatoes",
        "basil",
    ],
    "restaurant": ["Casa Verde", "Blue Lotus", "Luigi's", "Spice Route", "The Golden Fork"],
    "dish": ["pad thai", "margherita pizza", "falafel wrap", "ramen", "tacos al pastor"],
    "street": ["Maple Street", "Harbour Road", "Elm Avenue", "Station Square", "Mill Lane"],
    "activity": ["running", "swimming", "cycling", "rowing", "yoga", "climbing"],
    "specialty": ["dermatologist", "cardiologist", "dentist", "optometrist", "physiotherapist"],
    "song": [
        "Blue Horizon",
        "Paper Lanterns",
        "Midnight Train",
        "Salt and Honey",
        "Glass Garden",
        "Northern Lights",
        "Slow River",
    ],
    "artist": ["The Lumens", "Nova Reyes", "Echo Park", "Marta Silva", "Cold Harbour"],
    "movie": [
        "The Last Orbit",
        "Silent Harbor",
        "Paper Kingdom",
        "Night Market",
        "A Year in Kyoto",
    ],
    "playlist": ["Road Trip", "Focus Mode", "Sunday Morning", "Workout Mix"],
    "mode": ["driving", "walking", "transit", "cycling"],
    "place": ["pharmacy", "bakery", "gas station", "library", "coffee shop", "bike shop"],
    "room": ["living room", "bedroom", "kitchen", "office", "nursery"],
    "appliance": ["dishwasher", "washing machine", "oven", "dryer"],
    "program": ["eco", "quick wash", "intensive", "delicate"],
    "team": ["Porto Lions", "Valencia Comets", "Oslo Ravens", "Lima Condors", "Graz Falcons"],
    "league": ["Premier League", "La Liga", "Serie A", "Bundesliga", "Eredivisie"],
    "job": ["data engineer", "nurse", "UX designer", "electrician", "accountant", "chef"],
    "yesno": ["yes", "no"],
    "phrase": [
        "where is the train station",
        "good morning",
        "thank you very much",
        "how much does this cost",
        "I am allergic to peanuts",
    ],
    "language": ["Portuguese", "Japanese", "Swahili", "Polish", "Icelandic", "Vietnamese"],
    "word": ["serendipity", "ephemeral", "ubiquitous", "laconic", "quixotic", "sonder"],
}

_RANGES = {  # kind -> (low, high) for integers
    "hour": (0, 23),
    "small_count": (2, 8),
    "nights": (2, 14),
    "period": (7, 365),
    "principal": (5000, 500000),
    "years": (2, 30),
    "minutes": (15, 120),
    "price": (20, 900),
    "rating": (3, 5),
    "weight": (45, 120),
    "height": (150, 200),
    "radius": (200, 3000),
    "temperature": (16, 26),
    "percent": (10, 90),
    "season": (2015, 2025),
    "experience": (1, 25),
    "amount": (10, 5000),
    "bedrooms": (1, 5),
    "rent": (800, 4000),
}


def _value(kind: str, rng: random.Random) -> Any:
    if kind in _POOLS:
        return rng.choice(_POOLS[kind])
    if kind in _RANGES:
        return rng.randint(*_RANGES[kind])
    if kind == "date":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if kind == "time":
        return f"{rng.randint(6, 21):02d}:{rng.choice(['00', '15', '30', '45'])}"
    if kind == "rate":
        return round(rng.uniform(1.5, 9.5), 2)
    if kind == "email":
        return f"{rng.choice(_POOLS['person']).lower()}.{rng.randint(10, 99)}@example.com"
    if kind == "phone":
        return f"+1-555-01{rng.randint(10, 99)}"
    if kind == "order_id":
        return f"ORD-{rng.randint(100000, 999999)}"
    if kind == "address":
        return f"{rng.randint(2, 250)} {rng.choice(_POOLS['street'])}"
    if kind in ("tickers", "people", "songs", "ingredients"):
        pool = {"tickers": "ticker", "people": "person", "songs": "song"}.get(kind, kind + "_item")
        return rng.sample(_POOLS[pool], rng.randint(2, 3))
    raise KeyError(f"demo corpus has no generator for parameter kind {kind!r}")


def _surface(value: Any) -> str:
    """How a value is written in the query: lists as 'a, b and c', everything else as text."""
    if isinstance(value, list):
        items = [str(v) for v in value]
        return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0]
    return str(value)


_TOOLS = {
    name: ToolSpec(name, desc, tuple(ParamSpec(p[0], p[1], p[3], p[4]) for p in params))
    for _, name, desc, params, _ in APIS
}


def _call(api: tuple, rng: random.Random) -> tuple[ToolCall, str]:
    _, name, _, params, templates = api
    template = rng.choice(templates)
    kinds = {p[0]: p[2] for p in params}
    used = [p for p in kinds if "{" + p + "}" in template]
    values = {p: _value(kinds[p], rng) for p in used}
    text = template.format(**{p: _surface(v) for p, v in values.items()})
    return ToolCall(name, tuple((p, values[p]) for p in used)), text


def make_row(
    seed: int, index: int, max_calls: int = 4, distractors: int = 2, catalogue=APIS
) -> Example:
    """Row ``index``: a pure function of (seed, index, settings). ``catalogue``: the APIs it may
    call (every domain by default)."""
    rng = random.Random(f"demo:{seed}:{index}")
    n_calls = rng.choices([1, 2, 3, 4][:max_calls], weights=[45, 35, 14, 6][:max_calls])[0]
    domain = rng.choice(sorted({a[0] for a in catalogue}))
    home = [a for a in catalogue if a[0] == domain]
    apis = [rng.choice(home if rng.random() < 0.6 else catalogue) for _ in range(n_calls)]
    calls, parts = [], []
    for i, api in enumerate(apis):
        call, text = _call(api, rng)
        calls.append(call)
        parts.append(text if i == 0 else rng.choice(CONNECTORS) + text[0].lower() + text[1:])
    used = list(dict.fromkeys(c.task for c in calls))
    others = [a[1] for a in catalogue if a[1] not in used]
    names = used + rng.sample(others, min(distractors, len(others)))
    rng.shuffle(names)
    return Example(
        id=f"demo-{index:06d}",
        source="demo",
        query=" ".join(parts),
        tools=tuple(_TOOLS[n] for n in names),
        solution=tuple(calls),
        domain=domain,
    )


DOMAINS = tuple(sorted({a[0] for a in APIS}))


def catalogue_of(domains: list[str] | None, exclude_domains: list[str]) -> list[tuple]:
    """The APIs of ``domains`` (all when None) less those of ``exclude_domains``."""
    unknown = sorted((set(domains or []) | set(exclude_domains)) - set(DOMAINS))
    if unknown:
        raise ConfigError(f"data.domains: unknown {unknown}; the demo domains are {list(DOMAINS)}")
    keep = [a for a in APIS if (domains is None or a[0] in domains) and a[0] not in exclude_domains]
    if not keep:
        raise ConfigError("data.domains / data.exclude_domains leave no demo API to call")
    return keep


@configurable(
    exclude=("rejects",), bounds={"n": {"ge": 1}, "max_calls": {"ge": 1}, "distractors": {"ge": 0}}
)
def load(
    n: int = 2000,
    seed: int = 0,
    max_calls: int = 4,
    distractors: int = 2,
    domains: list[str] | None = None,
    exclude_domains: list[str] | None = None,
    name: str = "demo",
    rejects=None,
):
    """``n`` demo rows, calling the APIs of ``domains`` (all by default) less those of
    ``exclude_domains`` — so a set of domains can be held out of training and make an
    out-of-domain test set of its own. ``name`` and ``rejects`` are accepted for a uniform loader
    signature and unused: generated rows carry the source ``demo`` and are never malformed."""
    catalogue = catalogue_of(domains, list(exclude_domains or []))
    return [make_row(seed, i, max_calls, distractors, catalogue) for i in range(n)]
