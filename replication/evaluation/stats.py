"""Uncertainty of measured numbers: 95% intervals (Wilson, t over splits/runs, bootstrap) and the decision rules
that compare them with published numbers and with the papers' claims."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy import stats as _scipy_stats

Z95 = 1.959963984540054
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Interval:
    """A measured number with its 95% interval, the sample size behind it and how the interval was made."""

    estimate: float
    low: float
    high: float
    n: int
    method: str

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    def text(self, digits: int = 2) -> str:
        return f"{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    @property
    def width_from_repeats(self) -> bool:
        """True when the spread over splits/runs, not the sample size, set the width (see `rate`)."""
        return self.method.startswith("t over")


def wilson(k: float, n: int) -> Interval:
    """Wilson score interval of a rate k/n, in percent."""
    if n <= 0:
        return Interval(float("nan"), 0.0, 100.0, 0, "Wilson")
    p = k / n
    denom = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n ** 2)) / denom
    return Interval(100.0 * p, 100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half), int(n), "Wilson")


def t_interval(values: Sequence[float], bounds: Optional[tuple] = None) -> Interval:
    """Student-t interval of the mean of >= 2 values (splits or runs), clipped to `bounds`."""
    v = np.asarray(values, float)
    if len(v) < 2:
        raise ValueError("a t-interval needs at least 2 values")
    half = _scipy_stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    low, high = v.mean() - half, v.mean() + half
    if bounds:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return Interval(float(v.mean()), float(low), float(high), len(v), f"t over {len(v)}")


def rate(percents: Sequence[float], ns: Sequence[int], over: str = "runs") -> Interval:
    """A rate measured as `percents` (one per split or run, as `over` names them) on `ns` samples each: the Wilson
    interval of the pooled count, widened to the t-interval over them where there are >= 2 and it is wider (it holds
    the spread that retraining adds to sampling noise). The estimate is their mean."""
    percents, ns = np.asarray(percents, float), np.asarray(ns, int)
    k = float(np.sum(percents / 100.0 * ns))
    pooled = wilson(k, int(ns.sum()))
    mean = float(percents.mean())
    if len(percents) < 2:
        return Interval(mean, pooled.low, pooled.high, pooled.n, f"Wilson, N={pooled.n}")
    t = t_interval(percents, (0.0, 100.0))
    low, high = min(pooled.low, t.low), max(pooled.high, t.high)
    if t.high - t.low > pooled.high - pooled.low:
        method = f"t over {len(percents)} {over} (wider than Wilson on N={pooled.n})"
    else:
        method = f"Wilson, N={pooled.n} (wider than t over {len(percents)} {over})"
    return Interval(mean, low, high, pooled.n, method)


def bootstrap_mean(values: np.ndarray, groups: Optional[np.ndarray] = None, seed: int = 0,
                   scale: float = 100.0) -> Interval:
    """Percentile bootstrap of the mean of per-sample `values` (rows: samples; columns, if any, are averaged per
    sample first), resampling samples within each group (run). Used for paired differences: values = a - b."""
    v = np.asarray(values, float)
    if v.ndim > 1:
        v = v.mean(1)
    g = np.zeros(len(v), int) if groups is None else np.asarray(groups)
    rng = np.random.default_rng(seed)
    means = np.zeros(BOOTSTRAP_RESAMPLES)
    for group in np.unique(g):
        part = v[g == group]
        idx = rng.integers(0, len(part), (BOOTSTRAP_RESAMPLES, len(part)))
        means += part[idx].sum(1)
    means /= len(v)
    low, high = np.quantile(means, [0.025, 0.975])
    return Interval(scale * float(v.mean()), scale * float(low), scale * float(high), len(v),
                    f"paired bootstrap over {len(v)} samples ({BOOTSTRAP_RESAMPLES} resamples)")



def paired_difference(values: np.ndarray, groups: Optional[np.ndarray] = None, seed: int = 0,
                      scale: float = 100.0) -> Interval:
    """A paired difference (per-sample `values` = a - b, `groups`: each sample's run): the bootstrap within runs
    (`bootstrap_mean`), widened to the t-interval over the runs' means where there are >= 2 runs and it is wider,
    as `rate` does: a per-sample bootstrap alone holds none of the spread that retraining (new SVM draws and
    parameters) adds, and runs of one protocol can disagree in sign."""
    boot = bootstrap_mean(values, groups, seed, scale)
    v = np.asarray(values, float)
    v = v.mean(1) if v.ndim > 1 else v
    g = np.zeros(len(v), int) if groups is None else np.asarray(groups)
    runs = np.unique(g)
    if len(runs) < 2:
        return boot
    t = t_interval([scale * float(v[g == r].mean()) for r in runs])
    if t.high - t.low <= boot.high - boot.low:
        return Interval(boot.estimate, boot.low, boot.high, boot.n, boot.method + f" (wider than t over {len(runs)} "
                        "runs)")
    return Interval(boot.estimate, min(boot.low, t.low), max(boot.high, t.high), boot.n,
                    f"t over {len(runs)} runs (wider than the paired bootstrap over {boot.n} samples)")

# --- comparison with a published number -----------------------------------------------------------------------

PUBLISHED_SPLITS = 10      # the background paper's means and stds are over 10 splits
ODDS_MARGIN = 1.25         # equivalence margin for rates: a factor 1.25 on the odds scale ...
POINT_MARGIN = 0.1         # ... or 0.1 percentage points, whichever is wider
COUNT_MARGIN = 0.01        # counts: 1% of the published value

VERDICT_RULE = (
    "**Verdict rule** (one rule for every row). Each measured number carries its 95% interval and N: Wilson for a "
    "rate over N samples, widened to the t-interval over splits when there are >= 2 splits and that is wider; a "
    "paired bootstrap over samples for differences. The published number becomes a band: the 95% interval of the "
    f"published mean when the paper gives a std over its {PUBLISHED_SPLITS} splits (mean +- t(9) x std / "
    "sqrt(10)), else the published value itself. A material difference is a factor "
    f"{ODDS_MARGIN} on the odds scale for rates (so small rates are judged on their own scale: 0.38% allows "
    f"0.28-0.48%), at least {POINT_MARGIN} points, or {100 * COUNT_MARGIN:.0f}% for counts. "
    "Widen the band by the material difference: **consistent** when the measured interval lies inside it (any "
    "difference is immaterial), **inconsistent** when the interval misses it (the difference is material and beyond "
    "noise), **inconclusive** otherwise (the interval is too wide to tell). **not comparable**: a "
    "protocol difference changes the quantity (another pool partition, or counts that depend on reduced sizes).")


def published_band(value: float, std: Optional[float], splits: int = PUBLISHED_SPLITS) -> tuple:
    """The published mean's 95% interval (from its std over `splits`), or the value itself."""
    if std is None:
        return value, value
    half = _scipy_stats.t.ppf(0.975, splits - 1) * std / math.sqrt(splits)
    return value - half, value + half


def _odds(p: float) -> float:
    p = min(max(p / 100.0, 1e-12), 1 - 1e-12)
    return p / (1 - p)


def _from_odds(o: float) -> float:
    return 100.0 * o / (1 + o)


def widened(band: tuple, unit: str) -> tuple:
    """The band widened by the material difference (odds factor or points for rates, a fraction for counts)."""
    low, high = band
    if unit != "%":
        return low - COUNT_MARGIN * abs(low), high + COUNT_MARGIN * abs(high)
    return (max(0.0, min(_from_odds(_odds(low) / ODDS_MARGIN), low - POINT_MARGIN)),
            min(100.0, max(_from_odds(_odds(high) * ODDS_MARGIN), high + POINT_MARGIN)))


def compare(measured: Interval, band: tuple, unit: str = "%") -> str:
    """consistent / inconsistent / inconclusive (see VERDICT_RULE)."""
    lo, hi = widened(band, unit)
    if measured.high < lo or measured.low > hi:
        return "inconsistent"
    if lo <= measured.low and measured.high <= hi:
        return "consistent"
    return "inconclusive"


SPREAD_MARGIN = 1.25       # a ratio of stds within a factor 1.25 of 1 is immaterial

SPREAD_RULE = (
    "**Spread rule.** Our std over splits against the paper's std over its "
    f"{PUBLISHED_SPLITS} splits, as the ratio ours / paper's with its 95% interval from the F distribution of two "
    "sample variances (ours divides by n - 1; the paper does not say which it used, and over 10 splits the "
    "other choice moves its std by a factor 1.05). A material difference is a factor "
    f"{SPREAD_MARGIN}: **consistent** when the interval lies inside [{1 / SPREAD_MARGIN:g}, {SPREAD_MARGIN:g}], "
    "**inconsistent** when it misses that band, **inconclusive** otherwise.")


def std_ratio(values: Sequence[float], published_std: float, published_n: int = PUBLISHED_SPLITS) -> Interval:
    """Our std over `values` (one per split) / a published std over `published_n` splits, with the 95% interval
    of the ratio of the two populations' stds (F distribution; both samples taken as normal)."""
    v = np.asarray(values, float)
    if len(v) < 2:
        raise ValueError("a spread needs at least 2 splits")
    if not published_std > 0 or published_n < 2:
        raise ValueError(f"the published std must be > 0 over >= 2 splits, got {published_std} over {published_n}")
    ratio = float(v.std(ddof=1)) / published_std
    low = ratio / math.sqrt(_scipy_stats.f.ppf(0.975, len(v) - 1, published_n - 1))
    high = ratio * math.sqrt(_scipy_stats.f.ppf(0.975, published_n - 1, len(v) - 1))
    return Interval(ratio, low, high, len(v), f"F, {len(v)} vs {published_n} splits")


def compare_spread(ratio: Interval) -> str:
    """consistent / inconsistent / inconclusive for a ratio of stds (see SPREAD_RULE)."""
    lo, hi = 1 / SPREAD_MARGIN, SPREAD_MARGIN
    if ratio.high < lo or ratio.low > hi:
        return "inconsistent"
    if lo <= ratio.low and ratio.high <= hi:
        return "consistent"
    return "inconclusive"


# --- the papers' claims ---------------------------------------------------------------------------------------

CLAIM_VERDICTS = ("supported", "contradicted", "inconclusive")


def above(interval: Interval, boundary: float) -> str:
    """Claim 'the quantity is above `boundary`': supported when the whole interval is, contradicted when none of it
    is, inconclusive otherwise."""
    if interval.low > boundary:
        return "supported"
    if interval.high < boundary:
        return "contradicted"
    return "inconclusive"


def at_most(interval: Interval, boundary: float) -> str:
    """Claim 'the quantity is at most `boundary`'."""
    if interval.high <= boundary:
        return "supported"
    if interval.low > boundary:
        return "contradicted"
    return "inconclusive"


def n_to_decide(interval: Interval, boundary: float) -> Optional[int]:
    """About how many samples would shrink the interval to the distance between estimate and boundary (None when
    the estimate sits on the boundary, or when the spread over splits/runs rather than N sets the width)."""
    distance = abs(interval.estimate - boundary)
    if distance < 1e-9 or interval.half_width <= 0 or interval.width_from_repeats:
        return None  # on the boundary, or the spread over repeats (not N) sets the width: more runs would
    return int(math.ceil(interval.n * (interval.half_width / distance) ** 2))
