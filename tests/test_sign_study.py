"""The sign study (`replication.dnr.sign`): its design, the pairing of its cells, its effects, and a smoke run that
adopts the DNR run's network, resumes without computing and lists every unit it writes."""
from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from replication.data import draws
from replication.dnr import sign, sign_report
from replication.runs import ledger, protocols


def test_the_paper_design_crosses_the_three_factors_and_changes_nothing_else():
    s = sign.study("paper")
    cells = s.cells()
    assert len(cells) == 8 and len({c.name for c in cells}) == 8
    assert {c.epochs for c in cells} == {3, 50} and {c.svm_train for c in cells} == {2000, 10000}
    assert {c.layers for c in cells} == {"paper", "authors"}
    paper = protocols.dnr("paper").mnist
    for c in cells:
        p = sign.cell_dataset(s, c)
        assert (p.epochs, p.svm_train, p.feature_layers) == (c.epochs, c.svm_train, sign.LAYER_SETS[c.layers])
        assert (p.test, p.eps_grid, p.runs) == (500, s.eps_grid, 1)
        kept = {f.name for f in dataclasses.fields(p)} - {"epochs", "svm_train", "feature_layers", "test",
                                                           "eps_grid", "runs", "line_search_check"}
        assert all(getattr(p, k) == getattr(paper, k) for k in kept)
    assert sign.study("paper").epochs[0] == protocols.dnr("fast").mnist.epochs  # the fast protocol's epochs


def test_every_cell_attacks_the_same_digits_and_the_small_svm_sets_nest():
    """Cells are paired: same test and validation digits; the 2,000 SVM digits are the first of the 10,000; the
    test digits are the paper run 0's first 500."""
    rng = np.random.default_rng(0)
    pool = draws.Pool(np.zeros((80000, 28, 28), np.uint8), rng.integers(0, 10, 80000), np.arange(30000),
                      np.arange(30000, 80000), "synthetic", np.arange(60000, 80000))
    s = sign.study("paper")
    draw = sign.shared_draw(s, pool, 0)
    small, large = (sign.cell_draw(draw, c) for c in s.cells()[:3:2])
    assert len(small["svm_train"]) == 2000 and len(large["svm_train"]) == 10000
    np.testing.assert_array_equal(small["svm_train"], large["svm_train"][:2000])
    for key in ("validation", "test"):
        np.testing.assert_array_equal(small[key], large[key])
    run0 = draws.run_draw(pool, protocols.dnr("paper").mnist, 0, 0)
    np.testing.assert_array_equal(draw["test"], run0["test"][:500])
    np.testing.assert_array_equal(draw["svm_train"], run0["svm_train"])


def test_main_effects_name_the_factor_that_moves_the_difference():
    """DNR - NR of +1 per digit in the 50-epoch cells and -1 in the 3-epoch cells: the epochs effect is +200 points
    (high minus low, not the reverse) and the other two are 0."""
    s = sign.study("paper")
    per_digit = {c.name: np.full(40, 1.0 if c.epochs == 50 else -1.0) for c in s.cells()}
    effects = sign.main_effects(s, per_digit)
    assert effects["epochs"]["estimate"] == pytest.approx(200.0)
    assert effects["svm_train"]["estimate"] == 0.0 and effects["layers"]["estimate"] == 0.0
    line = sign_report.headline({"study": dataclasses.asdict(s), "effects": {"paper": effects}})
    assert line.index("network epochs") < line.index("SVM training digits") and "moves it" in line
    both = sign_report.headline({"study": dataclasses.asdict(s), "effects": {"paper": effects, "restart": effects}})
    assert both.startswith(line.split(": ")[0]) and both.count("network epochs") == 2 and "with the restart" in both


def test_interactions_are_the_design_contrasts_and_leave_the_main_effects_alone():
    """DNR - NR of +1 where epochs and layers are both at their higher or both at their lower level, -1 otherwise:
    a pure epochs x layers interaction of +200 points (the epochs effect is +200 with the authors' layers and -200
    with the paper's: half their difference), every main effect and every other interaction 0."""
    s = sign.study("paper")
    same = lambda c: (c.epochs == 50) == (c.layers == "authors")  # noqa: E731
    per_digit = {c.name: np.full(40, 1.0 if same(c) else -1.0) for c in s.cells()}
    joint = sign.interactions(s, per_digit)
    assert set(joint) == {"epochs x svm_train", "epochs x layers", "svm_train x layers", "epochs x svm_train x layers"}
    assert joint["epochs x layers"]["estimate"] == pytest.approx(200.0)
    assert all(v["estimate"] == 0.0 for k, v in joint.items() if k != "epochs x layers")
    assert all(v["estimate"] == 0.0 for v in sign.main_effects(s, per_digit).values())


