"""Time the authors' library, secml, on the configuration `make bench` times this package on (issue 11).

Runs in its own Python (secml 0.15.6 needs Python <= 3.10 and NumPy < 1.24; `make bench-secml` builds that
environment from `benchmarks/requirements-secml.txt`). It imports nothing from this package, so it reads the MNIST
idx files itself. One core: run as a script, it sets the thread variables before NumPy and PyTorch load.

The configuration (`replication.bench.secml_setup` builds the same with Keras and this package's DNR):
conv32-pool-conv64-pool-fc200-fc200-fc10 (3x3 convolutions, ReLU) trained on MNIST train[0:5000] (Adam 1e-3,
batch 64, 3 epochs); DNR on train[5000:5000 + svm_train] with RBF SVMs on pool2 (C 10, gamma 1e-3), fc1 ReLU
(C 10, gamma 1e-2), fc2 ReLU (C 1, gamma 1e-2), combiner C 0.1, gamma 1; theta at 10% reject on test[0:1000];
secml's PGDExp (L2, box [0, 1], 30 iterations, no double initialisation, as this package's bench attack) on
test[1000:1020], one sample after the other as secml runs them.

Prints and writes JSON: seconds per attacked sample, accuracy under attack (rejected adversarials count as
correct, as in the paper and in `make bench`), support vectors, and the settings.
"""
import os

if __name__ == "__main__":  # one core, set before NumPy loads (importing this file, e.g. in a test, changes nothing)
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[_name] = "1"

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections import OrderedDict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

LAYERS = ("features:pool2", "features:relu3", "features:relu4")
LAYER_PARAMS = ((10.0, 1e-3), (10.0, 1e-2), (1.0, 1e-2))
COMBINER = (0.1, 1.0)
SOLVER = {"eta": 0.1, "eta_min": 0.1, "max_iter": 30, "eps": 1e-4}


def read_idx(path: Path) -> np.ndarray:
    """An MNIST idx file (.gz) as a NumPy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist(data_dir: Path):
    """(x_train, y_train, x_test, y_test): pixels in [0, 1], flattened, from `data_dir` or `data_dir/mnist`."""
    folder = data_dir / "mnist" if (data_dir / "mnist").is_dir() else data_dir
    arrays = [read_idx(folder / f"{name}-ubyte.gz") for name in
              ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")]
    x_train, y_train, x_test, y_test = arrays
    return (x_train.reshape(-1, 784) / 255.0, y_train.astype(int), x_test.reshape(-1, 784) / 255.0,
            y_test.astype(int))


def net():
    """The bench net (a torch module), its layers named as secml's DNR reads them."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(OrderedDict([
                ("conv1", nn.Conv2d(1, 32, 3)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(32, 64, 3)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
                ("flatten", nn.Flatten()), ("fc1", nn.Linear(1600, 200)), ("relu3", nn.ReLU()),
                ("fc2", nn.Linear(200, 200)), ("relu4", nn.ReLU())]))
            self.classifier = nn.Linear(200, 10)

        def forward(self, x):
            return self.classifier(self.features(x))
    return Net()


