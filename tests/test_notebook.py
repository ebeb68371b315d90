"""notebooks/catchup_analysis.ipynb, executed on a small real run so it cannot rot."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.data import SMALL
from tests.runs import make_ledger, make_run

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK = NOTEBOOKS / "catchup_analysis.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def execute(run_dir: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CATCHUP_RUN", str(run_dir))  # the kernel inherits the environment
        client = NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
        )
        client.execute()
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    # The default small run (30k events, balances, k up to 10k) leaves the tail replay inside the
    # fixed cost's noise, so the fitted slope's sign is a coin toss there. A per-event projection
    # over 200k events with k up to 100k gives tails that cost ~10x that noise: a slope that is
    # positive run after run, on a busy machine too.
    root = tmp_path_factory.mktemp("notebook")
    store = make_ledger(root / "store", replace(SMALL, events=200_000))
    run = make_run(store, root / "results", "balances_per_event", intervals=(0, 10_000, 100_000))
    return execute(run.path)


def outputs(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]


def printed(nb: nbformat.NotebookNode) -> str:
    return "".join(output.text for output in outputs(nb) if output.output_type == "stream")


def test_every_cell_runs_and_draws_two_figures(executed: nbformat.NotebookNode) -> None:
    assert [o for o in outputs(executed) if o.output_type == "error"] == []
    images = [base64.b64decode(o.data["image/png"]) for o in outputs(executed) if "image/png" in o.get("data", {})]
    assert len(images) >= 2
    for image in images:
        assert image.startswith(PNG_SIGNATURE) and len(image) > 1024
    assert "agree with run.json's summary" in printed(executed)


def test_the_fit_is_printed_and_plausible(executed: nbformat.NotebookNode) -> None:
    text = printed(executed)
    number = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
    found = {
        name: re.search(rf"^{re.escape(name)}: {number} ?{unit}$", text, re.MULTILINE)
        for name, unit in (("fixed cost", "ms"), ("per-event cost", "µs"), ("R^2", ""))
    }
    assert all(found.values()), text
    fixed_ms, per_event_us, r2 = (float(match.group(1)) for match in found.values())
    assert per_event_us > 0
    assert 0 <= r2 <= 1
    assert fixed_ms > 0  # every catch-up pays for a snapshot load and restore, however short its tail


def test_the_notebook_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert not [cell.metadata for cell in nb.cells if "execution" in cell.metadata]  # no timings from --inplace


def test_a_folder_that_is_not_a_run_fails_with_the_results_error(tmp_path: Path) -> None:
    with pytest.raises(CellExecutionError) as failure:
        execute(tmp_path)
    assert failure.value.ename == "ResultsError"
    assert failure.value.evalue.startswith(f"no run at {tmp_path};")
