"""Validation of a baseline during training, and the rule that says it has stopped improving.

The held-out set (:func:`validation_set`) is SynthFACS renders apart from the training pool: each
source face gets a target it was not trained on — another held-out face's AU vector for the
AU-conditioned methods (as GANimation's training draws targets), a RaFD class with its EMFACS
prototype AUs at intensity 3 for StarGAN (the stimuli pipeline's mapping) — and, because the
world is rendered, the **ideal output**: the render of the source's identity with the target AUs.

Measures (:func:`validate`, lower is better unless said):

* ``ideal_l1``: mean |output − ideal| per pixel on [-1, 1] — expression reached *and* the rest
  of the face kept *and* no noise; the primary measure of the stopping rule;
* ``au_error``: mean |analyzer AUs of the output − target AUs| over the 16 AUs (0–5 scale);
* ``emotion_accuracy`` (higher is better): the share of outputs the
  :mod:`baselines.emotion_classifier` reads as the requested class — for StarGAN on the emotion
  targets above; for the AU-conditioned methods on a second held-out set whose targets are the
  sources' AUs with the class's prototype AUs set to 3 (``emotion_set``, the stimuli pipeline's
  emotion edit; since 2026-12-06: the issue's goal of emotions recognised at ≥ 0.6 is followed
  during training as the comparison measures it — the first version, prototype AUs alone, read
  0.88 for GANimation where the comparison read 0.53; its values are kept in the logs as
  ``emotion_accuracy_prototype_only``);
* ``noise_ratio``: the outputs' texture where the ideal output is flat over the unedited
  sources' (:func:`aufx.metrics.noise_ratio`; 1 = no noise, checkerboard or seams added; images of
  at least 8 px). Added on 2026-12-06, when the contact sheets showed StarGAN's checkerboards,
  Cascade EF-GAN's box seams and GANimation's hatching at ``high_freq_ratio`` 0.9–1.05;
* ``au_raise`` (higher is better; AU-conditioned methods): the mean over :data:`RAISE_AUS` of the
  analyzer's rise of one AU asked to go up by :data:`RAISE_CHANGE` from the analyzer's estimate on
  the source (the others kept at the estimates) — the comparison's AU edit. Added on 2026-12-06,
  when the step-3,000 GANimation, best on the measures above, raised single AUs by -0.06 to +0.26
  on 24 faces where its step-2,100 weights reached +0.75 (AU12): the whole-vector targets of
  ``au_error`` do not see an edit that has stopped following single AUs. ``aus_raised`` (reported,
  not in the rule): how many of those AUs rise with a 95 % CI (Student t) above 0, and
  ``raise_low_<AU>`` (since 2026-12-07 16:45 UTC) each one's lower CI end;
* ``fd`` (with an analyzer; since 2026-12-07 18:25 UTC): the comparison's image-quality measure,
  the Fréchet distance of the analyzer's pooled features between the outputs and the ideal
  renders. Added when the 200-face comparison of GANimation's blurred step 7,950, better than its
  step 6,750 on every validation measure but AU error and emotions, read FD 0.154 / 0.216 (AU /
  emotion edits) against 0.112 / 0.135: colour blotches where its checkerboard had been, which
  neither ``ideal_l1`` nor ``noise_ratio`` weighs much;
* ``fd_generated`` (with an analyzer; since 2026-12-08 01:40 UTC): ``fd`` on 64 faces of the
  bundled generator (:func:`generated_set`: held-out seeds, ψ = 1, true scenes known), the kind of
  face the comparison, the stimuli and the demo edit. Added when GANimation's step 9,900, better
  than its step 8,400 on ``fd`` (0.221 vs 0.234), read FD 3.2× / 2.4× the best on the
  comparison's 200 generated faces where 8,400 read 2.8× / 2.1×: a method trained on renders meets
  a shift on generated faces. On 64 generated faces of seeds 600,000+ the four GANimation bundles
  of 2026-12-07 (steps 6,750, 7,950, 8,400, 9,900) read 0.253, 0.290, 0.259, 0.275 — the
  comparison's order (AU-edit FD 0.112, 0.154, 0.136, 0.153) — where ``fd`` on the renders read
  0.214, 0.257, 0.234, 0.221;
* ``high_freq_ratio`` (reported, not in the stopping rule; 1 is best): the outputs' share of
  spectral energy above half the Nyquist frequency over the ideal outputs'
  (:func:`aufx.metrics.high_frequency_ratio`): > 1 noise or checkerboard, < 1 blur, and the two
  cancel (a blurred face with a checkerboard reads ≈ 1).

:class:`Plateau` is the stopping rule: training has converged when *none* of the measures has
improved its best by more than ``min_delta`` (relative) for ``patience`` validations in a row.
``ideal_l1`` alone would not do: the unedited source scores well on it (the expression covers a
small part of the face), so a generator that learns to do nothing would look converged and best.
:func:`best_index` picks the checkpoint to keep: the one that meets the most of issue 17's goals
that validation measures (:func:`goals_met`: emotions recognised at >= 0.6, noise ratio <= 1.5,
every raised AU with a CI above 0), and among those the lowest sum of its ranks over the measures.
The goals come first since 2026-12-07: under the rank sum alone, GANimation's checkpoints with the
up-conv blur (noise 1.0, all three goals) lost to its earlier checkpoints (noise 2.1, two goals)
on AU error and ``ideal_l1`` — a rank sum weighs a goal missed like any other small loss.
A measure added during a training (``noise_ratio``) counts from the first validation that has it:
the rule needs ``patience`` validations of it without improvement, and the best checkpoint is
chosen among the validations that have every measure the latest one has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aufx.aus import AU_INDEX, EMOTION_PROTOTYPES, N_AUS, RAFD_EMOTIONS, RAFD_TO_PROTOTYPE
from aufx.defaults import DEFAULT_MODEL
from aufx.files import save_torch

#: Seed of the held-out faces (the training pool is seeded from 0 upwards).
VALIDATION_SEED = 424_242
#: Seed of the held-out *generated* faces (:func:`generated_set`; the comparison edits the
#: generator's seeds 0..N-1, the demo and the example studies small seeds too).
GENERATED_SEED = 600_000
#: Intensity of the prototype AUs of an emotion target (the stimuli pipeline's default).
EMOTION_INTENSITY = 3.0
#: The measures of :func:`validate`, each with whether higher is better.
HIGHER_IS_BETTER = {"ideal_l1": False, "au_error": False, "emotion_accuracy": True, "noise_ratio": False,
                    "au_raise": True, "fd": False, "fd_generated": False}
#: The AUs raised one at a time for ``au_raise`` (the comparison's, benchmarks/bench_baselines_quality.py) and by how much.
RAISE_AUS = ("AU01", "AU04", "AU06", "AU12", "AU15", "AU20", "AU25", "AU26")
RAISE_CHANGE = 2.0
#: Issue 17's goals for a trained baseline that validation measures: emotions recognised at
#: >= 0.6 and no visible noise, checkerboard or seams (noise ratio <= 1.5: Gaussian noise of SD
#: 0.01, 2.5 grey levels, reads 1.5). The comparison (benchmarks/bench_baselines_quality.py) checks them too.
GOAL_EMOTION_ACCURACY, GOAL_NOISE_RATIO = 0.6, 1.5


@dataclass
class ValidationSet:
    """``images`` and ``ideal`` ``[N, 3, S, S]`` in [-1, 1]; ``target_aus`` ``[N, 16]``;
    ``labels`` ``[N]`` RaFD class indices of the emotion targets (``-1`` for AU-vector sets);
    ``source_aus`` ``[N, 16]`` the sources' true AUs (for methods that take them, Cascade EF-GAN)."""

    images: torch.Tensor
    ideal: torch.Tensor
    target_aus: torch.Tensor
    labels: torch.Tensor
    source_aus: torch.Tensor | None = None
    #: (analyzer, its pooled features of ``ideal``) pairs: computed at the first validation with
    #: that analyzer, reused by the later ones (the ideal renders do not change). Matched by
    #: identity; holding the analyzer keeps its ``id`` from being reused by another one.
    ideal_features: list[tuple[Any, np.ndarray]] = field(default_factory=list, init=False, repr=False, compare=False)


