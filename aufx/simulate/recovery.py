"""Recovery check: does the analysis find the method effects the SIMULATED raters were given?

The rater model (:mod:`aufx.simulate.raters`) fixes each stimulus's latent score, so the truth
is known.

- **Expected method means.** For each question, a method's true mean rating is the average of
  :func:`~aufx.simulate.raters.expected_rating` over its stimuli.
- **Power of each paired t-test.** The design is within-subject: every participant rates every
  stimulus once, and the test runs on participant means. The true difference of means is exact.
  The SD of the per-participant differences comes from ``n_sim`` virtual participants drawn from
  the same model (Monte Carlo). From these, ``dz = diff / sd``, and the power of a two-sided
  paired t-test with ``n`` participants is :func:`analysis.power.achieved_power`.

The check compares the analysis's tables with that truth. Thresholds are the documented ones:
``alpha = 0.05`` and ``judge_power = 0.99``.

1. **Decisions.** Each comparison of the reference method against another method (the paper's
   paired t-tests, ``ttests``) is put in one of three groups.
   - Power ≥ ``judge_power``: it must be significant (``p-val < alpha``) with the true sign.
   - True difference exactly 0 (possible only with effect-driven raters): it must not be
     significant after Holm's correction (``p-holm``).
   - Anything else is *underpowered*: it is reported with its power and not judged. The count of
     detections among these comparisons is reported beside its expectation, the sum of their
     powers.
2. **Ordering.** For each question, every pair of methods whose paired test has power ≥
   ``judge_power`` must have its observed means (``descriptives``) in the true order.

With ``judge_power = 0.99``, a correct analysis fails one given judged comparison at most 1% of
the time. The test ``tests/aufx/simulate/test_recovery.py`` checks the predicted powers against
rejection rates over repeated simulated studies.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aufx.simulate.raters import RaterModel, expected_rating, table_questions

ALPHA = 0.05
JUDGE_POWER = 0.99


def true_means(table: pd.DataFrame, model: RaterModel) -> pd.DataFrame:
    """Expected mean rating per question × method: columns question, method, true_mean."""
    rows = []
    for q in table_questions(table):
        expected = expected_rating(table[f"mu_{q}"].to_numpy(float), model)
        for method, value in pd.Series(expected).groupby(table["method"].to_numpy()).mean().items():
            rows.append({"question": q, "method": str(method), "true_mean": float(value)})
    return pd.DataFrame(rows)


def pair_power(
    table: pd.DataFrame,
    model: RaterModel,
    n_participants: int,
    alpha: float = ALPHA,
    n_sim: int = 4000,
    seed: int = 12345,
) -> pd.DataFrame:
    """The true difference, dz and power of the paired t-test for every ordered pair (A, B).

    Assumes a within-subject design: every participant rates every stimulus. Columns: question,
    A, B, true_diff (A − B, mean rating), true_dz, power."""
    from analysis.power import achieved_power

    if n_participants < 2:
        raise ValueError(f"n_participants must be >= 2, got {n_participants}")
    rng = np.random.default_rng(seed)
    methods = sorted(table["method"].unique())
    codes = table["method"].map({m: i for i, m in enumerate(methods)}).to_numpy()
    counts = np.bincount(codes, minlength=len(methods))
    means = true_means(table, model).set_index(["question", "method"])["true_mean"]
    rows = []
    for q in table_questions(table):
        mu = table[f"mu_{q}"].to_numpy(float)
        y = mu[None] + rng.normal(0, model.bias_sd, (n_sim, 1)) + rng.normal(0, model.noise_sd, (n_sim, len(mu)))
        ratings = model.to_likert(y).astype(float)  # [n_sim, S]
        per_method = np.stack([ratings[:, codes == i].mean(axis=1) for i in range(len(methods))], axis=1)
        for (i, a), (j, b) in itertools.permutations(enumerate(methods), 2):
            diff = float(means[(q, a)] - means[(q, b)])
            sd = float((per_method[:, i] - per_method[:, j]).std(ddof=1))
            if diff == 0 or counts[i] == 0 or counts[j] == 0:
                dz = 0.0
            else:
                dz = diff / sd if sd > 0 else np.inf * np.sign(diff)
            power = achieved_power(dz, n_participants, alpha) if np.isfinite(dz) else 1.0
            rows.append({"question": q, "A": a, "B": b, "true_diff": diff, "true_dz": dz, "power": power})
    return pd.DataFrame(rows)


@dataclass
class RecoveryResult:
    """What the recovery check found. ``passed`` is True when every judged decision and ordering agrees."""

    decisions: pd.DataFrame
    ordering: pd.DataFrame
    means: pd.DataFrame
    passed: bool
    judge_power: float
    alpha: float
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        """A few lines for the console and the report."""
        d, o = self.decisions, self.ordering
        judged = d[d["expected"] != "not judged"]
        under = d[d["expected"] == "not judged"]
        lines = [
            f"recovery check (SIMULATED raters): {'PASSED' if self.passed else 'FAILED'}",
            f"  decisions: {int(judged['agrees'].sum())}/{len(judged)} judged comparisons agree "
            f"(power >= {self.judge_power:g} or true difference 0; alpha {self.alpha:g})",
            f"  ordering: {int(o['agrees'].sum())}/{len(o)} method pairs resolvable at power >= {self.judge_power:g} "
            "are in the true order",
        ]
        if len(under):
            lines.append(f"  underpowered comparisons: {int(under['significant'].sum())} of {len(under)} significant, "
                         f"expected {under['power'].sum():.1f} (sum of their powers)")  # fmt: skip
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def check_recovery(
    table: pd.DataFrame,
    model: RaterModel,
    ttests: pd.DataFrame,
    descriptives: pd.DataFrame,
    alpha: float = ALPHA,
    judge_power: float = JUDGE_POWER,
    n_sim: int = 4000,
    seed: int = 12345,
) -> RecoveryResult:
    """Compare the analysis's ``ttests`` and ``descriptives`` (tables of :func:`analysis.report.analyze`)
    with the truth of ``table`` under ``model``. See the module doc for the rules."""
    for name, frame, columns in (("ttests", ttests, ("question", "A", "B", "n", "mean-diff", "p-val", "p-holm")),
                                 ("descriptives", descriptives, ("question", "method", "mean"))):  # fmt: skip
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} table: missing column {missing[0]!r}")
    n = int(ttests["n"].max())
    powers = pair_power(table, model, n, alpha, n_sim, seed).set_index(["question", "A", "B"])
    means = true_means(table, model)
    observed = descriptives.assign(question=descriptives["question"].astype(str), method=descriptives["method"].astype(str))
    means = means.merge(observed[["question", "method", "mean"]].rename(columns={"mean": "observed_mean"}),
                        on=["question", "method"], how="left")  # fmt: skip
    notes = []

    rows = []
    for _, r in ttests.iterrows():
        key = (str(r["question"]), str(r["A"]), str(r["B"]))
        truth = powers.loc[key]
        significant = bool(r["p-val"] < alpha)
        same_sign = bool(np.sign(r["mean-diff"]) == np.sign(truth["true_diff"]))
        if truth["true_diff"] == 0:
            expected, agrees = "not significant (Holm)", bool(not r["p-holm"] < alpha)
        elif truth["power"] >= judge_power:
            expected, agrees = "significant", significant and same_sign
        else:
            expected, agrees = "not judged", True
        rows.append({"question": key[0], "A": key[1], "B": key[2], "n": int(r["n"]),
                     "true_diff": truth["true_diff"], "true_dz": truth["true_dz"], "power": truth["power"],
                     "observed_diff": float(r["mean-diff"]), "p-val": float(r["p-val"]),
                     "p-holm": float(r["p-holm"]), "significant": significant, "expected": expected,
                     "agrees": agrees})  # fmt: skip
    decisions = pd.DataFrame(rows)

    rows = []
    lookup = means.set_index(["question", "method"])
    for (q, a, b), truth in powers.iterrows():
        if a >= b or truth["power"] < judge_power or (q, a) not in lookup.index or (q, b) not in lookup.index:
            continue
        obs = lookup.loc[(q, a), "observed_mean"] - lookup.loc[(q, b), "observed_mean"]
        if not np.isfinite(obs):
            notes.append(f"{q}: no observed mean for {a} or {b}")
            continue
        rows.append({"question": q, "A": a, "B": b, "true_diff": truth["true_diff"], "observed_diff": float(obs),
                     "power": truth["power"], "agrees": bool(np.sign(obs) == np.sign(truth["true_diff"]))})  # fmt: skip
    ordering = pd.DataFrame(rows, columns=["question", "A", "B", "true_diff", "observed_diff", "power", "agrees"])
    passed = bool(decisions["agrees"].all() and ordering["agrees"].all())
    return RecoveryResult(decisions, ordering, means, passed, judge_power, alpha, notes)