def setup(data_dir: Path, svm_train: int, seed: int = 0):
    """(secml DNR, x to attack, y, the DNR's training set, which secml's double initialisation starts from): the
    configuration above, trained here."""
    import torch
    from secml.array import CArray
    from secml.data import CDataset
    from secml.ml.classifiers import CClassifierPyTorch, CClassifierSVM
    from secml.ml.classifiers.reject import CClassifierDNR
    from secml.ml.kernels import CKernelRBF
    from torch import nn, optim
    x_train, y_train, x_test, y_test = load_mnist(data_dir)
    torch.manual_seed(seed)
    model = net()
    dnn = CClassifierPyTorch(model, loss=nn.CrossEntropyLoss(), optimizer=optim.Adam(model.parameters(), lr=1e-3),
                             input_shape=(1, 28, 28), epochs=3, batch_size=64, random_state=seed)
    dnn.fit(CArray(x_train[:5000]), CArray(y_train[:5000]))
    layer_clf = {name: CClassifierSVM(kernel=CKernelRBF(gamma=gamma), C=c)
                 for name, (c, gamma) in zip(LAYERS, LAYER_PARAMS)}
    combiner = CClassifierSVM(kernel=CKernelRBF(gamma=COMBINER[1]), C=COMBINER[0])
    dnr = CClassifierDNR(combiner=combiner, layer_clf=layer_clf, dnn=dnn, layers=list(LAYERS), threshold=-1000)
    train = CDataset(x_train[5000:5000 + svm_train], y_train[5000:5000 + svm_train])
    dnr.fit(train.X, train.Y)
    dnr.threshold = dnr.compute_threshold(rej_percent=0.1, ds=CDataset(x_test[:1000], y_test[:1000]))
    return dnr, x_test[1000:1020], y_test[1000:1020], train


def support_vectors(svm) -> int:
    """Distinct training points kept by a secml one-vs-all RBF SVM."""
    return int(len(np.unique(svm.sv_idx.tondarray())))


def attack(dnr, x: np.ndarray, y: np.ndarray, eps: float, solver: dict, restart=None) -> dict:
    """secml's PGDExp at L2 radius `eps` on each sample: seconds per sample and accuracy under attack. `restart`: a
    CDataset for secml's double initialisation (off when None)."""
    from secml.adv.attacks import CAttackEvasionPGDExp
    from secml.array import CArray
    pgd = CAttackEvasionPGDExp(classifier=dnr, double_init_ds=restart, double_init=restart is not None,
                               distance="l2", dmax=eps, lb=0, ub=1, solver_params=dict(solver))
    start = time.perf_counter()
    y_pred, _, _, _ = pgd.run(CArray(x), CArray(y))
    seconds = time.perf_counter() - start
    pred = y_pred.tondarray().ravel()
    return {"s_per_sample": seconds / len(x), "accuracy": float(np.mean((pred == y) | (pred == -1)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("REPLICATION_DATA_DIR", "../shared/data"))
    ap.add_argument("--svm-train", type=int, nargs="+", default=[1000, 10000],
                    help="DNR training images (1,000: the configuration secml was timed on; 10,000: the paper's)")
    ap.add_argument("--solver-eps", type=float, default=SOLVER["eps"],
                    help="secml's stop tolerance on the objective (default 1e-4, as the package's bench attack; "
                         "secml's DNR tutorial uses 1e-8)")
    ap.add_argument("--double-init", action="store_true",
                    help="secml's double initialisation from the DNR training images (its tutorial's default; off "
                         "by default, as the package's bench attack has no restart)")
    ap.add_argument("--out", default="results/bench_secml.json")
    args = ap.parse_args()
    import secml
    import torch
    torch.set_num_threads(1)
    solver = dict(SOLVER, eps=args.solver_eps)
    out = {"library": f"secml {secml.__version__}, torch {torch.__version__}, numpy {np.__version__}",
           "python": platform.python_version(), "cpu": platform.processor() or platform.machine(), "threads": 1,
           "attack": f"CAttackEvasionPGDExp, L2, solver {solver}, double_init {args.double_init}",
           "configurations": {}}
    for n in args.svm_train:
        start = time.perf_counter()
        dnr, x, y, restart = setup(Path(args.data_dir), n)
        row = {"train_seconds": time.perf_counter() - start,
               "support_vectors": {"layers": [support_vectors(dnr._layer_clfs[name]) for name in LAYERS],
                                   "combiner": support_vectors(dnr.clf)}}
        for eps in (1.0, 2.0):
            r = row[f"eps{eps:g}"] = attack(dnr, x, y, eps, solver, restart if args.double_init else None)
            print(f"secml, DNR on {n} images, eps {eps:g}: {r['s_per_sample']:.3f} s/sample, "
                  f"accuracy {r['accuracy']:.2f}", flush=True)
        out["configurations"][str(n)] = row
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