def emotion_aus(label: int, intensity: float = EMOTION_INTENSITY) -> np.ndarray:
    """AU vector ``[16]`` of RaFD class ``label``: its EMFACS prototype AUs at ``intensity``."""
    aus = np.zeros(N_AUS, dtype=np.float32)
    prototype = RAFD_TO_PROTOTYPE[RAFD_EMOTIONS[label]]
    for code in EMOTION_PROTOTYPES[prototype] if prototype else ():
        aus[AU_INDEX[code]] = intensity
    return aus


def _targets(n: int, seed: int, source_aus: np.ndarray, emotion: bool, keep_source_aus: bool,
             label: str | None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(target AUs ``[n, 16]``, RaFD labels ``[n]``, -1 for AU-vector targets) of the held-out
    sources whose true AUs are ``source_aus``: see :func:`validation_set`."""
    from aufx.synthfacs import sample_params

    rng = np.random.default_rng(seed)
    if not emotion:
        return sample_params(n, seed=seed + 1).aus[rng.permutation(n)], np.full(n, -1)
    expressive = [i for i, name in enumerate(RAFD_EMOTIONS) if RAFD_TO_PROTOTYPE[name]]
    if label is not None and label not in [RAFD_EMOTIONS[i] for i in expressive]:
        raise ValueError(f"label must be a RaFD class with prototype AUs "
                         f"({', '.join(RAFD_EMOTIONS[i] for i in expressive)}), got {label!r}")  # fmt: skip
    turns = expressive if label is None else [RAFD_EMOTIONS.index(label)]
    labels = np.array([turns[i % len(turns)] for i in range(n)])
    target = np.stack([emotion_aus(int(c)) for c in labels])
    if keep_source_aus:
        target = np.where(target > 0, target, source_aus).astype(np.float32)
    return target, labels


def _with_targets(images: torch.Tensor, identity: np.ndarray, source_aus: np.ndarray, size: int, seed: int,
                  emotion: bool, keep_source_aus: bool, label: str | None) -> ValidationSet:  # fmt: skip
    """The :class:`ValidationSet` of sources ``images`` ``[n, 3, size, size]`` whose true scene is
    (``identity``, ``source_aus``): targets by :func:`_targets`, ideal outputs rendered."""
    from aufx.synthfacs import render

    target, labels = _targets(len(images), seed, source_aus, emotion, keep_source_aus, label)
    ideal = render(target, identity, size=size, with_parts=False).images
    return ValidationSet(images, ideal, torch.as_tensor(target, dtype=torch.float32), torch.as_tensor(labels),
                         torch.as_tensor(source_aus, dtype=torch.float32))  # fmt: skip


def validation_set(size: int, n: int = 64, emotion: bool = False, seed: int = VALIDATION_SEED,
                   keep_source_aus: bool = False, label: str | None = None) -> ValidationSet:  # fmt: skip
    """``n`` held-out sources at ``size`` px with targets and ideal outputs (see the module docstring).

    ``keep_source_aus`` (emotion sets): the target is the source's AUs with the class's prototype
    AUs set to the intensity, as the stimuli pipeline builds an emotion edit (``target_vector``);
    else the prototype AUs alone (what StarGAN's labelled training faces show). ``label`` (emotion
    sets): every face gets that RaFD class (one with prototype AUs), else the classes take turns."""
    from aufx.synthfacs import render, sample_params

    sources = sample_params(n, seed=seed)
    images = render(sources.aus, sources.identity, size=size, with_parts=False).images
    return _with_targets(images, sources.identity, sources.aus, size, seed, emotion, keep_source_aus, label)


def generated_set(size: int, n: int = 64, emotion: bool = False, seed: int = GENERATED_SEED,
                  model: str = DEFAULT_MODEL) -> ValidationSet:  # fmt: skip
    """Like :func:`validation_set`, but the sources are faces of the distilled generator ``model``
    (seeds ``seed``..``seed + n - 1``, ψ = 1, so that each face's true AUs and identity are known:
    :func:`aufx.synthfacs.latent.true_scenes`), resized to ``size`` px (area) when the generator's
    resolution differs: the kind of face the comparison, the stimuli and the demo edit. The ideal
    outputs are renders of the true identity with the targets (targets drawn as ``validation_set``'s
    from ``seed``)."""
    import torch.nn.functional as F

    from aufx.gan.loaders import load_generator
    from aufx.gan.seeds import seed_latents
    from aufx.synthfacs.latent import true_scenes

    loaded = load_generator(model)
    z = seed_latents(loaded.generator.z_dim, range(seed, seed + n))
    scenes = true_scenes(loaded.metadata, z.numpy(), 1.0)
    if scenes is None:
        raise ValueError(f"generated_set: generator {model!r} was not distilled from the SynthFACS scene map, "
                         f"so its faces have no true AUs to validate against")  # fmt: skip
    with torch.no_grad():
        images = torch.cat([loaded.generator(z[i : i + 16]) for i in range(0, n, 16)]).clamp(-1, 1)
    if images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="area")
    return _with_targets(images, scenes.identity, scenes.aus, size, seed, emotion, False, None)


def standard_inputs(size: int, n: int = 64, emotion: bool = False) -> dict[str, Any]:
    """What ``aufx train --until-converged`` validates with at ``size`` px: ``vset`` (``n`` faces;
    RaFD-class targets when ``emotion``), ``emotion_set`` (the pipeline's emotion edits, for the
    AU-conditioned methods; ``None`` when ``emotion``), the bundled ``analyzer`` and the emotion
    ``classifier`` (:func:`baselines.emotion_classifier.cached_emotion_classifier`) and
    ``generated_set`` (:func:`generated_set`: ``n`` faces of the bundled generator with ``vset``'s
    kind of target)."""
    from aufx.edit.analyzer import analyzer_path, load_analyzer
    from baselines.emotion_classifier import cached_emotion_classifier

    analyzer = load_analyzer("synthfacs")
    classifier = cached_emotion_classifier(analyzer, analyzer_path("synthfacs"), seed=1000, size=size)["model"]
    return {"vset": validation_set(size, n=n, emotion=emotion),
            "emotion_set": None if emotion else validation_set(size, n=n, emotion=True, keep_source_aus=True),
            "generated_set": generated_set(size, n=n, emotion=emotion),
            "analyzer": analyzer, "classifier": classifier}  # fmt: skip


def edit_all(adapter: Any, vset: ValidationSet, by_label: bool, batch: int) -> torch.Tensor:
    """The adapter's outputs ``[N, 3, S, S]`` for ``vset``: targets are the RaFD classes when
    ``by_label`` (emotion-conditioned methods), else the AU vectors (with the sources' true AUs for
    methods that take them)."""
    outputs = []
    for start in range(0, vset.images.shape[0], batch):
        images = vset.images[start : start + batch]
        target = vset.labels[start : start + batch] if by_label else vset.target_aus[start : start + batch]
        if vset.source_aus is not None and hasattr(adapter, "with_source_aus"):
            target = adapter.with_source_aus(target, vset.source_aus[start : start + batch])
        outputs.append(adapter.edit(images, target).clamp(-1, 1))
    return torch.cat(outputs)


def raise_set(images: torch.Tensor, estimate: torch.Tensor, code: str, change: float = RAISE_CHANGE) -> ValidationSet:
    """The comparison's AU edit of ``images`` ``[N, 3, S, S]``: target = the analyzer's ``estimate``
    ``[N, 16]`` (0–5) with AU ``code`` raised by ``change`` (clamped to 5); the sources' AUs are the
    estimate (for methods that take them). ``ideal`` is the sources (the world gives no render of it)."""
    target = estimate.clone()
    k = AU_INDEX[code]
    target[:, k] = (target[:, k] + change).clamp(max=5.0)
    return ValidationSet(images=images, ideal=images, target_aus=target, labels=torch.full((len(images),), -1),
                         source_aus=estimate)  # fmt: skip


def au_raise_by_au(adapter: Any, images: torch.Tensor, analyzer: Any, aus: tuple[str, ...] = RAISE_AUS,
                   change: float = RAISE_CHANGE, batch: int = 16) -> dict[str, tuple[float, float]]:  # fmt: skip
    """For each of ``aus``: (the analyzer's mean rise of that AU asked to go up by ``change``, the
    lower end of its 95 % Student-t CI) for ``adapter`` on ``images`` ``[N, 3, S, S]``. Each target
    is the analyzer's estimate on the source (clamped to 0–5) with that AU raised by ``change``
    (clamped to 5), as the comparison's AU edit; methods that take the sources' AUs (Cascade
    EF-GAN) get the estimates, as the stimuli pipeline gives them."""
    from scipy import stats

    from aufx.edit.analyzer import analyze

    estimate = analyze(analyzer, images).aus.float().clamp(0.0, 5.0)
    rises = {}
    for code in aus:
        k = AU_INDEX[code]
        edits = raise_set(images, estimate, code, change)
        rise = (analyze(analyzer, edit_all(adapter, edits, False, batch)).aus.float()[:, k] - estimate[:, k]).double().numpy()
        half = stats.t.ppf(0.975, len(rise) - 1) * rise.std(ddof=1) / np.sqrt(len(rise))
        rises[code] = (float(rise.mean()), float(rise.mean() - half))
    return rises


def au_raise(adapter: Any, images: torch.Tensor, analyzer: Any, aus: tuple[str, ...] = RAISE_AUS,
             change: float = RAISE_CHANGE, batch: int = 16) -> tuple[float, int]:  # fmt: skip
    """(mean over ``aus`` of the mean rise, how many of ``aus`` rise with a 95 % CI above 0):
    :func:`au_raise_by_au` in two numbers."""
    return raise_summary(au_raise_by_au(adapter, images, analyzer, aus, change, batch))


def raise_summary(rises: dict[str, tuple[float, float]]) -> tuple[float, int]:
    """(mean over the AUs of their mean rise, how many have their CI's lower end above 0) of
    :func:`au_raise_by_au`'s ``{AU: (mean, lower end)}``."""
    return float(np.mean([mean for mean, _ in rises.values()])), sum(low > 0 for _, low in rises.values())


def _features(analyzer: Any, images: torch.Tensor, batch: int) -> np.ndarray:
    """``aufx.metrics.realism_features`` of ``images`` ``[N, 3, S, S]``, ``[N, F]`` float64."""
    from aufx.metrics import realism_features

    return torch.cat([realism_features(analyzer, images[i : i + batch]) for i in range(0, len(images), batch)]).double().numpy()


def _fd_to_ideal(analyzer: Any, outputs: torch.Tensor, vset: ValidationSet, batch: int) -> float:
    """The comparison's FD (``aufx.gan.quality.feature_fd`` of ``aufx.metrics.realism_features``)
    between ``outputs`` and ``vset``'s ideal renders, both ``[N, 3, S, S]``; on the few validation
    faces it is biased upwards (more than on the comparison's 200) but comparable across the
    checkpoints of one run, which is what the rank sum needs. With fewer faces than features (64
    against the analyzer's 264) the covariances are singular, as expected: scipy's warning is muted.
    The ideal renders' features are computed once per set and analyzer (``vset.ideal_features``)."""
    import warnings

    from scipy.linalg import LinAlgWarning

    from aufx.gan.quality import feature_fd

    ideal = next((features for seen, features in vset.ideal_features if seen is analyzer), None)
    if ideal is None:
        ideal = _features(analyzer, vset.ideal, batch)
        vset.ideal_features.append((analyzer, ideal))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        return feature_fd(_features(analyzer, outputs, batch), ideal)


def _accuracy(aus: torch.Tensor, labels: torch.Tensor, classifier: Any) -> float:
    """Share of the AU estimates ``[N, 16]`` that ``classifier`` reads as their RaFD class ``labels``."""
    predicted = classifier.predict(aus.double().numpy())
    wanted = np.array([RAFD_EMOTIONS[int(c)] for c in labels])
    return float((predicted == wanted).mean())


@torch.no_grad()
def validate(adapter: Any, vset: ValidationSet, analyzer: Any = None, classifier: Any = None,
             batch: int = 16, emotion_set: ValidationSet | None = None,
             raise_aus: tuple[str, ...] = RAISE_AUS, generated_set: ValidationSet | None = None) -> dict[str, float]:  # fmt: skip
    """Measures of ``adapter`` (a :class:`baselines.base.Baseline`) on ``vset``; ``au_error`` needs
    ``analyzer``, ``emotion_accuracy`` also needs ``classifier`` (a fitted sklearn pipeline) and,
    for an AU-vector ``vset``, ``emotion_set`` (a ``validation_set(..., emotion=True)``): the
    AU-conditioned method is then given that set's AU vectors (with ``keep_source_aus``, the
    stimuli pipeline's emotion edits). For an AU-vector ``vset`` with ``analyzer``, ``au_raise`` and
    ``aus_raised`` (:func:`au_raise` of ``raise_aus`` on its sources; ``()``: not measured). With
    ``analyzer`` and ``generated_set`` (a :func:`generated_set` with ``vset``'s kind of target),
    ``fd_generated``: the FD to the ideal renders of the edits of those generated faces."""
    emotion = bool((vset.labels >= 0).any())
    out = edit_all(adapter, vset, emotion, batch)
    from aufx.metrics import high_frequency_ratio, noise_ratio

    result = {"ideal_l1": float((out - vset.ideal).abs().mean()), "high_freq_ratio": high_frequency_ratio(out, vset.ideal)}
    if min(out.shape[-2:]) >= 8:
        ratio = noise_ratio(out, vset.images, vset.ideal)
        if np.isfinite(ratio):
            result["noise_ratio"] = ratio
    if analyzer is not None:
        from aufx.edit.analyzer import analyze

        aus = analyze(analyzer, out).aus.float()
        result["au_error"] = float((aus - vset.target_aus).abs().mean())
        result["fd"] = _fd_to_ideal(analyzer, out, vset, batch)
        if generated_set is not None:
            generated_out = edit_all(adapter, generated_set, emotion, batch)
            result["fd_generated"] = _fd_to_ideal(analyzer, generated_out, generated_set, batch)
        if emotion and classifier is not None:
            result["emotion_accuracy"] = _accuracy(aus, vset.labels, classifier)
        elif classifier is not None and emotion_set is not None:
            emotion_aus_out = analyze(analyzer, edit_all(adapter, emotion_set, False, batch)).aus.float()
            result["emotion_accuracy"] = _accuracy(emotion_aus_out, emotion_set.labels, classifier)
        if not emotion and raise_aus:
            rises = au_raise_by_au(adapter, vset.images, analyzer, raise_aus, batch=batch)
            result["au_raise"], result["aus_raised"] = raise_summary(rises)
            result.update({f"raise_low_{code}": low for code, (_, low) in rises.items()})  # which AU misses: logged
    return result


def validations_since_improvement(values: list[float], min_delta: float, higher_is_better: bool = False) -> int:
    """How many of ``values`` (oldest first) came after the last one that beat the best before it
    by more than ``min_delta`` × best (the first value counts as an improvement)."""
    sign = -1.0 if higher_is_better else 1.0
    best, since = float("inf"), 0
    for value in values:
        value = sign * value
        if value < best - min_delta * abs(best) or best == float("inf"):
            best, since = value, 0
        else:
            since += 1
    return since


def measures_of(history: list[dict[str, float]], measures: tuple[str, ...] = tuple(HIGHER_IS_BETTER)) -> list[str]:
    """The ``measures`` that the latest validation in ``history`` has (a measure added during a
    training is missing from the validations before it)."""
    return [m for m in measures if history and m in history[-1]]


#: The relative change of a measure that counts: by the stopping rule (an improvement) and by
#: :func:`compare_measures` (a difference), unless a run sets its own (``--min-delta``).
MIN_DELTA = 0.01


@dataclass
class Plateau:
    """Converged when none of ``measures`` (those the history has) has improved its best by more
    than ``min_delta`` × best for ``patience`` validations in a row."""

    patience: int = 6
    min_delta: float = MIN_DELTA
    measures: tuple[str, ...] = field(default=tuple(HIGHER_IS_BETTER))

    def converged(self, history: list[dict[str, float]]) -> bool:
        """Whether the validations in ``history`` (oldest first) meet the rule."""
        present = measures_of(history, self.measures)
        return bool(present) and all(
            validations_since_improvement([h[m] for h in history if m in h], self.min_delta, HIGHER_IS_BETTER[m])
            >= self.patience
            for m in present
        )


def goals_met(row: dict[str, float]) -> int:
    """How many of issue 17's goals a validation ``row`` meets, among those it measures: emotions
    recognised at >= :data:`GOAL_EMOTION_ACCURACY`, ``noise_ratio`` <= :data:`GOAL_NOISE_RATIO`,
    and (AU-conditioned methods) every one of :data:`RAISE_AUS` raised (``aus_raised``)."""
    return (int(row.get("emotion_accuracy", -1.0) >= GOAL_EMOTION_ACCURACY)
            + int(row.get("noise_ratio", np.inf) <= GOAL_NOISE_RATIO)
            + int(row.get("aus_raised", -1) >= len(RAISE_AUS)))  # fmt: skip


def best_index(history: list[dict[str, float]], measures: tuple[str, ...] = tuple(HIGHER_IS_BETTER)) -> int:
    """Index of the best validation in ``history``: among the validations that have every measure
    the latest one has, those that meet the most goals (:func:`goals_met`), and among them the lowest
    sum of its ranks over those measures (rank 1 = best of that measure among them; ties share a
    rank); a tie goes to the later one."""
    from scipy.stats import rankdata

    present = measures_of(history, measures)
    if not present:
        raise ValueError("best_index: the latest validation has none of the measures")
    candidates = [i for i, h in enumerate(history) if all(m in h for m in present)]
    most = max(goals_met(history[i]) for i in candidates)
    candidates = [i for i in candidates if goals_met(history[i]) == most]
    total = np.zeros(len(candidates))
    for m in present:
        values = np.array([history[i][m] for i in candidates], dtype=float)
        total += rankdata(-values if HIGHER_IS_BETTER[m] else values)
    return candidates[int(np.flatnonzero(total == total.min())[-1])]


def compare_measures(candidate: dict[str, float], incumbent: dict[str, float],
                     measures: tuple[str, ...] = tuple(HIGHER_IS_BETTER), min_delta: float = MIN_DELTA) -> tuple[list[str], list[str]]:  # fmt: skip
    """(the ``measures`` on which ``candidate`` is better than ``incumbent``, those on which it is
    worse), among the measures both have; a difference of at most ``min_delta`` × |incumbent| (what
    the stopping rule counts as no improvement) is neither: the same generator validated twice differs in the last digits
    (float32 sums in another order), which must not decide an export."""
    better, worse = [], []
    for m in measures:
        if m in candidate and m in incumbent and abs(candidate[m] - incumbent[m]) > min_delta * abs(incumbent[m]):
            wins = candidate[m] > incumbent[m] if HIGHER_IS_BETTER[m] else candidate[m] < incumbent[m]
            (better if wins else worse).append(m)
    return better, worse


def read_history(path: str | Path) -> list[dict[str, float]]:
    """The validations logged in ``path`` (``val.jsonl``: one JSON object per line), oldest first."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Validator:
    """Validate a trainer's generator, log it, keep the best one, and say when to stop.

    Called with the trainer (after a checkpoint, say); appends ``{"step", "elapsed_s", measures}`` to
    ``<state_dir>/val.jsonl``, writes the generator's state to ``<state_dir>/best_G.pt`` when
    this validation is the best so far (:func:`best_index`), and returns whether :class:`Plateau` says training has
    converged. ``adapter`` is the method's :class:`baselines.base.Baseline` at the trainer's
    working size; the trainer's current weights are copied into it before each validation.
    """

    def __init__(self, adapter: Any, state_dir: str | Path, vset: ValidationSet, analyzer: Any = None,
                 classifier: Any = None, plateau: Plateau | None = None, emotion_set: ValidationSet | None = None,
                 last_weights_every: int = 1, generated_set: ValidationSet | None = None) -> None:  # fmt: skip
        if last_weights_every < 0:
            raise ValueError(f"last_weights_every (--validate-last-every) must be >= 0, got {last_weights_every}")
        self.adapter, self.vset, self.emotion_set, self.generated_set = adapter, vset, emotion_set, generated_set
        self.analyzer, self.classifier = analyzer, classifier
        self.plateau = plateau or Plateau()
        self.state_dir = Path(state_dir)
        self.history_path = self.state_dir / "val.jsonl"
        self.best_path = self.state_dir / "best_G.pt"
        #: With a moving average of the weights (``trainer.G_ema``), the last weights' measures on
        #: the same faces, so that the average's effect is measured (not used by the stopping rule):
        #: at every ``last_weights_every``-th validation of the log (1: each, 0: never), as each costs
        #: a second validation's time.
        self.raw_history_path = self.state_dir / "val_last_weights.jsonl"
        self.last_weights_every = last_weights_every

    def measure(self, adapter: Any) -> dict[str, float]:
        """:func:`validate` of ``adapter`` on this validator's sets, analyzer and classifier."""
        return validate(adapter, self.vset, self.analyzer, self.classifier, emotion_set=self.emotion_set,
                        generated_set=self.generated_set)

    def _keep_best(self, trainer: Any, line: dict[str, float]) -> None:
        """Write the trainer's generator, its config and its validation ``line`` as ``best_G.pt`` (atomically)."""
        from dataclasses import asdict

        from baselines.training import generator_in_use

        state = generator_in_use(trainer).state_dict()
        save_torch({"step": trainer.step, "G": state, "config": asdict(trainer.config), **line}, self.best_path)

    def _kept_goals(self) -> int:
        """:func:`goals_met` of the generator kept in ``best_G.pt`` (-1: none kept). A validation that
        meets more goals replaces it even when an earlier validation that met as many is ranked
        above it: that one's weights were not kept (the rule changed, or ranks moved as the log grew)."""
        from baselines.checkpoints import read_torch_file

        return goals_met(read_torch_file(self.best_path)) if self.best_path.is_file() else -1

    def restore(self, validations: list[dict[str, float]], trainer: Any) -> int:
        """Go on with the validation log that came with an exported bundle (``trainer.init_from``):
        write its rows to ``val.jsonl`` and, for the row at the trainer's step, its generator (the
        bundle's) as ``best_G.pt``; only when this state directory has no log yet. Returns the rows written."""
        if not validations or self.history_path.is_file():
            return 0
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.history_path.write_text("".join(json.dumps(row) + "\n" for row in validations))
        at_step = [row for row in validations if row["step"] == trainer.step]
        if at_step:
            self._keep_best(trainer, at_step[-1])
        return len(validations)

    def __call__(self, trainer: Any) -> bool:
        from baselines.training import load_trained_generator

        load_trained_generator(self.adapter, trainer)
        history = read_history(self.history_path)
        line = self._measure_row(trainer)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if best_index([*history, line], self.plateau.measures) == len(history) or goals_met(line) > self._kept_goals():
            self._keep_best(trainer, line)
        _append_row(self.history_path, line)
        every = self.last_weights_every
        if getattr(trainer, "G_ema", None) is not None and every and (len(history) + 1) % every == 0:
            self._measure_last_weights(trainer)
        return self.plateau.converged([*history, line])

    def _measure_last_weights(self, trainer: Any) -> None:
        """Validate ``trainer.G`` (the last weights, not their average) and append the row to
        :attr:`raw_history_path`; the adapter is left holding the average again."""
        from baselines.training import load_generator_state, load_trained_generator

        load_generator_state(self.adapter, {k: v.detach().clone() for k, v in trainer.G.state_dict().items()}, "last weights")
        _append_row(self.raw_history_path, self._measure_row(trainer))
        load_trained_generator(self.adapter, trainer)

    def _measure_row(self, trainer: Any) -> dict[str, float]:
        """The log row of the generator the adapter holds now: ``{"step", "elapsed_s", measures}``."""
        result = self.measure(self.adapter)
        return {"step": trainer.step, "elapsed_s": round(trainer.elapsed, 1), **{k: round(v, 5) for k, v in result.items()}}


def _append_row(path: Path, row: dict[str, float]) -> None:
    """Append one JSON line to a validation log."""
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
