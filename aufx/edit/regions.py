"""Building a region catalog for a generator and measuring Eq. 8–10 on it (paper Sec. 4.2).

Steps (what ``aufx train regions`` runs):

1. :func:`capture_activations`: layer activations A [N, C, h, w] (and images) of N sampled faces;
2. fit the :class:`~aufx.edit.catalog.RegionCatalog` and name its clusters from the analyzer's
   part maps of the same faces (:meth:`RegionCatalog.name_clusters`);
3. :func:`neutralize`: the global editor drives all 16 AUs of other faces to 0 (neutral faces);
4. :func:`au_relations`: each neutral face edited per AU (+``intensity``), Eq. 8 accumulated AU
   by AU (never holding the [AU+1, N, C, h, w] tensor), Eq. 9 from it;
5. Eq. 10 (:func:`aufx.edit.relations.cluster_channel`) on the faces of step 1;
6. the AU → clusters dictionary (:meth:`RegionCatalog.suggest_au_clusters`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from aufx.aus import AU_CODES
from aufx.edit.analyzer import Analyzer, analyze
from aufx.edit.catalog import RegionCatalog
from aufx.edit.dataset import seed_latents
from aufx.edit.global_editor import GlobalEditor, optimize_edit
from aufx.edit.relations import au_cluster, au_cluster_channel_single, cluster_channel
from aufx.gan import PAPER_LAYER


@torch.no_grad()
def capture_activations(
    generator: torch.nn.Module, ws: torch.Tensor, layer: str = PAPER_LAYER, batch_size: int = 32, images: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A [N, C, h, w] at ``layer`` for latents W/W+; with ``images`` also the images [N, 3, R, R]."""
    acts, imgs = [], []
    for start in range(0, ws.shape[0], batch_size):
        chunk = ws[start : start + batch_size]
        if images:
            result = generator.synthesis.run(chunk, capture=[layer])
            imgs.append(result.image)
            acts.append(result.activations[layer])
        else:
            acts.append(generator.synthesis.run(chunk, stop_after=layer).state.x)
    return torch.cat(acts), (torch.cat(imgs) if images else None)


def sample_ws(generator: torch.nn.Module, n: int, seed: int, truncation_psi: float = 1.0) -> torch.Tensor:
    """W [n, w_dim] for seeds seed..seed+n-1 (NVIDIA's seed convention)."""
    with torch.no_grad():
        return generator.mapping(seed_latents(generator.z_dim, range(seed, seed + n)), truncation_psi=truncation_psi)[:, 0]


def fit_catalog(
    generator: torch.nn.Module,
    ws: torch.Tensor,
    n_clusters: int = 20,
    layer: str = PAPER_LAYER,
    analyzer: Analyzer | None = None,
    random_state: int = 0,
) -> tuple[RegionCatalog, torch.Tensor, torch.Tensor]:
    """Fit and (with an analyzer) name a catalog; returns (catalog, activations, images)."""
    acts, images = capture_activations(generator, ws, layer, images=True)
    catalog = RegionCatalog(n_clusters=n_clusters, layer=layer, random_state=random_state).fit(acts)
    if analyzer is not None:
        catalog.name_clusters(acts, analyze(analyzer, images).parts)
    return catalog, acts, images


#: ``edit(ws, {"AU12": 3.0})`` -> edited latents, absolute targets, unnamed AUs held (e.g.
#: ``EditingModel.global_edit`` with ``relative=False``, which starts from the linear step).
AbsoluteEdit = Callable[[torch.Tensor, dict[str, float]], torch.Tensor]


def neutralize(
    editor: GlobalEditor, ws: torch.Tensor, steps: int = 300, lr: float = 0.01, edit: AbsoluteEdit | None = None
) -> torch.Tensor:
    """Latents whose 16 predicted AUs are driven to 0 (the editor's notion of a neutral face);
    by ``edit`` when given, else by optimisation on w from ``ws``."""
    if edit is not None:
        return edit(ws, dict.fromkeys(AU_CODES, 0.0))
    return optimize_edit(editor, ws, torch.zeros(len(AU_CODES)), steps=steps, lr=lr).w


@dataclass
class AURelations:
    """Eq. 8 R [16, K, C] and Eq. 9 R [16, K] (float64), from ``n_faces`` neutral faces."""

    r_akc: torch.Tensor
    r_ak: torch.Tensor
    n_faces: int


def au_relations(
    generator: torch.nn.Module,
    editor: GlobalEditor,
    catalog: RegionCatalog,
    ws_neutral: torch.Tensor,
    intensity: float = 3.0,
    steps: int = 200,
    lr: float = 0.01,
    edit: AbsoluteEdit | None = None,
) -> AURelations:
    """Edit each neutral face to AU = ``intensity`` (others held) per AU; Eq. 8 per AU, Eq. 9.
    The edit is ``edit`` when given, else optimisation on w (``steps``, ``lr``)."""
    a0, _ = capture_activations(generator, ws_neutral, catalog.layer)
    rows = []
    for code in AU_CODES:
        if edit is not None:
            w_edit = edit(ws_neutral, {code: intensity})
        else:
            w_edit = optimize_edit(editor, ws_neutral, {code: intensity}, steps=steps, lr=lr).w
        a_edit, _ = capture_activations(generator, w_edit, catalog.layer)
        u_edit = catalog.memberships(a_edit)
        rows.append(au_cluster_channel_single(u_edit, a_edit, a0))
    r_akc = torch.stack(rows)
    return AURelations(r_akc=r_akc, r_ak=au_cluster(r_akc), n_faces=int(ws_neutral.shape[0]))


def region_channel(catalog: RegionCatalog, activations: torch.Tensor) -> torch.Tensor:
    """Eq. 10 R [K, C] on activations [N, C, h, w] with the catalog's memberships."""
    return cluster_channel(catalog.memberships(activations), activations)


def relation_arrays(relations: AURelations | None, r_kc: torch.Tensor | None) -> dict[str, np.ndarray]:
    """Arrays to store beside the catalog (``r_au_cluster_channel``, ``r_au_cluster``, ``r_cluster_channel``)."""
    arrays: dict[str, np.ndarray] = {}
    if relations is not None:
        arrays["r_au_cluster_channel"] = relations.r_akc.numpy()
        arrays["r_au_cluster"] = relations.r_ak.numpy()
    if r_kc is not None:
        arrays["r_cluster_channel"] = r_kc.numpy()
    return arrays
