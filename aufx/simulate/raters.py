"""The rater model of SIMULATED participants: objective metrics (or true effects) -> Likert ratings.

The model, for stimulus ``s``, question ``q`` and participant ``p``::

    mu[s, q]   = offset + scale * L[s, q]                    (the stimulus's true latent score)
    y[s, q, p] = mu[s, q] + b[p, q] + e[s, q, p]             b ~ N(0, bias_sd²), e ~ N(0, noise_sd²)
    rating     = 1 + #{k : y > tau_k}                        tau_k = step * (k - points / 2), k = 1..points-1

On a 5-point scale the thresholds are -1.5, -0.5, 0.5 and 1.5, so ``mu = 0`` is the scale's middle
(3). ``b`` is the participant's leniency for that question: some people rate higher than others.
``e`` is the noise of each answer. The expected rating of a stimulus has a closed form,
``1 + sum_k Phi((mu - tau_k) / sqrt(bias_sd² + noise_sd²))`` (:func:`expected_rating`).

``L`` comes from one of two sources.

- **Metrics** (:func:`means_from_metrics`, used by the demo): a weighted sum of the stimulus's
  standardised objective metrics from ``metrics.csv``. Each metric is z-scored over all stimuli of
  the study, NaN counts as 0 and values are clipped to ±3. The sum is signed so that larger is
  better, then divided by the root of the summed squared weights. The defaults
  (:data:`DEFAULT_TERMS`):

  - expression (transfer success): ``+1.0 target_change`` and ``-0.5 transfer_error``;
  - identity: ``-1.0 identity_drift``;
  - artifacts (lack of): ``+1.0 realism`` and ``-0.5 outside_share``.

  A question whose metrics are all missing (for example, no analyzer) falls back to
  ``pixel_change``: ``+`` for expression and ``-`` for the others.
- **True effects** (:func:`means_from_effects`, used by the recovery check):
  ``mu[s, q] = effects[method(s)][q] + u[item(s), q]``, with an optional item effect
  ``u ~ N(0, item_sd²)``. Here the true method effects are given, not derived.

Every answer this model gives is SIMULATED.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: (metric column, weight); a positive weight means a larger metric gives a higher rating.
Term = tuple[str, float]

DEFAULT_TERMS: dict[str, tuple[Term, ...]] = {
    "expression": (("target_change", 1.0), ("transfer_error", -0.5)),
    "identity": (("identity_drift", -1.0),),
    "artifacts": (("realism", 1.0), ("outside_share", -0.5)),
}
#: Used when none of a question's metrics is in the table.
FALLBACK_TERMS: dict[str, tuple[Term, ...]] = {
    "expression": (("pixel_change", 1.0),),
    "identity": (("pixel_change", -1.0),),
    "artifacts": (("pixel_change", -1.0),),
}
ID_COLUMNS = ("stimulus_id", "method", "item_id")


@dataclass(frozen=True)
class RaterModel:
    """Hyper-parameters of the rater model (see the module doc). All values are in latent units.

    The latent unit is one Likert step."""

    points: int = 5
    bias_sd: float = 0.5
    noise_sd: float = 0.8
    step: float = 1.0
    offset: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not 2 <= self.points <= 9:
            raise ValueError(f"rater model: points must be 2..9, got {self.points}")
        if self.bias_sd < 0 or self.noise_sd < 0 or self.step <= 0:
            raise ValueError("rater model: bias_sd and noise_sd must be >= 0 and step > 0")

    @property
    def thresholds(self) -> np.ndarray:
        """tau_k, k = 1..points-1, shape [points - 1]."""
        return self.step * (np.arange(1, self.points) - self.points / 2)

    def to_likert(self, y: np.ndarray) -> np.ndarray:
        """Latent values (any shape) to ratings 1..points (same shape, int)."""
        return 1 + (np.asarray(y)[..., None] > self.thresholds).sum(axis=-1)

    def describe(self) -> dict[str, Any]:
        return {"points": self.points, "bias_sd": self.bias_sd, "noise_sd": self.noise_sd,
                "step": self.step, "offset": self.offset, "scale": self.scale,
                "thresholds": [round(float(t), 4) for t in self.thresholds]}  # fmt: skip


def expected_rating(mu: np.ndarray | float, model: RaterModel) -> np.ndarray:
    """Expected rating over participants and noise: ``1 + sum_k Phi((mu - tau_k) / sd)``.

    ``sd = sqrt(bias_sd² + noise_sd²)``. Output has the shape of ``mu``."""
    from scipy.stats import norm

    sd = float(np.hypot(model.bias_sd, model.noise_sd))
    mu = np.asarray(mu, dtype=float)
    if sd == 0:
        return model.to_likert(mu).astype(float)
    return 1 + norm.cdf((mu[..., None] - model.thresholds) / sd).sum(axis=-1)


def _check_ids(table: pd.DataFrame, where: str) -> None:
    missing = [c for c in ID_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{where}: missing column {missing[0]!r} (need {', '.join(ID_COLUMNS)})")
    if table["stimulus_id"].duplicated().any():
        dup = table.loc[table["stimulus_id"].duplicated(), "stimulus_id"].iloc[0]
        raise ValueError(f"{where}: stimulus_id {dup!r} appears twice")


def standardise(values: pd.Series) -> np.ndarray:
    """z-score over the stimuli (NaN -> 0, clipped to ±3); all zeros when the SD is 0."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(x)
    if finite.sum() < 2:
        return np.zeros_like(x)
    mean, sd = x[finite].mean(), x[finite].std(ddof=0)
    z = np.where(finite, (x - mean) / sd if sd > 0 else 0.0, 0.0)
    return np.clip(z, -3.0, 3.0)


