"""The ledger: trainings resume per epoch, a run never mixes models, units outlive releases that do not change them,
and the status command counts what is left."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from replication.background import assembly
from replication.background import experiment as background
from replication.reporting import summary
from replication.runs import ledger, protocols
from replication.runs.results import (
    UNITS_VERSION,
    ModelMismatch,
    RunStore,
    digest_differences,
    fingerprint_hash,
    load_unit,
    run_fingerprint,
    train_by_epoch,
    write_json,
)

STORED = Path(__file__).parent / "data" / "ledger" / "dnr_smoke"
# smoke units recomputed by the session's DNR smoke run and compared with the stored ones
CHECKED_UNITS = ("mnist/network_digest", "mnist/run0/defenses", "mnist/run0/defenses_digest", "mnist/run0/nr/eps1",
                 "mnist/run0/dnr/eps1", "mnist/run0/dnr/double_init/eps1")


class Cut(Exception):
    """The training is killed here."""


def test_a_cut_training_resumes_at_its_epoch_with_the_uncut_weights(tmp_path, mnist_slice):
    import keras

    from keras_models.dnr import build_mnist_net, compile_dnr_net
    x, y = mnist_slice[0][:256] + 0.5, mnist_slice[1][:256]
    epochs_run = []

    def fit(cut_at=None):
        def one_epoch(model):
            if cut_at is not None and len(epochs_run) == cut_at:
                raise Cut
            epochs_run.append(1)
            model.fit(x, y, batch_size=32, epochs=1, shuffle=True, verbose=0)
        return one_epoch

    build = lambda: compile_dnr_net(build_mnist_net(), 0.1)  # noqa: E731 - dropout: its generator must be reseeded
    uncut = train_by_epoch(tmp_path / "uncut.keras", build, fit(), 4, seed=3)
    epochs_run.clear()
    with pytest.raises(Cut):
        train_by_epoch(tmp_path / "cut.keras", build, fit(cut_at=3), 4, seed=3)
    assert json.loads((tmp_path / "cut.keras.partial" / "epochs.json").read_text())["done"] == 3
    partial_size = (tmp_path / "cut.keras.partial" / "model.keras").stat().st_size  # with SGD's momentum
    epochs_run.clear()
    resumed = train_by_epoch(tmp_path / "cut.keras", build, fit(), 4, seed=3)
    assert len(epochs_run) == 1  # only the epoch the cut lost
    for a, b in zip(uncut.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "cut.keras.partial").exists()
    record = json.loads((tmp_path / "cut.keras.json").read_text())
    assert record["done"] == 4 and record["cpu_seconds"] > 0  # CPU seconds of the cut and the resumed epochs
    kept = keras.models.load_model(tmp_path / "cut.keras")  # the network alone: no SGD momentum, uncompiled
    assert not kept.compiled and (tmp_path / "cut.keras").stat().st_size < 0.6 * partial_size
    for a, b in zip(uncut.get_weights(), kept.get_weights()):
        np.testing.assert_array_equal(a, b)
    uncut.fit(x, y, batch_size=32, epochs=1, verbose=0)  # the model returned keeps its optimizer


def test_the_ledgers_size_in_git_counts_each_distinct_file_once(tmp_path):
    """A network copied into a variant's folder is one blob in git: counted once; what is not committed, not at all."""
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper-variant").mkdir()
    (tmp_path / "paper" / "net.keras").write_bytes(b"w" * 1000)
    (tmp_path / "paper-variant" / "net.keras").write_bytes(b"w" * 1000)
    (tmp_path / "paper" / "unit.json").write_text("{}")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "ledger")
    (tmp_path / "paper" / "new.json").write_text("{" * 500 + "}" * 500)
    assert ledger.git_bytes(tmp_path) == 1002
    assert ledger.git_bytes(tmp_path / "paper-variant") == 1000
    assert ledger.git_bytes(tmp_path.parent / "nowhere") is None


def test_the_fingerprint_names_the_units_version_not_the_package_version():
    fp = run_fingerprint("dnr", protocols.dnr("smoke").to_dict(), 0, {"mnist": {"digest": "x"}})
    assert fp["units"] == UNITS_VERSION["dnr"] and "package" not in fp
    assert set(UNITS_VERSION) == {"background", "dnr", "unified", "dnr-sign"}