@pytest.mark.data
@pytest.mark.slow
def test_smoke_study_adopts_resumes_and_lists_its_units(dnr_smoke_run, data_dir, tmp_path):
    # the DNR smoke run as the DNR folder beside the study (`sign.dnr_folder`): <root>/dnr/smoke
    source = tmp_path / "dnr" / "smoke"
    shutil.copytree(dnr_smoke_run[0], source, ignore=shutil.ignore_patterns("state.joblib"))
    s = sign.study("smoke")
    out = tmp_path / "dnr-sign" / "smoke"
    assert sign.dnr_folder(out, "smoke") == source
    first = sign.run(s, out, str(data_dir), 0)
    # the 1-epoch network is the DNR smoke run's (same data, seed and training): adopted, not trained again
    assert (out / "models" / "mnist_e1_dnn.keras").read_bytes() == (source / "models" / "mnist_dnn.keras").read_bytes()
    assert set(first["cells"]) == {c.name for c in s.cells()}
    assert set(first["effects"]["paper"]) == set(s.factors()) | {"epochs x svm_train", "epochs x layers",
                                                               "svm_train x layers", "epochs x svm_train x layers"}
    report = (out / "report.md").read_text()
    assert all(words in report for words in ("Main effects", "Interactions", "In one line", "Where the effects come "
                                             "from", "Cross-check"))
    # the cell at the DNR run's settings is that run's run 0: same NR/DNR, same outcome on every digit
    check = first["ledger_agreement"]
    assert check["cell"] == "e1-s200-paper" and check["defenses_digest_differences"] == []
    assert check["same_outcomes"] == check["outcomes"] == 2 * 2 * s.test
    # every unit the ledger expects is there, and nothing else
    written = {str(p.relative_to(out)) for p in out.rglob("units/**/*.json")}
    expected = {str(sign.unit_path(out, n).relative_to(out)) for n in sign.unit_names(s) if not n.endswith("/network")}
    assert written == expected
    # a rerun computes nothing and gives the same numbers
    mtimes = {p: p.stat().st_mtime for p in out.rglob("units/**/*.json")}
    again = sign.run(s, out, str(data_dir), 0)
    assert {p: p.stat().st_mtime for p in out.rglob("units/**/*.json")} == mtimes
    assert json.dumps(again["cells"], sort_keys=True) == json.dumps(first["cells"], sort_keys=True)
    # the DNR run beside it (<root>/dnr/<level>) reports the study in its section on the sign
    from replication.dnr import experiment
    experiment.run(protocols.dnr("smoke"), source, str(data_dir), 0, scope=protocols.Scope(datasets=("mnist",)))
    section = (source / "report.md").read_text().split("## What moves the sign of DNR - NR")[1]
    assert "Main effects" in section and sign_report.headline(first) in section


def test_the_ledger_estimates_every_unit_of_the_paper_study():
    """`python -m replication status` counts the study's cells with the DNR units' kinds: none without an
    estimate."""
    names = ledger.unit_names("dnr-sign", sign.study("paper"))
    assert ledger.kind("cells/e3-s2000-paper/mnist/run0/nr/double_init/eps1") == "mnist/run*/*/double_init/eps*"
    units = [ledger.UnitState(n, False, None) for n in names]
    ledger.estimate(units, "dnr-sign", "")
    assert all(u.seconds is not None for u in units), [u.name for u in units if u.seconds is None]


class JobByJob:
    """An engine that runs each job's function here, one after another: the path a Ray worker takes."""

    def run(self, stages) -> None:
        for stage in stages:
            for job in stage:
                job.fn(*job.args)

    def describe(self):
        return {"name": "job by job"}


@pytest.mark.data
@pytest.mark.slow
def test_the_study_computed_job_by_job_is_the_in_process_one(dnr_smoke_run, data_dir, tmp_path):
    """Every job (`network:`, `params:`, `cell:`) computes its units, so the assembly after them computes nothing,
    and the numbers are those of one process."""
    source, _ = dnr_smoke_run
    s = sign.study("smoke")
    by_jobs = sign.run(s, tmp_path / "jobs", str(data_dir), 0, engine=JobByJob(), source=source)
    written = {p: p.stat().st_mtime for p in (tmp_path / "jobs").rglob("units/**/*.json")}
    assert len(written) == len([n for n in sign.unit_names(s) if not n.endswith("/network")])
    in_process = sign.run(s, tmp_path / "one", str(data_dir), 0, source=source)
    assert json.dumps(by_jobs["cells"], sort_keys=True) == json.dumps(in_process["cells"], sort_keys=True)


def test_the_report_names_the_cell_farthest_from_the_others():
    cells = {name: {"paper": {"dnr_minus_nr": {"estimate": v, "low": v - 1, "high": v + 1, "n": 500,
                                               "method": "bootstrap"}}}
             for name, v in (("a", 0.5), ("b", -12.0), ("c", 2.0), ("d", -1.0))}
    line = sign_report.extreme_cell(cells, "paper")
    assert "cell b" in line and "-12.0 points" in line and "the other 3 span -1.0 to 2.0" in line
