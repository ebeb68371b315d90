"""The house rules that a reader of the code relies on: imports point one way, --help is light.

Layers of bench, each importing only from itself and the layers before it:
leaves <- results <- engine <- {live, compare, report, advise, export, pytest_plugin} <- demo <- {cli, perf}.
live, compare, report, advise, export and pytest_plugin never import one another, but for one edge:
report shows advise's answer, so report may import advise (never the reverse); nothing imports
cli; stores, projections and generators never import bench. Imports inside functions and
under TYPE_CHECKING count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# (layer, group): a module may import its own group and any group of a lower layer.
LEAVES = {"bench", "bench.units", "bench.progress", "bench.prefetch", "bench.environment"}
ENGINE = {
    "bench.projection_loader",
    "bench.event_index",
    "bench.catchup_cases",
    "bench.replay",
    "bench.experiment",
    "bench.experiment_config",
    "bench.cold",
    "bench.restarted",
    "bench.run_plan",
    "bench.summarize",
    "bench.runner",
    "bench.generate",
    "bench.state",
    "bench.verify",
}
USES = ("bench.live", "bench.compare", "bench.report", "bench.advise", "bench.export", "bench.pytest_plugin")
TOP = ("bench.cli", "bench.perf")
# The one crossing within a layer: (importer, imported). advise imports no sibling, so no cycle.
ACROSS = {("bench.report", "bench.advise")}


def place(module: str) -> tuple[int, str]:
    """The (layer, group) of a bench module."""
    if module in LEAVES:
        return 0, module
    if module == "bench.results" or module.startswith("bench.results."):
        return 1, "bench.results"
    if module in ENGINE:
        return 2, module
    for group in USES:
        if module == group or module.startswith(group + "."):
            return 3, group
    if module == "bench.demo":
        return 4, module
    for group in TOP:
        if module == group or module.startswith(group + "."):
            return 5, group
    raise AssertionError(f"{module} has no layer; add it to tests/test_architecture.py and ARCHITECTURE.md")


def imported(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` (the code of ``module``) imports, absolute, wherever the import stands."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from bench import results`
    return found


def _known_bench_module(name: str) -> str | None:
    """The bench module or package ``name`` names, None for a name inside one (a class, a function)."""
    path = ROOT / Path(*name.split("."))
    return name if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file() else None


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """The imports of ``module`` that break the layer rule, one line each."""
    broken = []
    for target in sorted(imported(source, module, is_package)):
        top = target.split(".")[0]
        if not module.startswith("bench"):
            if top == "bench":
                broken.append(f"{module} imports {target}: stores, projections and generators never import bench")
            continue
        if top != "bench" or _known_bench_module(target) is None:
            continue
        (layer, group), (their_layer, their_group) = place(module), place(target)
        crossing = their_layer == layer and their_group != group and layer not in (0, 2)
        if their_layer > layer or (crossing and (group, their_group) not in ACROSS):
            broken.append(f"{module} (layer {layer}, {group}) imports {target} (layer {their_layer}, {their_group})")
    return broken


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in ("bench", "stores", "projections", "generators"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


def test_every_module_imports_only_its_own_layer_and_those_below() -> None:
    broken = [
        line
        for name, path in modules()
        for line in violations(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    ]
    assert broken == []
    assert len(modules()) > 60  # the walk really found the packages


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("bench.live.bad", "from bench.report.write import write_report", "bench.live.bad (layer 3, bench.live)"),
        ("bench.report.bad", "def f():\n    from bench.compare import judge\n", "imports bench.compare (layer 3"),
        ("bench.results.bad", "from bench.runner import execute_run", "imports bench.runner (layer 2"),
        ("bench.runner_bad", "import bench.cli", "has no layer"),
        ("bench.demo", "from bench.cli.text import format_summary", "imports bench.cli.text (layer 5"),
        ("bench.units", "from .results import Run", "bench.units (layer 0, bench.units) imports bench.results"),
        ("stores.bad", "from bench.units import format_seconds", "stores, projections and generators never"),
    ],
)
def test_a_forbidden_import_is_found(module: str, source: str, expected: str) -> None:
    try:
        found = violations(module, source)
    except AssertionError as error:  # a module outside every layer is refused too
        found = [str(error)]
    assert found and expected in found[0]


def test_the_same_layer_may_not_cross_groups_but_may_stay_within_one() -> None:
    assert violations("bench.live.tailing", "from bench.live.config import LiveConfig") == []
    assert violations("bench.compare.judge", "from bench.results import Run\nfrom bench.replay import replay") == []
    assert violations("bench.export", "from bench.pytest_plugin import ReplayBenchmark") != []
    # The report will show advise's answer: advise reads runs through bench.results, never a sibling.
    assert violations("bench.advise.fit", "from bench.live.config import LiveConfig") != []
    assert violations("bench.advise.recommend", "from bench.advise.fit import Fit") == []
    # ... and the report imports advise for its section "Which interval to run", never the other way round.
    assert violations("bench.report.interval", "from bench.advise.fit import fit_runs") == []
    assert violations("bench.advise.render", "from bench.report.document import Table") != []
    assert violations("bench.report.interval", "from bench.live.config import LiveConfig") != []


HEAVY = ("scipy", "matplotlib", "polars")


@pytest.mark.parametrize(
    "command", [[], ["run"], ["compare"], ["report"], ["live"], ["advise"], ["demo"], ["generate"]]
)
def test_help_imports_none_of_the_heavy_libraries(command: list[str]) -> None:
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from bench.cli import cli\n"
        f"result = CliRunner().invoke(cli, {[*command, '--help']!r})\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(','.join(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
