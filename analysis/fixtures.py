"""Realistic *simulated* study data for tests, docs and benchmarks (marked ``simulated=True``).

The default study mirrors the paper's user study (Sec. 5): 23 participants (plus one flagged
``excluded`` and one who fails an attention check), four methods, three Likert questions, every
participant rating every stimulus. True effects follow the pattern of the paper's Fig. 10 (aufx
best on artifacts and identity, Cascade EF-GAN slightly ahead on expression). Ratings come from
a latent normal model with participant, item, participant × method and stimulus effects.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from aufx.aus import AU_CODES, AU_NAMES

METHODS: tuple[str, ...] = ("aufx", "stargan", "ganimation", "cascade-efgan")
QUESTIONS: tuple[str, ...] = ("expression", "identity", "artifacts")
#: True mean rating per question and method (1–5 scale), shaped like the paper's Fig. 10.
TRUE_MEANS: dict[str, dict[str, float]] = {
    "expression": {"aufx": 3.55, "stargan": 2.95, "ganimation": 3.3, "cascade-efgan": 3.65},
    "identity": {"aufx": 4.05, "stargan": 3.55, "ganimation": 3.7, "cascade-efgan": 3.6},
    "artifacts": {"aufx": 4.1, "stargan": 2.75, "ganimation": 3.0, "cascade-efgan": 3.2},
}
#: Table 1 of the paper: the four clusters most affected by each AU (Eq. 9).
PAPER_TABLE1: dict[str, tuple[int, ...]] = {
    "AU01": (20, 15, 2, 9), "AU02": (15, 16, 9, 0), "AU04": (15, 16, 9, 20), "AU05": (16, 3, 15, 20),
    "AU06": (10, 6, 20, 5), "AU07": (16, 20, 10, 3), "AU09": (20, 6, 10, 2), "AU10": (10, 20, 6, 5),
    "AU12": (10, 6, 20, 5), "AU14": (20, 10, 6, 2), "AU15": (10, 20, 5, 6), "AU17": (10, 5, 20, 6),
    "AU20": (10, 6, 20, 5), "AU23": (10, 6, 5, 20), "AU25": (10, 6, 20, 5), "AU26": (20, 10, 5, 6),
}  # fmt: skip


def _opaque_id(*parts: object) -> str:
    return hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:10]


def simulate_ratings(
    n_participants: int = 23,
    n_items: int = 12,
    methods: tuple[str, ...] = METHODS,
    questions: tuple[str, ...] = QUESTIONS,
    true_means: dict[str, dict[str, float]] | None = None,
    seed: int = 0,
    n_excluded: int = 1,
    n_failing_attention: int = 1,
    attention_checks: int = 2,
    study_id: str = "expression-transfer",
) -> pd.DataFrame:
    """Long ratings export (DESIGN.md schema + ``attention_check``, ``expected``, ``excluded``,
    ``simulated``). Unknown methods/questions get a true mean of 3."""
    rng = np.random.default_rng(seed)
    means = true_means or TRUE_MEANS
    total = n_participants + n_excluded + n_failing_attention
    pids = [f"P{p:04d}" for p in range(total)]
    n_m, n_q = len(methods), len(questions)
    mu = np.array([[means.get(q, {}).get(m, 3.0) for q in questions] for m in methods])  # m × q
    item = rng.normal(0, 0.35, (n_items, n_q))
    stim = rng.normal(0, 0.3, (n_items, n_m, n_q))
    person = rng.normal(0, 0.45, (total, n_q))
    person_method = rng.normal(0, 0.3, (total, n_m, n_q))
    latent = (
        mu[None, None] + item[None, :, None] + stim[None] + person[:, None, None]
        + person_method[:, None] + rng.normal(0, 0.75, (total, n_items, n_m, n_q))
    )  # participant × item × method × question
    rating = np.clip(np.rint(latent), 1, 5).astype(int)
    stimulus_ids = np.array([[_opaque_id(study_id, i, m) for m in methods] for i in range(n_items)])

    p_idx, i_idx, m_idx, q_idx = (a.ravel() for a in np.indices(rating.shape))
    frame = pd.DataFrame(
        {
            "participant_id": np.array(pids)[p_idx],
            "stimulus_id": stimulus_ids[i_idx, m_idx],
            "item_id": np.char.add("item", np.char.zfill(i_idx.astype(str), 3)),
            "method": np.array(methods)[m_idx],
            "question": np.array(questions)[q_idx],
            "rating": rating.ravel(),
            "attention_check": False,
            "expected": np.nan,
        }
    )
    checks = []
    for p, pid in enumerate(pids):
        failing = p >= n_participants + n_excluded
        for c in range(attention_checks):
            expected = int(rng.integers(1, 6))
            given = (expected % 5) + 1 if failing and c == 0 else expected
            checks.append({"participant_id": pid, "stimulus_id": f"attn{c}", "item_id": f"attn{c}",
                           "method": "attention-check", "question": questions[0], "rating": given,
                           "attention_check": True, "expected": float(expected)})
    frame = pd.concat([frame, pd.DataFrame(checks)], ignore_index=True)
    # trial order: each participant sees stimuli (with all questions on one trial) in random order
    frame["_order"] = rng.random(len(frame))
    frame["_stim_order"] = frame.groupby(["participant_id", "stimulus_id"])["_order"].transform("min")
    frame = frame.sort_values(["participant_id", "_stim_order", "question"]).reset_index(drop=True)
    frame["trial_index"] = frame.groupby("participant_id")["_stim_order"].rank(method="dense").astype(int) - 1
    frame["study_id"] = study_id
    frame["rt_ms"] = np.round(rng.lognormal(7.8, 0.5, len(frame))).astype(int)
    start = pd.Timestamp("2026-03-02T09:00:00Z")
    frame["created_at"] = (start + pd.to_timedelta(frame.index * 4, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ")
    frame["excluded"] = frame["participant_id"].isin(pids[n_participants:n_participants + n_excluded])
    frame["simulated"] = True
    columns = ["participant_id", "study_id", "trial_index", "stimulus_id", "item_id", "method",
               "question", "rating", "rt_ms", "created_at", "attention_check", "expected",
               "excluded", "simulated"]
    return frame[columns]


def simulate_metrics(ratings: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """Objective metrics per stimulus (``metrics.csv`` schema) that track the perceived ratings
    with noise: target_change ~ expression, identity_drift ~ −identity, leakage, out_of_region
    and realism ~ artifacts."""
    rng = np.random.default_rng(seed)
    data = ratings[~ratings.get("attention_check", False).astype(bool)]
    mean = data.pivot_table(index=["stimulus_id", "method", "item_id"], columns="question",
                            values="rating", aggfunc="mean").reset_index()
    n = len(mean)
    get = lambda q: mean[q].to_numpy() if q in mean else np.full(n, 3.0)  # noqa: E731
    expr, ident, art = get("expression"), get("identity"), get("artifacts")
    return pd.DataFrame(
        {
            "stimulus_id": mean["stimulus_id"],
            "method": mean["method"],
            "item_id": mean["item_id"],
            "target_change": 0.6 * expr + rng.normal(0, 0.35, n),
            "leakage": np.clip(0.9 - 0.15 * art + rng.normal(0, 0.08, n), 0, None),
            "out_of_region": np.clip(0.5 - 0.09 * art + rng.normal(0, 0.05, n), 0, None),
            "identity_drift": np.clip(1.2 - 0.22 * ident + rng.normal(0, 0.08, n), 0, None),
            "realism": 0.2 * art + rng.normal(0, 0.12, n),
        }
    )


def simulate_directions(seed: int = 2, dim: int = 512) -> pd.DataFrame:
    """A 16 × 16 matrix of cosine similarities between AU direction vectors with the
    correlations the paper discusses (AU04–AU23, AU06–AU25, brows, lips)."""
    rng = np.random.default_rng(seed)
    shared = {"brows": ("AU01", "AU02", "AU04"), "smile": ("AU06", "AU12", "AU25", "AU14"),
              "tight": ("AU04", "AU07", "AU23"), "jaw": ("AU25", "AU26", "AU20"),
              "sad": ("AU15", "AU17")}
    factors = {name: rng.normal(size=dim) for name in shared}
    vectors = []
    for au in AU_CODES:
        v = rng.normal(size=dim)
        for name, members in shared.items():
            if au in members:
                v += 0.9 * factors[name]
        vectors.append(v / np.linalg.norm(v))
    v = np.array(vectors)
    return pd.DataFrame(v @ v.T, index=list(AU_CODES), columns=list(AU_CODES))


def simulate_cluster_matrix(seed: int = 3, n_clusters: int = 21) -> pd.DataFrame:
    """An AU × cluster relationship matrix R (Eq. 9) whose top four clusters per AU are the
    paper's Table 1."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(0.0, 0.2, (len(AU_CODES), n_clusters))
    for a, au in enumerate(AU_CODES):
        for rank, cluster in enumerate(PAPER_TABLE1[au]):
            r[a, cluster] = 1.0 - 0.15 * rank + rng.uniform(0, 0.05)
    return pd.DataFrame(r, index=list(AU_CODES), columns=[str(k) for k in range(n_clusters)])