def question_terms(columns: Any, question: str, terms: dict[str, tuple[Term, ...]] | None = None) -> tuple[Term, ...]:
    """The terms used for ``question``: those present in ``columns``, else the pixel-change fallback."""
    terms = DEFAULT_TERMS if terms is None else terms
    present = tuple(t for t in terms.get(question, ()) if t[0] in columns)
    if present:
        return present
    return tuple(t for t in FALLBACK_TERMS.get(question, (("pixel_change", -1.0),)) if t[0] in columns)


def means_from_metrics(
    metrics: pd.DataFrame,
    questions: list[str] | tuple[str, ...],
    model: RaterModel = RaterModel(),
    terms: dict[str, tuple[Term, ...]] | None = None,
) -> pd.DataFrame:
    """metrics.csv rows -> stimulus table: the ID columns plus ``mu_<question>`` (latent units).

    Raises ValueError when a question has no usable metric column (not even ``pixel_change``)."""
    _check_ids(metrics, "metrics.csv")
    table = metrics[list(ID_COLUMNS)].copy().reset_index(drop=True)
    for question in questions:
        used = question_terms(metrics.columns, question, terms)
        if not used:
            raise ValueError(f"metrics.csv: no metric for question {question!r} "
                             f"(looked for {[t[0] for t in DEFAULT_TERMS.get(question, ())] + ['pixel_change']})")  # fmt: skip
        norm = float(np.sqrt(sum(w * w for _, w in used)))
        latent = sum(w * standardise(metrics[col].reset_index(drop=True)) for col, w in used) / norm
        table[f"mu_{question}"] = model.offset + model.scale * latent
    return table