def test_the_letter_selections_sampling_rule_orphans_measured_letters_runs_only(tmp_path):
    """A measured-letters run's fingerprint names the selection's sampling rule (a change of it orphans the
    selection's units); a published-letters run's has no such field, so the ledger's published-letters folder, whose
    units never sample for a selection, stays this release's."""
    pool = assembly.Pool(np.zeros((4, 28, 28), np.uint8), np.arange(4), "test", "raw files")
    smoke = protocols.background("smoke")
    measured = background.open_store(smoke, tmp_path / "m", pool, 0, fork=False)
    published = background.open_store(dataclasses.replace(smoke, letters="published"), tmp_path / "p", pool, 0,
                                      fork=False)
    assert measured.fingerprint["data"]["selection_sample"] == assembly.SELECTION_SAMPLE
    assert set(published.fingerprint["data"]) == {"pool_partition", "pool_size", "pool_digest"}
    stored = json.loads((ledger.folder("background", "published-letters") / "fingerprint.json").read_text())
    p = ledger.protocol_of("background", "published-letters")
    assert set(stored["fingerprint"]["data"]) == set(published.fingerprint["data"])
    again = run_fingerprint("background", p.to_dict(), 0, stored["fingerprint"]["data"])
    assert fingerprint_hash(again) == stored["hash"]


def test_digests_allow_float_noise_only():
    stored = {"theta": 0.25, "scores": [[1.0, -2.0]], "support_vectors": [10, 12]}
    assert digest_differences(stored, {"theta": 0.25 + 1e-9, "scores": [[1.0 + 1e-7, -2.0]],
                                       "support_vectors": [10, 12]}) == []
    assert digest_differences(stored, {**stored, "theta": 0.2501})
    assert digest_differences(stored, {**stored, "support_vectors": [10, 13]})
    assert digest_differences(stored, {**stored, "scores": [[1.0, -2.0, 0.0]]})


