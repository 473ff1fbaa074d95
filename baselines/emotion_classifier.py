"""Which RaFD class does a face show? A logistic regression on the analyzer's 16 AU estimates.

Fitted on SynthFACS *renders* with known labels, never on edits: the faces of
:func:`aufx.synthfacs.sample_mixture_params` whose mixture component is an EMFACS prototype
(labelled with its RaFD class) or neutral; 75 % fit, 25 % held out (the held-out accuracy says
how well the instrument itself reads emotions). Used by ``benchmarks/bench_baselines_quality.py``
and by the baselines' validation during training (:mod:`baselines.validation`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

#: Renders a classifier is fitted on by default (about 60 % of them are prototype or neutral faces).
DEFAULT_RENDERS = 3000
#: Where :func:`cached_emotion_classifier` keeps its fits unless told otherwise (the test suite
#: points it at a temporary folder, so tests never write into a developer's cache).
DEFAULT_CACHE_DIR = "~/.cache/aufx/classifiers"


def cached_emotion_classifier(analyzer: Any, analyzer_file: str | os.PathLike, n_renders: int = DEFAULT_RENDERS,
                              seed: int = 0, size: int = 128, cache_dir: str | os.PathLike | None = None) -> dict[str, Any]:  # fmt: skip
    """:func:`fit_emotion_classifier`, kept in ``cache_dir`` (default :data:`DEFAULT_CACHE_DIR`; joblib) under a name made of its
    arguments, the analyzer file's SHA-256 and the scikit-learn version, so that a restarted
    training does not refit it (about a minute); any change of those fits a new one."""
    import joblib
    import sklearn

    digest = hashlib.sha256(Path(analyzer_file).read_bytes()).hexdigest()[:16]
    path = Path(DEFAULT_CACHE_DIR if cache_dir is None else cache_dir).expanduser() / f"emotion_{n_renders}_{seed}_{size}_{digest}_sklearn{sklearn.__version__}.joblib"
    if path.is_file():
        try:
            return joblib.load(path)
        except Exception:  # a damaged cache file is refitted and replaced
            pass
    result = fit_emotion_classifier(analyzer, n_renders, seed, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    joblib.dump(result, tmp)
    tmp.replace(path)
    return result


def fit_emotion_classifier(analyzer: Any, n_renders: int = DEFAULT_RENDERS, seed: int = 0, size: int = 128) -> dict[str, Any]:
    """Fit on renders of ``sample_mixture_params(n_renders, seed)`` at ``size`` px (8-bit, as PNGs).

    Returns ``{"model": sklearn pipeline (predict: [N, 16] AUs -> RaFD names), "heldout_accuracy",
    "n_fit", "n_heldout", "classes", "chance"}``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from aufx.aus import RAFD_TO_PROTOTYPE
    from aufx.edit.analyzer import analyze
    from aufx.synthfacs import render, sample_mixture_params

    to_rafd = {proto: rafd for rafd, proto in RAFD_TO_PROTOTYPE.items() if proto is not None}
    to_rafd["neutral"] = "neutral"
    params = sample_mixture_params(n_renders, seed=seed)
    keep = np.array([c in to_rafd for c in params.component])
    params = params[keep]
    labels = np.array([to_rafd[c] for c in params.component])
    aus = []
    for start in range(0, len(params), 256):
        chunk = params[start : start + 256]
        images = render(chunk.aus, chunk.identity, size=size, with_parts=False).images
        images = (images * 127.5 + 128).clamp(0, 255).floor().sub(127.5).div(127.5)  # 8-bit, as a PNG
        aus.append(analyze(analyzer, images).aus.double().numpy())
    x = np.concatenate(aus)
    order = np.random.default_rng(seed).permutation(len(x))
    n_fit = int(round(0.75 * len(x)))
    fit, held = order[:n_fit], order[n_fit:]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0))
    model.fit(x[fit], labels[fit])
    accuracy = float((model.predict(x[held]) == labels[held]).mean())
    return {"model": model, "heldout_accuracy": accuracy, "n_fit": int(len(fit)), "n_heldout": int(len(held)),
            "classes": sorted(set(labels)), "chance": 1.0 / len(set(labels))}  # fmt: skip
