"""Expression transfer and emotion editing (paper Sec. 5).

Transfer: predict the target face's 16 AU intensities — the global editor on its latent, or the
face analyzer on its image — and edit the source face to reach them (global optimisation on
all 16 AUs), then restrict the edit to the regions of the AUs that change by at least
``min_change`` (local modes).

Emotion: the EMFACS prototype's AUs (:func:`aufx.aus.emotion_targets`) set to an intensity;
the other AUs keep the face's current values.
"""

from __future__ import annotations

import warnings

import torch

from aufx.aus import AU_CODES, AU_MAX, AU_MIN, emotion_targets
from aufx.edit.engine import EditingModel, EditOutcome


def target_aus(model: EditingModel, w_target: torch.Tensor | None = None, image_target: torch.Tensor | None = None) -> torch.Tensor:
    """AU intensities [N, 16] of the target faces: editor on ``w_target`` or analyzer on ``image_target``."""
    if (w_target is None) == (image_target is None):
        raise ValueError("give exactly one of a target latent or a target image")
    aus = model.predict(w_target) if w_target is not None else model.analyze_aus(image_target)
    return aus.clamp(AU_MIN, AU_MAX)


def transfer_expression(
    model: EditingModel,
    w_source: torch.Tensor,
    w_target: torch.Tensor | None = None,
    image_target: torch.Tensor | None = None,
    mode: str = "local-mux",
    min_change: float = 0.5,
) -> EditOutcome:
    """Edit one source face (w [1, w_dim] or W+ [1, L, w_dim]) to the target face's AUs.

    ``global-linear`` steps only along the AUs whose target differs by at least ``min_change``;
    the optimisation modes target all 16 AUs.

    Local modes keep the change inside the clusters of the AUs whose target differs from the
    source's predicted value by at least ``min_change`` (AUs without clusters in the catalog's
    dictionary are left out); if none is left, the global result is kept.
    """
    if w_source.shape[0] != 1:
        raise ValueError(f"transfer edits one source face at a time, got {w_source.shape[0]}")
    targets = target_aus(model, w_target, image_target)[0]
    current = model.predict(w_source)[0]
    changing = [code for i, code in enumerate(AU_CODES) if abs(float(targets[i] - current[i])) >= min_change]
    if mode == "global-linear":  # a linear step per AU: only the AUs that change (Eq. 2)
        slopes = model.directions.slopes if model.directions is not None else None
        if slopes is not None:  # an AU whose calibrated direction does not raise it cannot be stepped
            stuck = [code for code in changing if not float(slopes[AU_CODES.index(code)]) > 1e-8]
            if stuck:
                warnings.warn(f"linear transfer leaves out {', '.join(stuck)}: their directions do not raise them", stacklevel=2)
            changing = [code for code in changing if code not in stuck]
        if not changing:
            raise ValueError(
                f"no AU of the target differs from the source's by {min_change:g} or more: nothing to transfer"
            )
        all_targets = {code: float(targets[AU_CODES.index(code)]) for code in changing}
        return model.edit(w_source, all_targets, mode=mode, relative=False)
    if mode.startswith("local-") and model.catalog is not None:  # AUs without regions cannot be localised
        changing = [code for code in changing if model.catalog.au_clusters_.get(code)]
    all_targets = {code: float(targets[i]) for i, code in enumerate(AU_CODES)}
    effective = mode if (changing or not mode.startswith("local-")) else "global-opt"
    outcome = model.edit(w_source, all_targets, mode="global-opt" if effective.startswith("local-") else effective, relative=False)
    if effective.startswith("local-"):
        image, w_local, mask = model.local_edit(w_source, outcome.w_global, changing, effective.split("-")[1])
        outcome.image, outcome.w_local, outcome.mask = image, w_local, mask
        outcome.predicted_after = model.predict(w_local if w_local is not None else outcome.w_global)
    return outcome


def edit_emotion(model: EditingModel, w: torch.Tensor, emotion: str, intensity: float = 3.0, mode: str = "local-mux") -> EditOutcome:
    """Set the EMFACS prototype AUs of ``emotion`` to ``intensity`` (0..5) on faces w; others unchanged."""
    targets = emotion_targets(emotion, intensity)
    if not targets:
        raise ValueError(f"emotion {emotion!r} has no AUs to set (neutral); edit AUs to 0 with `aufx edit` instead")
    return model.edit(w, targets, mode=mode, relative=False)