def test_status_counts_done_units_and_estimates_the_rest_from_measured_ones(tmp_path):
    p = ledger.protocol_of("dnr", "")
    names = ledger.unit_names("dnr", p)
    assert "mnist/network" in names and "mnist/run4/dnr/double_init/eps5" in names
    assert "mnist/run1/nr/line_search/eps1" not in names  # run 0 only
    root = ledger.folder("dnr", "", root=tmp_path)
    store = RunStore(root, {"protocol": p.to_dict()})
    for name in ("mnist/run0/nr/eps1", "mnist/run0/nr/eps2"):
        write_json(root / "units" / f"{name}.json", {"result": 0, "seconds": 50.0, "fingerprint": store.hash})
    for name, seconds in (("mnist/run0/nr/double_init/eps1", 10.0), ("mnist/run0/dnr/double_init/eps1", 100.0)):
        write_json(root / "units" / f"{name}.json", {"result": 0, "seconds": seconds, "fingerprint": store.hash})
    for name, seconds in (("mnist/run0/dnn/eps0.5", 30.0), ("mnist/run0/dnn/eps1", 90.0)):
        write_json(root / "units" / f"{name}.json", {"result": 0, "seconds": seconds, "fingerprint": store.hash})
    write_json(root / "units" / "mnist/run0/dnr/eps1.json", {"result": 0, "seconds": 1.0, "fingerprint": "other"})
    write_json(root / "models" / "cifar10_dnn.keras.partial" / "epochs.json",  # a training cut at epoch 3 of 75
               {"done": 3, "of": 75, "seconds": 2400.0, "cpu_seconds": 2100.0})
    got = ledger.status("dnr", "", root=tmp_path)
    assert got.done == 6 and len(got.left) == len(names) - 6 and not got.problem
    left = {u.name: u.seconds for u in got.left}
    assert left["mnist/run3/nr/eps4"] == 50.0                       # measured here
    assert left["mnist/run1/dnn/eps0.5"] == 30.0                    # the same unit of another run first
    assert left["mnist/run1/dnn/eps2"] == 60.0                      # else its kind
    assert left["mnist/run2/dnr/double_init/eps3"] == 100.0         # the same check on the same model first
    assert left["mnist/run2/dnn/double_init/eps3"] == 55.0          # else the check on any model
    assert left["mnist/run0/dnr/eps1"] == pytest.approx(849.0 / 8)  # another run's unit counts as not done
    assert left["cifar10/run0/dnr/double_init/eps0.4"] == pytest.approx(100.0 * ledger.CIFAR_OVER_MNIST["dnr"])
    assert left["cifar10/run0/nr/eps0.4"] == pytest.approx(50.0 * ledger.CIFAR_OVER_MNIST["nr"])  # MNIST's, scaled
    assert left["cifar10/run0/defenses"] == ledger.REFERENCE_SECONDS["dnr"]["cifar10/run*/defenses"]  # no twin
    assert got.hours_left()[1] == 0                                 # every unit has an estimate
    assert left["cifar10/network"] == pytest.approx(72 * 700.0)     # its epochs left at its own CPU s per epoch
    assert left["mnist/network"] == pytest.approx(885.0)            # no training begun: the reference
    assert got.partial == "cifar10 network trained to epoch 3 of 75"
    committed = ledger.status("dnr", "", root=tmp_path, in_progress=False)  # the README's view
    assert {u.name: u.seconds for u in committed.left}["cifar10/network"] == pytest.approx(
        ledger.REFERENCE_SECONDS["dnr"]["cifar10/network"])
    assert not committed.partial
    by_part = got.hours_left_by_part()
    assert {d for d, _ in by_part} == {"mnist", "cifar10"}
    assert by_part["cifar10", "network"] == pytest.approx(72 * 700.0 / 3600)  # the training and its digest (0 s)
    assert by_part["cifar10", "defenses"] == pytest.approx(sum(
        left[f"cifar10/run{k}/defenses"] for k in range(5)) / 3600)  # the SVMs (their digest, equality: 0 s)
    assert sum(by_part.values()) == pytest.approx(got.hours_left()[0])
    assert [ledger.part(n) for n in ("cifar10/network_digest", "mnist/run2/equality", "mnist/run1/dnr/eps0",
                                     "mnist/run1/nr/line_search/eps0.2")] == ["network", "defenses", "attacks",
                                                                               "attacks"]
    assert got.timed("mnist") and not got.timed("cifar10")
    line = summary.hours_by_part(got)  # the README's split: MNIST has finished units, CIFAR-10 none
    assert line.startswith(" (MNIST: network ~0.2, defenses ~") and "attacks ~" in line.split(";")[0]
    assert "estimated" not in line.split(";")[0] and "; CIFAR-10: network ~14.0, defenses ~" in line
    assert line.endswith(", none run here yet: estimated)")
    assert str(root) in ledger.render([got])


def test_a_variant_estimates_from_the_main_folder_scaled_by_its_own_measured_attacks(tmp_path):
    def write(variant, name, seconds):
        root = ledger.folder("dnr", variant, root=tmp_path)
        p = ledger.protocol_of("dnr", variant)
        store = RunStore(root, {"protocol": p.to_dict()})
        write_json(root / "units" / f"{name}.json", {"result": 0, "seconds": seconds, "fingerprint": store.hash})

    for name, seconds in (("mnist/run0/nr/eps1", 50.0), ("mnist/run0/nr/eps2", 70.0),
                          ("mnist/run0/nr/double_init/eps1", 10.0), ("mnist/run0/dnr/double_init/eps1", 100.0)):
        write("", name, seconds)
    write("authors-layers", "mnist/run0/nr/eps1", 100.0)  # twice the main folder's at the same eps
    left = {u.name: u.seconds for u in ledger.status("dnr", "authors-layers", root=tmp_path).left}
    assert left["mnist/run1/nr/eps1"] == 100.0                      # its own measurement first
    assert left["mnist/run0/nr/eps2"] == 140.0                      # else the main folder's, scaled by 100 / 50
    assert left["mnist/run0/nr/double_init/eps1"] == 20.0           # a check costs what its attack costs
    assert left["mnist/run0/dnr/double_init/eps1"] == 100.0         # no DNR attack measured in both: unscaled
    assert ledger.unchanged_datasets("dnr", "authors-layers") == {"cifar10"}  # the variant changes MNIST's layers
    assert not [n for n in left if n.startswith("cifar10/")]       # CIFAR-10: the main folder's units, not left
    assert ledger.status("dnr", "authors-layers", root=tmp_path).shared == ("cifar10",)
    assert ledger.command("dnr", "authors-layers")[3:7] == ["--layers", "authors", "--datasets", "mnist"]
    assert "--datasets" not in ledger.command("dnr", "") and ledger.status("dnr", "", root=tmp_path).shared == ()