#: Simulated studies on which R's results are stored (``benchmarks/r_reference.py`` writes
#: ``tests/analysis/data/r_reference.json``): sizes from 12 participants × 6 items to 200
#: participants × 25 items × 4 methods (100 trials each).
R_REFERENCE_STUDIES: dict[str, dict] = {
    "p12_i6": {"n_participants": 12, "n_items": 6, "seed": 11},
    "p23_i12_paper": {"n_participants": 23, "n_items": 12, "seed": 0},
    "p60_i10_m3": {"n_participants": 60, "n_items": 10, "seed": 5,
                   "methods": ["aufx", "stargan", "ganimation"]},
    "p100_i20": {"n_participants": 100, "n_items": 20, "seed": 7},
    "p200_i25": {"n_participants": 200, "n_items": 25, "seed": 3},
}


def reference_study(spec: dict) -> pd.DataFrame:
    """The analysed ratings of a simulated study (``simulate_ratings(**spec)`` after exclusions
    and attention checks), as ``aufx analyze`` models them; ``spec`` as in R_REFERENCE_STUDIES."""
    from analysis.load import load_ratings

    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
    ratings, _ = load_ratings(simulate_ratings(**kwargs))
    return ratings


def model_frame(ratings: pd.DataFrame) -> pd.DataFrame:
    """The columns R's model formulas use: rating, method, participant, item, question."""
    return pd.DataFrame({
        "rating": ratings["rating"].astype(int).to_numpy(),
        "method": ratings["method"].astype(str).to_numpy(),
        "participant": ratings["participant_id"].astype(str).to_numpy(),
        "item": ratings["item_id"].astype(str).to_numpy(),
        "question": ratings["question"].astype(str).to_numpy(),
    })


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a model frame's CSV text: R's stored numbers belong to exactly these rows."""
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def write_fixture(out: str | Path, seed: int = 0, **kwargs) -> dict[str, Path]:
    """Write ratings.csv, metrics.csv, directions.csv and clusters.csv to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ratings = simulate_ratings(seed=seed, **kwargs)
    paths = {
        "ratings": out / "ratings.csv",
        "metrics": out / "metrics.csv",
        "directions": out / "directions.csv",
        "clusters": out / "clusters.csv",
    }
    ratings.to_csv(paths["ratings"], index=False)
    simulate_metrics(ratings, seed=seed + 1).to_csv(paths["metrics"], index=False)
    simulate_directions(seed=seed + 2).to_csv(paths["directions"])
    simulate_cluster_matrix(seed=seed + 3).to_csv(paths["clusters"])
    return paths


__all__ = ["AU_NAMES", "METHODS", "QUESTIONS", "PAPER_TABLE1", "R_REFERENCE_STUDIES", "simulate_ratings",
           "simulate_metrics", "simulate_directions", "simulate_cluster_matrix", "reference_study",
           "model_frame", "frame_digest", "write_fixture"]
