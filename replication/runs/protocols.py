"""Protocols as data: `paper` is the published protocol; `fast` and `smoke` change only counts."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

LEVELS = ("paper", "fast", "smoke")
BACKGROUND = 10  # label of the background class (McCoyd & Wagner's 11th class, after the digits 0-9)


@dataclass(frozen=True)
class CarliniProtocol:
    """Targeted Carlini-Wagner L2 on models trained on EMNIST Balanced (Section VI.B)."""

    per_class: Optional[int] = None      # Balanced samples per class; None = the whole Balanced split
    epochs: int = 10
    sources: int = 100                   # test digits attacked, each towards every other digit
    binary_search_steps: int = 9
    max_iterations: int = 1000
    learning_rate: float = 1e-2
    initial_const: float = 1e-3
    confidence: float = 0.0
    batch_size: int = 900


@dataclass(frozen=True)
class BackgroundProtocol:
    """McCoyd & Wagner, background class defense on EMNIST."""

    level: str
    pool_split: str = "train"            # EMNIST By Merge partition serving as the pool
    pool_limit: Optional[int] = None     # random subsample of the pool (None = all)
    splits: int = 10
    test_fraction: float = 0.1
    epochs: int = 10
    batch_size: int = 128
    letters: str = "measured"            # 'measured' (Section IV.A) or 'published'
    selection_per_class: Optional[int] = None  # Balanced samples per class; None = the whole split
    selection_folds: int = 10
    selection_repeats: int = 4
    selection_epochs: int = 20
    selection_threshold: float = 0.98
    fgs_eps: float = 0.25
    fg_eps: float = 6.79
    fgs_grid: Tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
    fg_grid: Tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.79, 8.0, 10.0)
    curve_samples: Optional[int] = None  # test digits per eps point of the curves (None = all)
    carlini: CarliniProtocol = field(default_factory=CarliniProtocol)

    def to_dict(self) -> Dict:
        return dataclasses.asdict(self)


def background(level: str) -> BackgroundProtocol:
    """The background-class protocol at `level`."""
    if level == "paper":
        return BackgroundProtocol(level="paper")
    if level == "fast":
        return BackgroundProtocol(
            level="fast", splits=3, epochs=2,
            selection_per_class=600, selection_folds=3, selection_repeats=1, selection_epochs=4,
            curve_samples=2000,
            carlini=CarliniProtocol(per_class=1000, epochs=8, sources=20, binary_search_steps=5,
                                    max_iterations=300, batch_size=180))
    if level == "smoke":
        return BackgroundProtocol(
            level="smoke", pool_limit=4000, splits=2, epochs=1,
            selection_per_class=40, selection_folds=2, selection_repeats=1, selection_epochs=1,
            fgs_grid=(0.0, 0.25), fg_grid=(0.0, 6.79), curve_samples=200,
            carlini=CarliniProtocol(per_class=60, epochs=1, sources=2, binary_search_steps=2,
                                    max_iterations=20, batch_size=18))
    raise ValueError(f"unknown protocol {level!r}; choose one of {LEVELS}")


@dataclass(frozen=True)
class DNRDataset:
    """One dataset's part of the DNR protocol (Sotgiu et al. 2020, Section 4.1)."""

    name: str
    dnn_train: int                       # samples training the network
    epochs: int
    batch_size: int
    learning_rate: float
    runs: int = 5
    svm_train: int = 10000               # per run, drawn from outside the network's training set
    validation: int = 1000               # per run, clean samples that set theta (10% rejected)
    test: int = 1000
    eps_grid: Tuple[float, ...] = ()
    search_params: bool = True           # 5-fold CV for (C, gamma); False: the authors' published values
    cv_folds: int = 5
    cv_samples: int = 2000               # samples per grid search
    C_grid: Tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
    gamma_grid: Tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
    pgd_eta: float = 0.01
    pgd_max_iter: int = 100
    pgd_tol: float = 1e-4
    pgd_doublings: int = 10
    pgd_halvings: int = 0                # 0: Algorithm 1 (steps eta * 2^k, k >= 0); > 0 adds secml's smaller steps
    attack_batch: int = 100
    feature_layers: Tuple[str, ...] = ()  # Keras layers feeding the DNR SVMs; NR reads the last one
    line_search_check: Tuple[float, ...] = ()  # eps at which run 0's NR/DNR are also attacked with secml's steps
    double_init: bool = True             # also restart as secml does (attack-strength check beside the paper's curves)


DNR_DATASETS = ("mnist", "cifar10")  # a DNRProtocol's datasets, by the field and name each has