def test_a_few_paused_units_do_not_move_an_estimate(tmp_path):
    def write(variant, name, seconds):
        root = ledger.folder("dnr", variant, root=tmp_path)
        store = RunStore(root, {"protocol": ledger.protocol_of("dnr", variant).to_dict()})
        write_json(root / "units" / f"{name}.json", {"result": 0, "seconds": seconds, "fingerprint": store.hash})

    for eps in ("0.5", "1", "1.5", "2", "3"):
        write("", f"mnist/run0/dnr/eps{eps}", 100.0)
        write("", f"mnist/run1/dnr/eps{eps}", 100.0)
        write("authors-layers", f"mnist/run0/dnr/eps{eps}", 200.0)
    write("", "mnist/run2/dnr/eps0.5", 900.0)                    # run 2 paused mid-unit
    write("", "mnist/run0/dnr/double_init/eps1", 50.0)
    for eps in ("1.5", "2"):                                     # two of the variant's five paused
        write("authors-layers", f"mnist/run0/dnr/eps{eps}", 2000.0)
    main = {u.name: u.seconds for u in ledger.status("dnr", "", root=tmp_path).left}
    assert main["mnist/run3/dnr/eps0.5"] == 100.0                # not (100 + 100 + 900) / 3
    variant = {u.name: u.seconds for u in ledger.status("dnr", "authors-layers", root=tmp_path).left}
    assert variant["mnist/run0/dnr/double_init/eps1"] == 100.0   # twice the main folder's, not ~7.5 times


def test_status_estimates_from_cpu_seconds_which_a_pause_does_not_stretch(tmp_path):
    p = ledger.protocol_of("dnr", "")
    root = ledger.folder("dnr", "", root=tmp_path)
    store = RunStore(root, {"protocol": p.to_dict()})
    store.unit("mnist/run0/nr/eps1", lambda: time.sleep(0.5))  # a unit paused (or waiting) half a second
    saved = load_unit(root / "units" / "mnist/run0/nr/eps1.json")
    assert saved["seconds"] >= 0.5 and saved["cpu_seconds"] < 0.25
    write_json(root / "units" / "mnist/run0/nr/eps2.json",  # a unit from before CPU seconds: its wall seconds
               {"result": 0, "seconds": 7.0, "fingerprint": store.hash})
    left = {u.name: u.seconds for u in ledger.status("dnr", "", root=tmp_path).left}
    assert left["mnist/run1/nr/eps1"] == pytest.approx(saved["cpu_seconds"])
    assert left["mnist/run1/nr/eps3"] == pytest.approx((saved["cpu_seconds"] + 7.0) / 2)


def test_status_command_runs_and_says_how_to_run_each_folder_left(capsys):
    from replication.cli import default_folder, main, parser
    assert main(["status", "--root", "does-not-exist"]) == 0
    out = capsys.readouterr().out
    assert "ledger folder" in out and "python -m replication dnr --protocol paper --layers authors" in out
    for experiment, variant in ledger.CAMPAIGN:  # each command runs into its folder
        assert " ".join(ledger.command(experiment, variant, Path("does-not-exist"))) in out
        args = parser().parse_args(ledger.command(experiment, variant))
        assert default_folder(args, "paper") == ledger.folder(experiment, variant), (experiment, variant)


def units_of(folder: Path, names=CHECKED_UNITS):
    return {n: load_unit(folder / "units" / f"{n}.json") for n in names}


def assert_same_unit(stored, new, where: str):
    """Equal structure; integers, strings and outcomes exactly, floats to 1e-5 (wall times aside)."""
    if isinstance(stored, dict):
        assert set(stored) == set(new), where
        for k in set(stored) - {"seconds"}:
            assert_same_unit(stored[k], new[k], f"{where}.{k}")
    elif isinstance(stored, list) and stored and isinstance(stored[0], (dict, list, str)):
        assert len(stored) == len(new), where
        for i, (a, b) in enumerate(zip(stored, new)):
            assert_same_unit(a, b, f"{where}[{i}]")
    elif isinstance(stored, (float, list)) and not isinstance(stored, bool):
        a, b = np.asarray(stored, dtype=float), np.asarray(new, dtype=float)
        assert a.shape == b.shape, where
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=where)
    else:
        assert stored == new, where


