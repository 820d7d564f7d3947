"""The notebooks run end to end on the smoke protocol (so they never rot) and match their generator."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("name", ["background_class.ipynb", "deep_neural_rejection.ipynb", "unified_comparison.ipynb"])
def test_notebook_runs_on_smoke(name, tmp_path, data_dir, monkeypatch):
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
