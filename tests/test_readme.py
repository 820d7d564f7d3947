"""The README is a short page whose results come from the ledger, and whose links lead somewhere."""
import json
import re
import subprocess
from pathlib import Path

from replication.reporting import summary
from replication.runs import ledger

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def test_readme_is_short():
    assert len(README.read_text()) < 15_000


def test_results_at_a_glance_are_generated_from_the_ledger():
    text = README.read_text()
    start = text.index(summary.GLANCE_START)
    end = text.index(summary.GLANCE_END) + len(summary.GLANCE_END)
    assert text[start:end] == "\n".join(summary.glance(ROOT / "reports")).replace(str(ROOT) + "/", ""), \
        "the README's results are stale: run python -m replication.reporting.summary --readme"


def test_every_relative_link_exists():
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+)\)", doc.read_text()):
            if "://" not in target:
                assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_the_ledger_stays_light():
    """The ledger lives in git: under 100 MB there (each distinct file once), and no SVM pickle among its files."""
    size = ledger.git_bytes(ROOT / "reports")
    assert size is not None, "reports/ is not in a git checkout: the ledger's size in git cannot be read"
    assert size < ledger.BUDGET_BYTES == 100e6, f"the ledger holds {size / 1e6:.1f} MB in git"
    tracked = subprocess.run(["git", "ls-files", "reports"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert not [n for n in tracked if n.endswith(".joblib")]


def test_a_measured_selection_stays_in_the_glance_beside_its_splits():
    """The measured letters' run keeps its selection line once splits exist; the published letters' run has none."""
    lines = {v: summary.glance_background(json.loads((ROOT / f"reports/background/{v}/results.json").read_text()), "r")
             for v in ("paper", "paper-published-letters")}
    assert any(line.startswith("| digits: correct |") for line in lines["paper"]), "the measured run has splits"
    assert sum(line.startswith("Letter selection, final") for line in lines["paper"]) == 1
    assert not any(line.startswith("Letter selection") for line in lines["paper-published-letters"])