def test_stored_smoke_units_are_recomputed_equal(dnr_smoke_run):
    """The session's DNR smoke run recomputes units stored in tests/data/ledger: a change that moves a unit's
    numbers without bumping UNITS_VERSION fails here (with a bump, regenerate them: REGENERATE_LEDGER_UNITS=1).
    A trained network's last bits follow the CPU's vector instruction set (`runtime.vector_isa`; on an AVX2 and an
    AVX-512 machine its outputs differ by ~3e-5 and a 10-sample attack's outcomes by a sample), so the units are
    kept per instruction set, each generated on such a machine."""
    from replication.runs import runtime
    out, _ = dnr_smoke_run
    new = units_of(out)
    stored = STORED / runtime.vector_isa()
    run_hash = json.loads((out / "fingerprint.json").read_text())["hash"]
    if os.environ.get("REGENERATE_LEDGER_UNITS"):
        for name, unit in new.items():
            kept = {"result": unit["result"], "fingerprint": unit["fingerprint"]}
            write_json(stored / "units" / f"{name}.json", kept)
        write_json(STORED / "fingerprint.json", {"hash": run_hash})
    stored_hash = json.loads((STORED / "fingerprint.json").read_text())["hash"]
    assert run_hash == stored_hash, ("the DNR smoke fingerprint changed (protocol, data or UNITS_VERSION): if on "
                                     "purpose, regenerate tests/data/ledger with REGENERATE_LEDGER_UNITS=1")
    assert (stored / "units").is_dir(), (f"no smoke units stored for this CPU's instruction set "
                                         f"({runtime.vector_isa()}): generate them here with REGENERATE_LEDGER_UNITS=1")
    for name, unit in units_of(stored).items():
        assert_same_unit(unit["result"], new[name]["result"], name)