@dataclass(frozen=True)
class DNRProtocol:
    """Deep Neural Rejection on MNIST and CIFAR-10."""

    level: str
    mnist: DNRDataset
    cifar10: DNRDataset
    reject_rate: float = 0.1
    stacking_folds: int = 3

    def to_dict(self) -> Dict:
        return dataclasses.asdict(self)


# Section 4.1.3: MNIST "the last three layers"; CIFAR-10 the last layer, the last batch norm and the second-to-last
# max-pool. The authors' public secml scripts instead feed hidden ReLU layers only (no logits) and NR the last
# hidden ReLU: `AUTHORS_CODE_LAYERS`, selectable as a protocol field.
PAPER_LAYERS = {"mnist": ("fc1_relu", "fc2_relu", "logits"), "cifar10": ("pool3", "bn4", "logits")}
AUTHORS_CODE_LAYERS = {"mnist": ("pool2", "fc1_relu", "fc2_relu")}

_MNIST_EPS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0)
_CIFAR_EPS = (0.0, 0.05, 0.1, 0.2, 0.4, 1.0, 2.0)


def dnr(level: str) -> DNRProtocol:
    """The DNR protocol at `level`."""
    mnist = DNRDataset("mnist", 30000, 50, 128, 0.1, eps_grid=_MNIST_EPS, feature_layers=PAPER_LAYERS["mnist"],
                       line_search_check=(1.0, 2.0, 3.0))
    cifar = DNRDataset("cifar10", 40000, 75, 100, 0.01, eps_grid=_CIFAR_EPS, feature_layers=PAPER_LAYERS["cifar10"],
                       line_search_check=(0.2, 0.4))
    if level == "paper":
        return DNRProtocol("paper", mnist, cifar)
    if level == "fast":
        return DNRProtocol("fast",
                           dataclasses.replace(mnist, epochs=3, runs=1, svm_train=2000, validation=500, test=500,
                                               cv_samples=1000, pgd_max_iter=30),
                           dataclasses.replace(cifar, dnn_train=10000, epochs=3, runs=1, svm_train=1000,
                                               validation=300, test=40, search_params=False, pgd_max_iter=10,
                                               attack_batch=40))
    if level == "smoke":
        return DNRProtocol("smoke",
                           dataclasses.replace(mnist, dnn_train=1000, epochs=1, runs=1, svm_train=200, validation=100,
                                               test=10, search_params=False, pgd_max_iter=3, eps_grid=(0.0, 1.0, 5.0),
                                               line_search_check=(1.0,)),
                           dataclasses.replace(cifar, dnn_train=200, epochs=1, runs=1, svm_train=100, validation=50,
                                               test=4, search_params=False, pgd_max_iter=2, eps_grid=(0.0, 0.4, 2.0),
                                               attack_batch=4, line_search_check=(0.4,)))
    raise ValueError(f"unknown protocol {level!r}; choose one of {LEVELS}")


def with_authors_layers(protocol: DNRProtocol) -> DNRProtocol:
    """`protocol` with the layers of the authors' public code (`AUTHORS_CODE_LAYERS`) where they differ from the
    paper's text (MNIST); a declared method deviation in the report."""
    changed = {name: dataclasses.replace(getattr(protocol, name), feature_layers=layers)
               for name, layers in AUTHORS_CODE_LAYERS.items()}
    return dataclasses.replace(protocol, **changed)


@dataclass(frozen=True)
class UnifiedProtocol:
    """Beyond the papers: the background class under adaptive attack, and all defenses on one MNIST axis.

    The Carlini MNIST net, NR and DNR follow `dnr` (its MNIST part, one run); the Table II net trains on the same
    MNIST digits, plus EMNIST letters of the paper's kept set as the background class.
    """

    level: str
    dnr: DNRProtocol
    background_epochs: int = 10
    background_batch_size: int = 128
    letters: Optional[int] = None        # background images (None: as many as digits, or all available)
    l2_grid: Tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.79)  # + the paper's FG eps
    linf_grid: Tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)       # includes FGS's 0.25
    pgd_iter: int = 40                   # non-adaptive PGD (CleverHans): iterations, step 2.5 eps / iterations
    tradeoff_eps: Tuple[float, ...] = (0.5, 1.0, 2.0)
    double_init: bool = True             # restart the axis's adaptive attack as secml does (attack-strength check)

    def to_dict(self) -> Dict:
        return dataclasses.asdict(self)


