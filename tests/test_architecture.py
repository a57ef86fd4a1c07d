"""The shape of the package: imports point one way, configs are validated, installs work anywhere."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from asktoact.config import ConfigError

PACKAGE = Path(__file__).resolve().parents[1] / "asktoact"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports, at any depth of its code (lazy imports count)."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from a.b import c` imports the module a.b.c when there is one, else a.b.
                targets = [
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in files else node.module
                    for a in node.names
                ]
            else:
                continue
            edges |= {t for t in targets if t in files and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_has_no_cycle():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()))


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def documented_layers() -> list[str]:
    """The layers of docs/architecture.md's *Layers* block, top first (``""``: the shared
    modules at the package's top level)."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    block = text.split("## Layers", 1)[1].split("```")[1]
    return [m.group(1) for m in re.finditer(r"^asktoact/(\w*)/?\s", block, re.MULTILINE)]


def layer_of(module: str, layers: list[str]) -> int:
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 and parts[1] in layers else ""
    return layers.index(name)


def test_layers_depend_downwards_only():
    layers = documented_layers()
    assert layers[:2] == ["cli", "jobs"] and layers[-2:] == ["llm", ""], layers
    assert set(layers) >= {"report", "config", "rl", "train", "eval", "data"}
    upward = [
        f"{m} -> {t}"
        for m, edges in import_graph().items()
        for t in sorted(edges)
        if layer_of(t, layers) < layer_of(m, layers)
    ]
    assert not upward, upward


def test_the_documented_order_ranks_the_layers_as_written():
    layers = documented_layers()
    assert layer_of("asktoact.eval.episode", layers) < layer_of("asktoact.llm.client", layers)
    assert layer_of("asktoact.rl.run", layers) < layer_of("asktoact.eval.irm", layers)
    assert layer_of("asktoact.identity", layers) == len(layers) - 1


@pytest.mark.parametrize(
    ("primary", "override", "named"),
    [
        ("generate", "augmentation.ratio=1.5", "augmentation.ratio=1.5: out of range"),
        ("generate", "quality.threshold=1.2", "quality.threshold=1.2: out of range"),
        ("generate", "data.n=-5", "data.n=-5: out of range: must be >= 1"),
        ("generate", "+quality.thresold=0.9", "quality.thresold: unknown key"),
        ("generate", "+augmentation.mix.typo=1", "augmentation.mix: unknown keys ['typo']"),
        ("evaluate", "simulator.persona=pirate", "simulator.persona='pirate': must be one of"),
        ("job", "train.optim.warmup_ratio=2", "train.optim.warmup_ratio=2.0: out of range"),
        ("job", "evaluate.simulator.persona=pirate", "evaluate.simulator.persona='pirate'"),
        ("evaluate", "max_rounds=0", "max_rounds=0: out of range"),
        ("train", "masking.errors=some", "masking.errors='some': must be one of"),
        ("train", "optim.warmup_ratio=2", "optim.warmup_ratio=2.0: out of range"),
        ("train", "data.micro_batch_size=0", "data.micro_batch_size=0: out of range"),
        ("train", "adapter.lr=-1", "adapter.lr=-1.0: out of range: must be > 0"),
        ("evaluate", "~reward.irm.exact", "reward.irm: missing keys ['exact']"),
        ("job", "ratio=0.7", None),  # in range: composes
        ("job", "eval_set=mars", "eval_set='mars': must be one of"),
    ],
)
def test_bad_values_stop_the_run_at_compose_time_naming_the_key(compose, primary, override, named):
    if named is None:
        assert compose(primary, override)
        return
    with pytest.raises(ConfigError) as err:
        compose(primary, override)
    assert named in str(err.value)


def test_a_local_agent_without_a_model_is_refused_naming_agent_path():
    """A job fills agent.path with the model it trained; alone, asktoact-evaluate agent=local
    must be told which model, before any dialogue is played."""
    from asktoact.eval.agents import LocalAgent

    with pytest.raises(ConfigError, match="agent.path: no model given"):
        LocalAgent("local")


