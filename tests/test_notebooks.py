"""The notebooks run end to end on the smoke protocol (so they never rot) and match their generator."""
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


# notebook: (its results folder name, the session fixture that ran the same smoke protocol in this process)
RUNS = {"background_class.ipynb": ("background", "smoke_run"), "deep_neural_rejection.ipynb": ("dnr", "dnr_smoke_run"),
        "unified_comparison.ipynb": ("unified", "unified_smoke_run")}


@pytest.mark.parametrize("name", list(RUNS))
def test_notebook_runs_on_smoke(name, tmp_path, data_dir, monkeypatch, request):
    """Every cell runs without error and shows the figures. The notebook resumes a copy of the smoke run the
    pipeline tests computed (same protocol, seed and data, so the same fingerprint): its cells run the
    experiment's entry point, which loads every unit, assembles, reports and draws, without computing the units a
    second time."""
    folder, fixture = RUNS[name]
    shutil.copytree(request.getfixturevalue(fixture)[0], tmp_path / folder / "smoke")
    monkeypatch.setenv("NOTEBOOK_PROTOCOL", "smoke")
    monkeypatch.setenv("NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("REPLICATION_DATA_DIR", str(Path(data_dir).resolve()))
    monkeypatch.setenv("PYTHONPATH", str(NOTEBOOKS.parent))  # the kernel imports this checkout's package
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum(o.output_type == "display_data" and "image/png" in o.get("data", {}) for o in outputs) >= 3


def test_notebooks_match_their_generator():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for name, cells in gen.NOTEBOOKS.items():
        saved = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert [c.source for c in saved.cells] == [c.source for c in cells], f"{name}: run notebooks/make_notebooks.py"