def unified(level: str) -> UnifiedProtocol:
    """The unified-comparison protocol at `level` (its counts follow the DNR protocol's MNIST part)."""
    base = dnr(level)
    one_run = dataclasses.replace(base, mnist=dataclasses.replace(base.mnist, runs=1))
    if level == "paper":
        return UnifiedProtocol("paper", one_run)
    if level == "fast":
        # 100 test digits (the previous fast count): unified attacks each of them in ~140 units, DNR's MNIST run in 56
        one_run = dataclasses.replace(one_run, mnist=dataclasses.replace(one_run.mnist, test=100))
        return UnifiedProtocol("fast", one_run, background_epochs=2, letters=30000, pgd_iter=20)
    return UnifiedProtocol("smoke", one_run, background_epochs=1, letters=1000, pgd_iter=3,
                           l2_grid=(0.0, 1.0, 6.79), linf_grid=(0.0, 0.25), tradeoff_eps=(1.0,))


SPLITS_ZERO_NEEDS_SELECTION = "--splits 0 stops a run after its letter selection, which --letters published skips"


@dataclass(frozen=True)
class Scope:
    """The part of a protocol's units one invocation computes (all of them by default).

    Every unit in scope is the protocol's own, unchanged: a later run of the same protocol in the same folder reuses
    it. The scope is therefore not part of a run's fingerprint; results.json and the report state it.
    """

    splits: Optional[int] = None                 # background: the first k splits (0: stop after the letter selection)
    folds: Optional[int] = None                  # background, measured letters: the first k selection trainings
    carlini: bool = True                         # background: the Carlini-Wagner stage (Table IV, Section VI.B)
    runs: Union[None, int, Tuple[Tuple[str, int], ...]] = None  # dnr: the first k runs of each dataset, or per
    #                                            dataset ((name, k), ...; others whole); 0: the network alone
    datasets: Optional[Tuple[str, ...]] = None   # dnr: these datasets only

    def count(self, name: str, total: int) -> int:
        """How many of the protocol's `total` splits or letter-selection trainings (`name`) are in scope."""
        limit, least = getattr(self, name), 0 if name == "splits" else 1
        if limit is not None and limit < least:
            raise ValueError(f"--{name} must be at least {least}, got {limit}")
        return total if limit is None else min(limit, total)

    def partial_selection(self, protocol) -> bool:
        """True when this scope stops a background run in its letter selection: inside it (`folds` fewer than all)
        or right after it (`splits` 0)."""
        if protocol.letters != "measured":
            if self.splits == 0:
                raise ValueError(SPLITS_ZERO_NEEDS_SELECTION)
            return False
        return self.splits == 0 or not self.whole_selection(protocol)

    def whole_selection(self, protocol) -> bool:
        """True when every letter-selection fold training of a background `protocol` is in scope."""
        total = protocol.selection_folds * protocol.selection_repeats
        return self.count("folds", total) == total

    def runs_of(self, dataset: str, total: int) -> int:
        """How many of a DNR `dataset`'s `total` runs are in scope (0: its network alone)."""
        limit = dict(self.runs).get(dataset) if isinstance(self.runs, (tuple, list)) else self.runs
        if limit is not None and limit < 0:
            raise ValueError(f"--runs must be at least 0, got {limit}")
        return total if limit is None else min(limit, total)

    def has(self, dataset: str) -> bool:
        return self.datasets is None or dataset in self.datasets

    def left_out(self, protocol) -> List[str]:
        """What of `protocol` this scope does not compute, one phrase each (empty: the whole protocol)."""
        out = []
        if isinstance(protocol, BackgroundProtocol):
            if self.partial_selection(protocol):
                if self.whole_selection(protocol):
                    return ["every split and the Carlini-Wagner stage (`--splits 0`: the run stops after its letter "
                            "selection)"]
                total = protocol.selection_folds * protocol.selection_repeats
                k = self.count("folds", total)
                return [f"{total - k} of {total} letter-selection fold trainings (computed the first {k}), and with "
                        "them the final letter set, every split and the Carlini-Wagner stage, which need that set"]
            k = self.count("splits", protocol.splits)
            if k < protocol.splits:
                out.append(f"{protocol.splits - k} of {protocol.splits} splits (computed the first {k})")
            if not self.carlini:
                out.append("the Carlini-Wagner stage (Table IV's Carlini row, Section VI.B)")
            return out
        if not isinstance(protocol, DNRProtocol):
            return out
        for p in (protocol.mnist, protocol.cifar10):
            k = self.runs_of(p.name, p.runs)
            if not self.has(p.name):
                out.append(f"{p.name} (the whole dataset)")
            elif k == 0:
                out.append(f"{p.name}: every run (`--runs` 0: its network alone)")
            elif k < p.runs:
                out.append(f"{p.name}: {p.runs - k} of {p.runs} runs (computed the first {k})")
        return out

    def to_dict(self) -> Dict:
        return dataclasses.asdict(self)


WHOLE = Scope()  # every unit of the protocol