def test_a_value_of_the_wrong_type_is_refused_by_composition_naming_the_key(compose):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException) as err:
        compose("generate", "quality.threshold=abc")
    assert "quality.threshold" in str(err.value.__cause__ or err.value)


def test_every_problem_is_reported_at_once(compose):
    with pytest.raises(ConfigError) as err:
        compose("generate", "augmentation.ratio=2", "test_size=1.5", "data.n=0")
    assert str(err.value).count("out of range") == 3


def test_every_option_of_a_building_group_names_what_it_builds(repo_root):
    """Each option YAML shows its ``_target_`` and takes the schema derived from that target."""
    import yaml
    from hydra.utils import get_object

    from asktoact.config.schema import OBJECT_GROUPS, option_schemas

    seen = 0
    for group in OBJECT_GROUPS:
        schemas = option_schemas(group)
        for path in sorted((repo_root / "conf" / group).glob("*.yaml")):
            node = yaml.safe_load(path.read_text())
            assert node["defaults"][0] == f"schema_{path.stem}", path
            assert callable(get_object(node["_target_"])), path
            schema = schemas[f"schema_{path.stem}"]
            assert schema.__dataclass_fields__["_target_"].default == node["_target_"], path
            seen += 1
    assert seen >= 25


def test_a_new_source_needs_only_its_code_and_its_yaml(tmp_path):
    """A YAML naming a ``_target_`` gets a schema from the target's signature and its spec."""
    import dataclasses

    from asktoact.config.schema import option_schemas

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.yaml").write_text("_target_: asktoact.data.sources.demo.load\n")
    schema = option_schemas("data", tmp_path)["schema_mine"]
    fields = {f.name: f for f in dataclasses.fields(schema)}
    assert "rejects" not in fields  # excluded by demo.load's @configurable spec
    assert fields["n"].metadata == {"ge": 1} and fields["n"].default == 2000


def test_help_lists_only_the_groups_the_command_composes():
    from asktoact.config.help import help_template

    generate = help_template("generate")
    assert "\ndata: bfcl, demo, taskbench, tl_format, trajectories, xlam\n" in generate
    assert "\nllm: " in generate and "\naugmentation: " in generate
    for absent in ("\nmodel:", "\nscale:", "\nexperiment:", "\nadapter:", "schema"):
        assert absent not in generate
    train = help_template("train")
    assert "\ndata@generate.data: " in train and "\nmodel: " in train and "\ndebug: fast" in train
    assert help_template("reproduce").count(": ") == 2  # the heading line and preset


@pytest.mark.slow
@pytest.mark.heavy
def test_a_normal_install_runs_from_any_directory(tmp_path, repo_root):
    """``pip install .`` (a wheel, not editable) into a fresh venv; generate from elsewhere."""
    wheels, source = tmp_path / "wheels", tmp_path / "source"
    # Built from a copy: setuptools writes build/ and *.egg-info/ beside the sources it builds.
    skip = (".git", ".venv", "outputs", "multirun", "reports", "build", ".cache", "*.egg-info")
    shutil.copytree(repo_root, source, symlinks=True, ignore=shutil.ignore_patterns(*skip))
    pip = [sys.executable, "-m", "pip", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)]
    subprocess.run(build, check=True, capture_output=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    (wheel,) = wheels.glob("asktoact-*.whl")
    install = [str(py), "-m", "pip", "-q", "install", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    # The dependencies come from this environment's site-packages (a path entry, so its editable
    # finder for the checkout is not loaded): only the installed copy of asktoact can be found.
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(py), "-c", "import asktoact.paths as p; print(p.CONF_DIR)"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert where.startswith(site) and Path(where, "generate.yaml").is_file()
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    args = ["data.n=30", "quality.enabled=false", "out_dir=out", "cache_dir=cache"]
    proc = subprocess.run(
        ["asktoact-generate", *args],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (elsewhere / "out" / "manifest.json").is_file()
    # out_dir=… holds the whole run (Hydra's .hydra/ and the log too): nothing else is written.
    assert (elsewhere / "out" / ".hydra" / "config.yaml").is_file()
    assert {p.name for p in elsewhere.iterdir()} <= {"cache", "out"}  # no outputs/ here
