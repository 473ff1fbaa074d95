"""SynthFACS: a procedural face world with ground-truth AUs, identities and facial parts.

Stands in for RaFD / Bosphorus / CFEE, which cannot ship. Typical use::

    from aufx.synthfacs import sample_params, render, PART_NAMES
    params = sample_params(16, seed=0)              # .aus [16, 16] on 0..5, .identity [16, D]
    out = render(params.aus, params.identity, size=64)
    out.images  # float32 [16, 3, 64, 64] in [-1, 1];  out.parts  # int64 [16, 64, 64]

Modules: :mod:`~aufx.synthfacs.identity` (identity parameters and colours),
:mod:`~aufx.synthfacs.sampling` (the AU/identity distribution), :mod:`~aufx.synthfacs.latent`
(the fixed map z -> scene that the bundled generator reproduces), :mod:`~aufx.synthfacs.geometry`
(AU and identity -> feature placement), :mod:`~aufx.synthfacs.shapes` and
:mod:`~aufx.synthfacs.painter` (drawing), :mod:`~aufx.synthfacs.parts` (label maps),
:mod:`~aufx.synthfacs.renderer` (the entry point).
"""

from aufx.synthfacs.identity import IDENTITY_NAMES, N_IDENTITY, sample_identity
from aufx.synthfacs.latent import params_from_z
from aufx.synthfacs.parts import PART_GROUPS, PART_INDEX, PART_NAMES
from aufx.synthfacs.renderer import RenderResult, render
from aufx.synthfacs.sampling import (
    LATENT_Z_DIM,
    FaceParams,
    au_correlation,
    sample_aus,
    sample_latents,
    sample_mixture_params,
    sample_params,
)

__all__ = [
    "IDENTITY_NAMES", "N_IDENTITY", "PART_GROUPS", "PART_INDEX", "PART_NAMES", "FaceParams",
    "LATENT_Z_DIM", "RenderResult", "au_correlation", "params_from_z", "render", "sample_aus", "sample_identity",
    "sample_latents", "sample_mixture_params", "sample_params",
]  # fmt: skip