def means_from_effects(
    stimuli: pd.DataFrame,
    effects: dict[str, dict[str, float]],
    item_sd: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Stimulus table from true per-method effects: ``mu_<q> = effects[method][q] + u[item, q]``.

    ``effects`` maps method -> question -> latent value. Every method in ``stimuli`` must be there,
    with the same questions."""
    _check_ids(stimuli, "stimulus table")
    questions = sorted({q for e in effects.values() for q in e})
    missing = sorted(set(stimuli["method"]) - set(effects))
    if missing:
        raise ValueError(f"effects: no true effects for method {missing[0]!r}")
    for method, per_q in effects.items():
        lacking = [q for q in questions if q not in per_q]
        if lacking:
            raise ValueError(f"effects[{method!r}]: no value for question {lacking[0]!r}")
    table = stimuli[list(ID_COLUMNS)].copy().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    items = sorted(table["item_id"].unique())
    item_effect = {q: dict(zip(items, rng.normal(0, item_sd, len(items)), strict=True)) for q in questions}
    for q in questions:
        table[f"mu_{q}"] = [effects[m][q] + item_effect[q][i] for m, i in zip(table["method"], table["item_id"], strict=True)]
    return table


def table_questions(table: pd.DataFrame) -> list[str]:
    """Questions of a stimulus table (its ``mu_<q>`` columns, in order)."""
    return [c[3:] for c in table.columns if c.startswith("mu_")]


@dataclass
class SimulatedParticipant:
    """One SIMULATED rater with a bias per question. :meth:`rate` draws fresh noise on every call."""

    model: RaterModel
    table: pd.DataFrame
    rng: np.random.Generator
    attentive: bool = True
    bias: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.questions = table_questions(self.table)
        self._mu = self.table.set_index("stimulus_id")[[f"mu_{q}" for q in self.questions]]
        if not self.bias:
            self.bias = {q: float(self.rng.normal(0, self.model.bias_sd)) for q in self.questions}

    def rate(self, stimulus_id: str, questions: list[str] | None = None) -> dict[str, int]:
        """Ratings for one stimulus. An inattentive rater answers uniformly at random."""
        questions = questions or self.questions
        if not self.attentive:
            return {q: int(self.rng.integers(1, self.model.points + 1)) for q in questions}
        if stimulus_id not in self._mu.index:
            raise KeyError(f"stimulus {stimulus_id!r} is not in the rater model's stimulus table")
        row = self._mu.loc[stimulus_id]
        out = {}
        for q in questions:
            mu = float(row[f"mu_{q}"]) if f"mu_{q}" in row.index else self.model.offset
            y = mu + self.bias.get(q, 0.0) + self.rng.normal(0, self.model.noise_sd)
            out[q] = int(self.model.to_likert(np.array(y)))
        return out


def simulate_ratings(
    table: pd.DataFrame,
    model: RaterModel,
    n_participants: int,
    seed: int = 0,
    study_id: str = "SIMULATED",
) -> pd.DataFrame:
    """A whole within-subject study without a server: every participant rates every stimulus.

    Returns the long export schema (DESIGN.md) with ``simulated = True``. Vectorised:
    participants × stimuli × questions draws."""
    questions = table_questions(table)
    if n_participants < 2:
        raise ValueError(f"n_participants must be >= 2, got {n_participants}")
    rng = np.random.default_rng(seed)
    mu = table[[f"mu_{q}" for q in questions]].to_numpy(float)  # [S, Q]
    n_s, n_q = mu.shape
    bias = rng.normal(0, model.bias_sd, (n_participants, 1, n_q))
    y = mu[None] + bias + rng.normal(0, model.noise_sd, (n_participants, n_s, n_q))
    ratings = model.to_likert(y)  # [P, S, Q]
    p_idx, s_idx, q_idx = np.meshgrid(np.arange(n_participants), np.arange(n_s), np.arange(n_q), indexing="ij")
    frame = pd.DataFrame({
        "participant_id": [f"SIM{p:04d}" for p in p_idx.ravel()],
        "study_id": study_id,
        "trial_index": s_idx.ravel() + 1,
        "stimulus_id": table["stimulus_id"].to_numpy()[s_idx.ravel()],
        "item_id": table["item_id"].to_numpy()[s_idx.ravel()],
        "method": table["method"].to_numpy()[s_idx.ravel()],
        "question": np.array(questions)[q_idx.ravel()],
        "rating": ratings.ravel(),
        "rt_ms": 1000,
        "created_at": "2026-01-01T00:00:00.000Z",
        "attention_check": False,
        "excluded": False,
        "simulated": True,
    })  # fmt: skip
    return frame
