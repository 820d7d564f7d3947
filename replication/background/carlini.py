"""Section VI.B / Table IV: targeted Carlini-Wagner L2 on models trained on EMNIST Balanced."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from keras_models.background import build_background_net, compile_background_net
from replication.attacks import FixedCarliniWagnerL2
from replication.background import assembly, training
from replication.background.outcomes import outcome_fractions
from replication.background.records import MODELS, Carlini, CarliniAttack, PerAttack
from replication.runs import stages
from replication.runs.protocols import BACKGROUND, BackgroundProtocol
from replication.runs.results import RunStore, save_arrays, verified


@dataclass
class Prepared:
    """The stage's trained models and the sources they attack (test digits both models classify correctly)."""

    origin: str
    models: Dict
    train_size: Dict[str, int]
    clean: Dict[str, Dict[str, float]]
    x: np.ndarray
    y: np.ndarray


def targets_for(labels: np.ndarray) -> np.ndarray:
    """Every other digit for each source label (9 targets per source), source-major order."""
    return np.array([t for y in labels for t in range(10) if t != y], dtype=np.int64)


def attack_model(model, x_src: np.ndarray, y_src: np.ndarray, p, progress: bool) -> CarliniAttack:
    """Attack each source towards every other digit; success = classified as the target."""
    x = np.repeat(x_src, 9, axis=0)
    targets = targets_for(y_src)
    defense = training.defense_of(model)
    attack = FixedCarliniWagnerL2(  # on the network's own logits, in the defense's input range
        defense, y=targets, targeted=True,
        batch_size=p.batch_size, binary_search_steps=p.binary_search_steps, max_iterations=p.max_iterations,
        learning_rate=p.learning_rate, initial_const=p.initial_const, confidence=p.confidence, progress=progress)
    adv, found, l2 = attack.attack_with_info(x)
    pred = training.classify(defense, adv)
    success = pred == targets
    return CarliniAttack(
        n=int(len(x)), success_rate=100.0 * float(success.mean()), found_by_attack=100.0 * float(found.mean()),
        outcomes=outcome_fractions(pred, np.repeat(y_src, 9)),
        l2_mean=float(l2[success].mean()) if success.any() else None,
        l2_median=float(np.median(l2[success])) if success.any() else None,
        gallery={"x": x[:9].tolist(), "adv": adv[:9].tolist(), "pred": pred[:9].tolist(),
                 "target": targets[:9].tolist()},
        per_attack=PerAttack(success, l2, pred, targets))


def prepare(store: RunStore, pool: assembly.Pool, kept: Sequence[str], protocol: BackgroundProtocol,
            data_dir: Optional[str], seed: int) -> Prepared:
    """Train (or load the checkpointed, or the kept weights of) the Balanced-variant baseline and defense, proven by
    their digests to be the models of the attack units already in the run folder; pick the sources both classify
    correctly."""
    p = protocol.carlini
    images, orig, origin = assembly.balanced_data(pool, p.per_class, data_dir, seed)
    labels = assembly.relabel(orig, kept)
    sets = assembly.split_sets(labels, assembly.make_split(labels, protocol.test_fraction, seed))
    x_test, y_test = training.to_input(images[sets["test"]]), labels[sets["test"]]
    models = {}
    whole = all(store.has(f"carlini/{name}") for name in MODELS)
    for name, idx, n_classes in (("baseline", sets["baseline_train"], BACKGROUND),
                                 ("defense", sets["defense_train"], BACKGROUND + 1)):
        path, weights = store.path(f"models/carlini_{name}.keras"), kept_weights(store, name)
        if weights.exists() and not path.exists():
            models[name] = restored(weights, n_classes)
        else:
            models[name] = training.train_table2_net(path, images[idx], labels[idx], n_classes, p.epochs,
                                                     protocol.batch_size, seed)
            if not whole and not weights.exists():  # the attack jobs load the models job's checkpoint: kept already
                keep_weights(models[name], weights)
        # a model rebuilt for the other attack (kept weights, or retrained) must be this one
        verified(store, f"carlini/{name}_digest", stages.network_digest(models[name], x_test[:stages.PROBES]))
    clean = {n: training.classify(training.defense_of(m), x_test) for n, m in models.items()}
    ok = np.flatnonzero((clean["baseline"] == y_test) & (clean["defense"] == y_test))
    src = np.random.default_rng(seed).permutation(ok)[:p.sources]
    return Prepared(origin, models, {n: int(len(sets[f"{n}_train"])) for n in models},
                    {n: outcome_fractions(c, y_test) for n, c in clean.items()}, x_test[src], y_test[src])


def kept_weights(store: RunStore, name: str) -> Path:
    """Where an unfinished Carlini stage keeps a model's weights (4.8 MB, no optimizer state; git keeps them, not
    the 14.5 MB checkpoints): the stage's two attacks take hours each and may finish on machines whose retraining
    would give other weights; they leave the folder when both attacks are done."""
    return store.path(f"models/carlini_{name}.weights.npz")


def keep_weights(model, path: Path) -> None:
    """The model's weights (`get_weights`: batch-norm statistics included, optimizer state not) in `path`."""
    save_arrays(path, {f"arr_{i}": w for i, w in enumerate(model.get_weights())})


def restored(kept: Path, n_classes: int):
    """The Table II network with the weights an unfinished stage kept (compiled, as trained)."""
    model = compile_background_net(build_background_net(n_classes))
    with np.load(kept) as f:
        model.set_weights([f[f"arr_{i}"] for i in range(len(f.files))])
    return model


def attack_unit(store: RunStore, ready: Prepared, name: str, p, progress: bool = True) -> CarliniAttack:
    """Unit `carlini/<name>`: one model's attack (hours on a CPU, so its own unit and its own job)."""
    return CarliniAttack.from_dict(store.unit(
        f"carlini/{name}", lambda: attack_model(ready.models[name], ready.x, ready.y, p, progress)))


def run_carlini(store: RunStore, pool: assembly.Pool, kept: Sequence[str], protocol: BackgroundProtocol,
                data_dir: Optional[str], seed: int, progress: bool = True) -> Carlini:
    """Train the Balanced-variant baseline and defense (checkpointed), then attack both (a unit each)."""
    ready = prepare(store, pool, kept, protocol, data_dir, seed)
    attacks = {name: attack_unit(store, ready, name, protocol.carlini, progress) for name in ready.models}
    for name in ready.models:
        kept_weights(store, name).unlink(missing_ok=True)
    return Carlini(ready.origin, ready.train_size, ready.clean, int(len(ready.y)),
                   "every other digit for each source (9 per source)", attacks)
