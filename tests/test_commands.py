"""Every command the documentation shows runs as written: each ``asktoact-*`` line in a code block
of the README, ``docs/`` and ``experiments/*/README.md``, and each ``Run:``/example line in the
comments of ``conf/``, names a real entry point and composes with its overrides (what
``--cfg job`` would print, validated); each ``make`` line names a real target and preset.

Placeholders are filled before composing: ``<...>`` becomes a word, ``[opt]`` is kept without its
brackets, ``...`` drops the override, and a sweep (``a=1,2``) composes with its first value.
"""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"```(?:bash|sh|console)?\n(.*?)```", re.S)
# A command line: the command, then only overrides, flags or [optional] overrides, a comment.
COMMAND = re.compile(r"(asktoact-[a-z]+|make [a-z-]+)(\s+(\[?[\w.+/\-]+=\S*|--\S+))*\s*(#.*)?$")


def entry_points() -> dict[str, str]:
    """console script -> its Hydra config name (asktoact-x runs conf/x.yaml)."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    scripts = cfg["options.entry_points"]["console_scripts"].split("\n")
    names = [line.split("=")[0].strip() for line in scripts if line.strip()]
    return {name: name.removeprefix("asktoact-") for name in names}


def documented_lines() -> list[tuple[str, str]]:
    """(where, command line) for every documented command, continuation lines joined."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        found += [(doc.name, x) for block in FENCE.findall(doc.read_text()) for x in join(block)]
    for doc in sorted((ROOT / "experiments").glob("*/README.md")):
        rel = str(doc.relative_to(ROOT))
        found += [(rel, x) for block in FENCE.findall(doc.read_text()) for x in join(block)]
    for yaml in sorted((ROOT / "conf").rglob("*.yaml")):
        for line in yaml.read_text().splitlines():
            m = re.match(r"\s*#\s*(?:Run:\s*)?((?:asktoact-|make )\S.*)", line)
            if m and COMMAND.match(m.group(1)):  # not a header line that names a command
                found.append((str(yaml.relative_to(ROOT)), m.group(1)))
    return [(where, line) for where, line in found if command_of(line)]


def join(block: str) -> list[str]:
    return [x.strip() for x in block.replace("\\\n", " ").splitlines() if x.strip()]


def command_of(line: str) -> str | None:
    head = line.split()[0].removeprefix(".venv/bin/")
    return head if head.startswith("asktoact-") or head == "make" else None


def overrides_of(words: list[str]) -> list[str]:
    out = []
    for word in words:
        if word.startswith("-") or "..." in word:
            continue  # --multirun, --cfg; an elided value
        word = word.strip("[]")
        key, _, value = word.partition("=")
        if "," in value and not value.startswith(("[", "'", '"')):
            value = value.split(",")[0]  # a sweep: its first point
        out.append(f"{key}={value}")
    return out


LINES = documented_lines()


def test_the_documentation_shows_commands_at_all():
    commands = {command_of(line) for _, line in LINES}
    assert {"asktoact-generate", "asktoact-train", "asktoact-evaluate", "asktoact-job"} <= commands
    assert len(LINES) > 40


@pytest.mark.parametrize(("where", "line"), LINES, ids=[f"{w}:{x[:60]}" for w, x in LINES])
def test_a_documented_command_names_an_entry_point_and_composes(where, line, compose):
    words = shlex.split(re.sub(r"<[^>]*>", "x", line), comments=True)
    head = words[0].removeprefix(".venv/bin/")
    if head == "make":
        make_line_is_real(words[1:])
        return
    scripts = entry_points()
    assert head in scripts, f"{where}: {head} is not an entry point ({sorted(scripts)})"
    compose(scripts[head], *overrides_of(words[1:]), hydra_config=True)


def make_line_is_real(words: list[str]) -> None:
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            if key == "SCALE":
                assert (ROOT / "conf/preset" / f"{value}.yaml").exists(), f"no preset {value}"
        else:
            assert word in targets, f"make {word}: no such target ({sorted(targets)})"
