"""The documentation: its examples run, its links stay inside the repository, the README stays short."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from generators import dataset_meta, generate
from stores import open_store
from tests.data import SMALL
from tests.test_cli import run

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [
    README,
    ROOT / "ARCHITECTURE.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "results" / "README.md",
    ROOT / "notebooks" / "README.md",
]
FENCED = re.compile(r"^```.*?^```", re.S | re.M)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("docs") / "ledger"
    with open_store(str(path)) as store:
        store.load(generate(SMALL, batch_size=8_192), dataset_meta(SMALL))
    return str(path)


def test_the_projection_example_runs(ledger: str, tmp_path: Path) -> None:
    page = (ROOT / "docs" / "projections.md").read_text()
    example = re.search(r"```python\n(# myprojections\.py\n.*?)```", page, re.S).group(1)  # type: ignore[union-attr]
    (tmp_path / "myprojections.py").write_text(example)
    spec = f"{tmp_path / 'myprojections.py'}:DepositCount"
    code, out, err = run(
        "run", ledger, "-p", spec, "--intervals", "0,10k", "--repeats", "1", "--out", str(tmp_path), "-q"
    )
    assert code == 0, err
    assert re.search(r"^\s+10,000\s+3\s.*\byes$", out, re.M)


def _tour() -> list[str]:
    """The command lines of the sh block under the README's tour heading."""
    section = re.search(r"^## A five-minute tour\n(.*?)(?=^## )", README.read_text(), re.S | re.M)
    assert section, "the README has no '## A five-minute tour' section"
    block = re.search(r"```sh\n(.*?)```", section.group(1), re.S)
    assert block, "the tour has no sh block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_tour_runs(tmp_path: Path) -> None:
    lines = _tour()
    commands = [line.split()[:2] for line in lines]
    assert all(first == "catchup" for first, _ in commands), lines  # every line of the block is run below
    assert [name for _, name in commands] == ["generate", "verify", "run", "report", "run", "compare"]
    catchup = f"{shlex.quote(sys.executable)} -m bench.cli"
    for line in lines:
        done = subprocess.run(
            catchup + line.removeprefix("catchup"),
            shell=True,  # as a reader would type it: the globs (results/*-before) expand
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        code, out, name = done.returncode, done.stdout, line.split()[1]
        if name == "compare":
            # compare exits 3 on a significant slowdown beyond the threshold; between two runs of the
            # same code that is a false alarm the README's tour cannot rule out on a busy machine.
            assert code == 0 or (code == 3 and re.search(r"\bslower$", out, re.M)), (line, code, out, done.stderr)
            assert re.search(r"^result: ", out, re.M), (line, out)
            continue
        assert code == 0, (line, code, out, done.stderr)
        if name == "generate":
            assert out.startswith("generated "), (line, out)
        elif name == "verify":
            assert re.search(r"^verified: data/ledger holds what it says$", out, re.M), (line, out)
        elif name == "run":
            found = re.search(r"^results: (.+)$", out, re.M)
            assert found and (tmp_path / found.group(1) / "run.json").is_file(), (line, out)
        elif name == "report":
            found = re.search(r"^report: (.+)$", out, re.M)
            assert found and (tmp_path / found.group(1)).is_file(), (line, out)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#* *$", FENCED.sub("", page.read_text()), re.M):
        slug = _slug(heading)
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_links_name_files_inside_the_repository(page: Path) -> None:
    assert page.is_file(), f"{page.relative_to(ROOT)} is missing"
    text = page.read_text()
    prose = re.sub(r"`[^`\n]*`", "", FENCED.sub("", text))
    targets = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)
    targets += re.findall(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", prose, re.M)
    problems = []
    for target in targets:
        if re.match(r"https?://", target):
            continue
        where, _, anchor = target.partition("#")
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", where) or where.startswith("/"):
            problems.append(f"{target}: not a relative link")
            continue
        linked = (page.parent / where).resolve() if where else page
        if not _inside(linked):
            problems.append(f"{target}: outside the repository")
        elif not linked.exists():
            problems.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            problems.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    # A path climbing out of the repository counts in code spans and blocks too (`../shared/...`).
    for climb in re.findall(r"(?<![\w./-])((?:\.\./)+[\w./-]*)", text):
        if not _inside(page.parent / climb):
            problems.append(f"{climb}: outside the repository")
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)


def test_the_readme_is_at_most_200_lines() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= 200, f"README.md has {lines} lines; move detail into docs/"


def test_every_source_file_in_the_sources_page_is_one_the_presets_take(tmp_path: Path) -> None:
    import tomllib

    from stores.foreign.presets import PG_PRESETS, layout_for
    from stores.foreign.spec import parse_spec

    page = (ROOT / "docs" / "sources.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", page, re.S)
    presets = set()
    for block in blocks:
        spec = parse_spec(tomllib.loads(block), tmp_path / "source.toml")
        presets.add(spec.preset)
        if spec.preset in PG_PRESETS:
            layout_for(spec)  # the preset takes its options and mapping
    assert presets == {"messagedb", "marten", "eventsourcing", "table", "parquet"}
