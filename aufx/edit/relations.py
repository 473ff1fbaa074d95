"""AU–cluster–channel relationships of the activation space (paper Sec. 4.2, Eq. 8–10).

Shapes follow the paper: A [AU+1, N, C, H, W] activations of the neutral faces (index 0) and
of the same faces edited per AU (1..16); U [AU+1, N, K, H, W] their cluster memberships.
Memory-light variants take one AU at a time so a caller can accumulate over AUs.

A cluster absent from a face (Σ_hw U = 0) contributes 0 to the sum over faces (the paper's
0/0 term is taken as 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from aufx.aus import AU_CODES


def _masked_mean_sq(u: torch.Tensor, d2: torch.Tensor) -> torch.Tensor:
    """Σ_n [Σ_hw U_nk · d2_nc / Σ_hw U_nk]: u [N, K, H, W], d2 [N, C, H, W] -> [K, C]."""
    u = u.double().flatten(2)
    d2 = d2.double().flatten(2)
    sums = torch.einsum("nkp,ncp->nkc", u, d2)
    counts = u.sum(dim=2)  # [N, K]
    ratio = torch.where(counts[..., None] > 0, sums / counts.clamp_min(1e-12)[..., None], torch.zeros_like(sums))
    return ratio.sum(dim=0)


def au_cluster_channel_single(u_edit: torch.Tensor, a_edit: torch.Tensor, a_neutral: torch.Tensor) -> torch.Tensor:
    """Eq. 8 for one AU: R[k, c] = Σ_n Σ_hw U[n,k,h,w] (A[n,c,h,w] - A0[n,c,h,w])² / Σ_hw U[n,k,h,w].

    u_edit: [N, K, H, W] memberships of the edited faces; a_edit, a_neutral: [N, C, H, W].
    Returns [K, C] float64.
    """
    if a_edit.shape != a_neutral.shape:
        raise ValueError(f"edited and neutral activations differ in shape: {list(a_edit.shape)} vs {list(a_neutral.shape)}")
    return _masked_mean_sq(u_edit, (a_edit.double() - a_neutral.double()) ** 2)


def au_cluster_channel(u: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Eq. 8: R [AU, K, C] from U [AU+1, N, K, H, W] and A [AU+1, N, C, H, W] (index 0 = neutral)."""
    if u.shape[0] != a.shape[0] or u.shape[0] < 2:
        raise ValueError(f"U and A need the same leading AU+1 axis (>= 2), got {u.shape[0]} and {a.shape[0]}")
    return torch.stack([au_cluster_channel_single(u[i], a[i], a[0]) for i in range(1, u.shape[0])])


def au_cluster(r_akc: torch.Tensor) -> torch.Tensor:
    """Eq. 9: R[au, k] = Σ_c R[au, k, c]: [AU, K, C] -> [AU, K]."""
    return r_akc.sum(dim=-1)


def cluster_channel(u: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Eq. 10: R[k, c] = Σ_n Σ_hw U[n,k,h,w] A[n,c,h,w]² / Σ_hw U[n,k,h,w]; U [N,K,H,W], A [N,C,H,W] -> [K, C]."""
    return _masked_mean_sq(u, a.double() ** 2)


def top_clusters(r_ak: np.ndarray | torch.Tensor, top: int = 4, allowed: np.ndarray | None = None) -> list[list[int]]:
    """Table 1: per AU the ``top`` clusters with the largest R[au, k] (descending), among ``allowed`` ids."""
    r = np.asarray(r_ak, dtype=float)
    ids = np.arange(r.shape[1]) if allowed is None else np.asarray(allowed, dtype=int)
    result = []
    for row in r:
        order = ids[np.argsort(-row[ids], kind="stable")]
        result.append([int(k) for k in order[:top]])
    return result


def table1(r_ak: np.ndarray | torch.Tensor, names: list[str] | None = None, top: int = 4, allowed: np.ndarray | None = None) -> pd.DataFrame:
    """Table 1 as a frame: one row per AU with ``rank1..rank<top>`` cluster ids, their names and R values."""
    from aufx.aus import AU_NAMES

    r = np.asarray(r_ak, dtype=float)
    rows = []
    for i, ids in enumerate(top_clusters(r, top, allowed)):
        row = {"AU": AU_CODES[i], "name": AU_NAMES[AU_CODES[i]]}
        row["clusters"] = " ".join(str(k) for k in ids)
        row["regions"] = ", ".join(names[k] if names else f"cluster {k}" for k in ids)
        for rank, k in enumerate(ids, start=1):
            row[f"rank{rank}"] = k
            row[f"R{rank}"] = float(r[i, k])
        rows.append(row)
    return pd.DataFrame(rows)


def part_check(r_ak: np.ndarray | torch.Tensor, catalog, top: int = 4) -> pd.DataFrame:
    """Table 1 checked against the part maps, one row per AU (``AU_CODES`` order).

    ``catalog``: a fitted :class:`aufx.edit.catalog.RegionCatalog` (face clusters, dominant parts).
    Columns: ``clusters`` (the ``top`` face clusters by Eq. 9, ids), ``top1_in_parts`` (the first
    one's dominant part is among the AU's parts, :data:`aufx.edit.au_parts.AU_PARTS`),
    ``any_in_parts`` (some of the ``top`` is), and the chance of each under a random ranking of the
    face clusters (``top1_chance``, ``any_chance``). Data-driven, unlike the AU → cluster
    dictionary, which keeps only in-part clusters by construction.
    """
    from math import comb

    from aufx.edit.au_parts import AU_PARTS

    faces = np.flatnonzero(np.asarray(catalog.face_clusters_, dtype=bool))
    rows = []
    for code, ids in zip(AU_CODES, top_clusters(r_ak, top, allowed=faces), strict=True):
        in_parts = [catalog.dominant_part(k) in AU_PARTS[code] for k in ids]
        hits = sum(catalog.dominant_part(k) in AU_PARTS[code] for k in faces)
        rows.append({"AU": code, "clusters": ids, "top1_in_parts": bool(in_parts[:1] and in_parts[0]),
                     "any_in_parts": any(in_parts), "top1_chance": hits / max(len(faces), 1),
                     "any_chance": 1.0 - comb(len(faces) - hits, len(ids)) / max(comb(len(faces), len(ids)), 1)})  # fmt: skip
    return pd.DataFrame(rows).set_index("AU")