def copy_run(src: Path, dst: Path, keep_models: bool = True) -> Path:
    """A fresh clone's view of a run folder: everything git keeps (no SVMs)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("state.joblib", *(() if keep_models else ("*.keras",))))
    return dst


def test_a_fresh_clone_of_a_finished_run_builds_no_svm_and_computes_nothing(dnr_smoke_run, data_dir, tmp_path):
    """Every unit is in the folder: the report is rebuilt from them without refitting a single SVM."""
    from replication.dnr import experiment
    out, whole = dnr_smoke_run
    clone = copy_run(out, tmp_path / "clone")
    scope = protocols.Scope(datasets=("mnist",))
    again = experiment.run(protocols.dnr("smoke"), clone, str(data_dir), seed=0, scope=scope)
    assert again["units"]["visited"] == len(again["resumed_units"]) == again["units"]["expected"]
    assert again["datasets"]["mnist"]["aggregate"] == whole["datasets"]["mnist"]["aggregate"]
    assert not (clone / "models" / "mnist_run0_dnr" / "state.joblib").exists()


@pytest.mark.parametrize("keep_network", [True, False], ids=["network-kept", "network-retrained"])
def test_a_fresh_clone_refits_the_svms_proves_them_and_recomputes_a_lost_unit_equal(dnr_smoke_run, data_dir,
                                                                                    tmp_path, keep_network,
                                                                                    monkeypatch):
    """A unit left to compute needs the run's models: without its SVMs (git keeps none), and even without its
    network, they are rebuilt with the SVM parameters the defenses unit chose (no second cross-validation), proven
    equal to the ones its units were computed with (same threads), and the unit comes out equal."""
    from replication.dnr import experiment
    from replication.runs import stages

    def no_second_choice(*args, **kwargs):
        raise AssertionError("the refit chose the SVM parameters again instead of reading the defenses unit's")
    monkeypatch.setattr(stages, "choose_params", no_second_choice)
    out, _ = dnr_smoke_run
    clone = copy_run(out, tmp_path / "clone", keep_models=keep_network)
    lost = clone / "units" / "mnist" / "run0" / "dnr" / "eps1.json"
    before = load_unit(lost)["result"]
    lost.unlink()
    scope = protocols.Scope(datasets=("mnist",))
    again = experiment.run(protocols.dnr("smoke"), clone, str(data_dir), seed=0, scope=scope)
    assert "mnist/run0/dnr/eps1" not in again["resumed_units"]
    assert len(again["resumed_units"]) == again["units"]["expected"] - 1  # that unit alone was computed
    assert (clone / "models" / "mnist_run0_dnr" / "state.joblib").exists()  # refit, proven by its digest
    assert_same_unit(before, load_unit(lost)["result"], "mnist/run0/dnr/eps1")


def test_an_unfinished_run_resumes_with_its_own_svms_not_a_refit(dnr_smoke_run, data_dir, tmp_path, monkeypatch):
    """A run cut after its defenses keeps their support (`models/*_svms.npz`) in the run folder: a fresh clone
    (no pickles) rebuilds those SVMs on the network's features without fitting any SVM (a refit on another
    machine's float arithmetic drifts beyond the digest), the rest of the run comes out equal, and once the run is
    whole the support leaves the folder."""
    from replication.defenses import DNR, NR
    from replication.dnr import experiment
    out, _ = dnr_smoke_run
    clone = copy_run(out, tmp_path / "clone")
    shutil.rmtree(clone / "units" / "mnist" / "run0")

    def cut(*args, **kwargs):
        raise Cut()
    monkeypatch.setattr(experiment, "attack_sweep", cut)
    with pytest.raises(Cut):
        experiment.run(protocols.dnr("smoke"), clone, str(data_dir), seed=0, scope=protocols.Scope(datasets=("mnist",)))
    svms = clone / "models" / "mnist_run0_svms.npz"
    assert svms.exists() and svms.stat().st_size < 2e6
    for pickled in (clone / "models").glob("*/state.joblib"):
        pickled.unlink()  # what a fresh clone of the ledger has

    def no_fit(*args, **kwargs):
        raise AssertionError("an SVM was fitted again instead of rebuilt from the run's stored support")
    monkeypatch.undo()
    monkeypatch.setattr(NR, "fit_features", no_fit)
    monkeypatch.setattr(DNR, "fit_features", no_fit)
    experiment.run(protocols.dnr("smoke"), clone, str(data_dir), seed=0, scope=protocols.Scope(datasets=("mnist",)))
    for name, unit in units_of(out).items():
        assert_same_unit(unit["result"], units_of(clone, [name])[name]["result"], name)
    assert not svms.exists() and not (out / "models" / "mnist_run0_svms.npz").exists()


def test_an_unfinished_carlini_stage_keeps_its_models_weights_until_both_attacks_are_done(smoke_run, data_dir,
                                                                                        tmp_path, monkeypatch):
    """The background models stay out of git (14.5 MB checkpoints), but an unfinished Carlini stage keeps both
    models' weights: a fresh clone attacks the same models without retraining them (a retraining on another CPU
    gives other weights), the attack comes out equal, and the weights leave once both attacks are done."""
    from replication.background import training
    out, _ = smoke_run
    clone = shutil.copytree(out, tmp_path / "clone")
    attack = clone / "units" / "carlini" / "defense.json"
    before = load_unit(attack)["result"]
    for unit in (attack, clone / "units" / "carlini.json"):
        unit.unlink()
    p, kept = protocols.background("smoke"), [clone / "models" / f"carlini_{m}.weights.npz" for m in ("baseline",
                                                                                                   "defense")]
    assert not any(k.exists() for k in kept)  # the whole stage kept none
    background.compute_units(p, str(clone), str(data_dir), 0, "carlini/models")
    assert all(k.exists() and k.stat().st_size < 6e6 for k in kept)
    for model in (clone / "models").glob("carlini_*.keras"):
        model.unlink()  # a fresh clone's view: git keeps the weights only

    def no_training(*args, **kwargs):
        raise AssertionError("a Carlini model was retrained instead of restored from its kept weights")
    monkeypatch.setattr(training, "train_table2_net", no_training)
    background.compute_units(p, str(clone), str(data_dir), 0, "carlini/defense")
    assert_same_unit(before, load_unit(attack)["result"], "carlini/defense")
    background.compute_units(p, str(clone), str(data_dir), 0, "carlini")
    assert not any(k.exists() for k in kept)  # the stage is whole


def test_a_run_never_mixes_models(dnr_smoke_run, data_dir, tmp_path):
    """A network that is not the one the run's units were computed with is refused, not used."""
    import keras

    from replication.dnr import experiment
    out, _ = dnr_smoke_run
    clone = copy_run(out, tmp_path / "clone")
    model = keras.models.load_model(clone / "models" / "mnist_dnn.keras")
    model.set_weights([w * 1.01 for w in model.get_weights()])
    model.save(clone / "models" / "mnist_dnn.keras")
    with pytest.raises(ModelMismatch, match="mnist/network_digest"):
        experiment.run(protocols.dnr("smoke"), clone, str(data_dir), seed=0,
                       scope=protocols.Scope(datasets=("mnist",)))


def test_a_network_is_adopted_only_when_it_was_trained_exactly_as_this_run_would(tmp_path):
    """Same data, seed, training images, epochs, batch and learning rate: copied; any of them different: not."""
    from replication.runs import stages
    base = protocols.dnr("paper")
    p = base.mnist
    data = {"mnist": {"digest": "d"}}
    source = tmp_path / "ledger"
    (source / "models").mkdir(parents=True)
    (source / "models" / "mnist_dnn.keras").write_bytes(b"weights")

    def ledger_with(**changes):
        protocol = base.to_dict()
        protocol["mnist"] = {**protocol["mnist"], **changes.pop("mnist", {})}
        fingerprint = {"experiment": "dnr", "protocol": protocol, "seed": 0, "data": data, **changes}
        write_json(source / "fingerprint.json", {"hash": "h", "fingerprint": fingerprint})

    ledger_with()
    store = RunStore(tmp_path / "study", {"seed": 0, "data": data})
    assert stages.adopt_network(store, p, 0, source, "mnist_e50")
    assert (store.root / "models" / "mnist_e50_dnn.keras").read_bytes() == b"weights"
    for i, changes in enumerate(({"seed": 1}, {"data": {"mnist": {"digest": "other"}}}, {"mnist": {"epochs": 49}},
                                 {"mnist": {"learning_rate": 0.01}}, {"mnist": {"dnn_train": 20000}})):
        ledger_with(**changes)
        other = RunStore(tmp_path / f"study{i}", {"seed": 0, "data": data})
        assert not stages.adopt_network(other, p, 0, source, "mnist_e50"), changes
        assert not (other.root / "models").exists()


def test_a_variant_attacks_the_network_of_its_protocols_main_folder(dnr_smoke_run, data_dir, tmp_path):
    """`--layers authors` changes only the SVMs: its run folder takes the network of `<root>/dnr/<level>` (copied,
    proven by that folder's digest) instead of training its own."""
    from replication.dnr import experiment
    out, _ = dnr_smoke_run
    main = copy_run(out, tmp_path / "dnr" / "smoke")
    variant = tmp_path / "dnr" / "smoke-authors-layers"
    result = experiment.run(protocols.with_authors_layers(protocols.dnr("smoke")), variant, str(data_dir), seed=0,
                            scope=protocols.Scope(datasets=("mnist",)))
    network = "models/mnist_dnn.keras"
    assert (variant / network).read_bytes() == (main / network).read_bytes()
    digest = "units/mnist/network_digest.json"
    assert load_unit(variant / digest)["result"] == load_unit(main / digest)["result"]
    assert result["datasets"]["mnist"]["feature_layers"] == list(protocols.AUTHORS_CODE_LAYERS["mnist"])
    # a network in the main folder that is not the one its digest names is refused, not adopted and used
    import keras
    model = keras.models.load_model(main / network)
    model.set_weights([w * 1.01 for w in model.get_weights()])
    model.save(main / network)
    with pytest.raises(ModelMismatch, match="differs from its digest"):
        experiment.run(protocols.with_authors_layers(protocols.dnr("smoke")), tmp_path / "dnr" / "smoke-other",
                       str(data_dir), seed=0, scope=protocols.Scope(datasets=("mnist",)))
