"""Region catalog (paper Sec. 3.2.1, after Collins et al.): spherical k-means on layer activations.

:class:`SphericalKMeans` is a scikit-learn style estimator (hyper-parameters in ``__init__``,
learned state in attributes ending in ``_``, ``fit`` / ``predict``): mini-batch k-means on
unit-normalised vectors, assignment by the largest cosine to the unit centres.

:class:`RegionCatalog` applies it to activation maps A [N, C, H, W] of one generator layer
(default ``b32.conv1``): every spatial position of every face is one C-vector. ``predict`` gives
labels [N, H, W], ``memberships`` the one-hot U [N, K, H, W] (resized nearest-neighbour, as
Collins et al. do). ``name_clusters`` names clusters from part label maps (analyzer or SynthFACS
ground truth) and flags the face clusters; ``au_clusters_`` is the AU → clusters dictionary
used for local editing, saved as editable JSON beside the model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from aufx.aus import AU_CODES, normalize_au
from aufx.edit.au_parts import AU_PARTS, NON_FACE_PARTS
from aufx.synthfacs.parts import PART_NAMES

CATALOG_FORMAT = "aufx-region-catalog"
CATALOG_VERSION = 1


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class SphericalKMeans:
    """Spherical k-means: k-means on unit-normalised rows, centres kept on the unit sphere.

    Args:
        n_clusters: number of clusters K.
        batch_size: mini-batch size of scikit-learn's ``MiniBatchKMeans``.
        max_iter: passes over the data.
        n_init: random initialisations (the best inertia is kept).
        random_state: seed; same data and seed give the same clustering.

    Learned attributes: ``cluster_centers_`` [K, D] unit vectors, ``n_features_in_``, ``inertia_``.
    """

    def __init__(
        self, n_clusters: int = 20, batch_size: int = 2048, max_iter: int = 100, n_init: int = 3, random_state: int | None = 0
    ) -> None:
        self.n_clusters = n_clusters
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, x: np.ndarray, y: None = None) -> SphericalKMeans:
        """x: [M, D] vectors (any norm). Returns self."""
        from sklearn.cluster import MiniBatchKMeans

        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < self.n_clusters:
            raise ValueError(f"need a [M, D] array with M >= n_clusters={self.n_clusters}, got shape {x.shape}")
        kmeans = MiniBatchKMeans(
            n_clusters=self.n_clusters, batch_size=self.batch_size, max_iter=self.max_iter,
            n_init=self.n_init, random_state=self.random_state,
        )  # fmt: skip
        kmeans.fit(_unit_rows(x))
        self.cluster_centers_ = _unit_rows(kmeans.cluster_centers_)
        self.n_features_in_ = x.shape[1]
        self.inertia_ = float(kmeans.inertia_)
        return self

    def _check(self, x: np.ndarray) -> np.ndarray:
        if not hasattr(self, "cluster_centers_"):
            raise ValueError("this SphericalKMeans is not fitted yet; call fit first")
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features_in_:
            raise ValueError(f"expected [M, {self.n_features_in_}] vectors, got shape {x.shape}")
        return x

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Cosine similarity of each row to each centre: [M, K]."""
        return _unit_rows(self._check(x)) @ self.cluster_centers_.T

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Cluster of each row (largest cosine): [M] int64."""
        return self.transform(x).argmax(axis=1).astype(np.int64)

    def fit_predict(self, x: np.ndarray, y: None = None) -> np.ndarray:
        return self.fit(x).predict(x)


def _flatten_activations(a: torch.Tensor | np.ndarray) -> np.ndarray:
    a = torch.as_tensor(a)
    if a.ndim != 4:
        raise ValueError(f"activations must be [N, C, H, W], got {list(a.shape)}")
    return a.detach().double().permute(0, 2, 3, 1).reshape(-1, a.shape[1]).cpu().numpy()


class RegionCatalog:
    """Spherical k-means over the spatial activation vectors of one layer.

    Args:
        n_clusters: K (Collins et al. and the paper use K around 20–30 at 32×32).
        layer: generator layer name the catalog belongs to.
        max_vectors: at most this many activation vectors (sampled) are used to fit.
        batch_size, max_iter, n_init, random_state: passed to :class:`SphericalKMeans`.

    Learned attributes: ``kmeans_`` (:class:`SphericalKMeans`), ``n_channels_``,
    ``cluster_names_`` (K strings), ``face_clusters_`` (bool [K]), ``part_overlap_``
    ([K, P] share of each cluster's pixels on each part), ``au_clusters_`` (AU code -> ids).
    """

    def __init__(
        self, n_clusters: int = 20, layer: str = "b32.conv1", max_vectors: int = 200_000,
        batch_size: int = 2048, max_iter: int = 100, n_init: int = 3, random_state: int | None = 0,
    ) -> None:  # fmt: skip
        self.n_clusters = n_clusters
        self.layer = layer
        self.max_vectors = max_vectors
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    # ---------------------------------------------------------------- fitting and prediction
    def fit(self, activations: torch.Tensor | np.ndarray) -> RegionCatalog:
        """Fit on activations [N, C, H, W]; names start as ``cluster<k>``, all flagged as face."""
        a = torch.as_tensor(activations)
        if a.ndim != 4:
            raise ValueError(f"activations must be [N, C, H, W], got {list(a.shape)}")
        flat = a.detach().permute(0, 2, 3, 1).reshape(-1, a.shape[1])  # [N·H·W, C], still float32
        if flat.shape[0] > self.max_vectors:  # sample before converting: N·H·W can be large
            rows = np.random.default_rng(self.random_state).choice(flat.shape[0], self.max_vectors, replace=False)
            flat = flat[torch.from_numpy(np.sort(rows))]
        x = flat.double().cpu().numpy()
        self.kmeans_ = SphericalKMeans(self.n_clusters, self.batch_size, self.max_iter, self.n_init, self.random_state).fit(x)
        self.n_channels_ = int(x.shape[1])
        self.cluster_names_ = [f"cluster{k}" for k in range(self.n_clusters)]
        self.face_clusters_ = np.ones(self.n_clusters, dtype=bool)
        self.part_overlap_ = np.zeros((self.n_clusters, len(PART_NAMES)))
        self.au_clusters_: dict[str, list[int]] = {}
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "kmeans_"):
            raise ValueError("this RegionCatalog is not fitted yet; call fit first")

    def predict(self, activations: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Cluster label of every position: activations [N, C, H, W] -> [N, H, W] int64."""
        self._check_fitted()
        a = torch.as_tensor(activations)
        if a.ndim != 4 or a.shape[1] != self.n_channels_:
            raise ValueError(f"activations must be [N, {self.n_channels_}, H, W] (layer {self.layer}), got {list(a.shape)}")
        labels = self.kmeans_.predict(_flatten_activations(a))
        return torch.from_numpy(labels).reshape(a.shape[0], a.shape[2], a.shape[3])

    def predict_torch(self, activations: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`predict` in torch (no numpy round trip, stays on the tensor's device)."""
        self._check_fitted()
        centers = torch.as_tensor(self.kmeans_.cluster_centers_, dtype=activations.dtype, device=activations.device)
        unit = F.normalize(activations.detach(), dim=1)
        return torch.einsum("nchw,kc->nkhw", unit, centers).argmax(dim=1)

    def memberships(self, activations: torch.Tensor | np.ndarray, size: int | None = None) -> torch.Tensor:
        """U [N, K, H, W] one-hot float (Sec. 3.2.1), resized nearest-neighbour to ``size`` if given."""
        labels = self.predict(activations)
        return labels_to_memberships(labels, self.n_clusters, size)

    # ---------------------------------------------------------------- naming
    def name_clusters(self, activations: torch.Tensor, parts: torch.Tensor, min_face_share: float = 0.5) -> RegionCatalog:
        """Name each cluster after the part it covers most (``parts`` [N, h, w] labels into PART_NAMES).

        A cluster is a face cluster when at least ``min_face_share`` of its pixels fall on face
        parts (not background, hair, neck, clothes). Duplicate names get ``_2``, ``_3`` suffixes
        in order of coverage. Clusters never seen keep ``cluster<k>`` and are not face clusters.
        """
        size = parts.shape[-1]
        labels = self.predict(activations)
        up = F.interpolate(labels[:, None].float(), size=(parts.shape[-2], size), mode="nearest")[:, 0].long()
        counts = np.zeros((self.n_clusters, len(PART_NAMES)))
        np.add.at(counts, (up.flatten().numpy(), parts.long().flatten().numpy()), 1)
        totals = counts.sum(axis=1, keepdims=True)
        self.part_overlap_ = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        non_face = [PART_NAMES.index(p) for p in NON_FACE_PARTS]
        face_share = 1.0 - self.part_overlap_[:, non_face].sum(axis=1)
        self.face_clusters_ = (totals[:, 0] > 0) & (face_share >= min_face_share)
        names = []
        used: dict[str, int] = {}
        order = np.argsort(-self.part_overlap_.max(axis=1), kind="stable")
        raw = {}
        for k in order:
            if totals[k, 0] == 0:
                raw[k] = f"cluster{k}"
                continue
            base = PART_NAMES[int(self.part_overlap_[k].argmax())]
            used[base] = used.get(base, 0) + 1
            raw[k] = base if used[base] == 1 else f"{base}_{used[base]}"
        names = [raw[k] for k in range(self.n_clusters)]
        self.cluster_names_ = names
        return self

    def dominant_part(self, k: int) -> str:
        """Part name covering most of cluster ``k`` (from :meth:`name_clusters`)."""
        return PART_NAMES[int(self.part_overlap_[k].argmax())]

    # ---------------------------------------------------------------- AU dictionary
    def set_au_clusters(self, mapping: Mapping[str, Sequence[int]]) -> None:
        """Replace the AU → clusters dictionary (validated: known AUs, ids in 0..K-1)."""
        self._check_fitted()
        result = {}
        for name, ids in mapping.items():
            code = normalize_au(name)
            ids = [int(k) for k in ids]
            bad = [k for k in ids if not 0 <= k < self.n_clusters]
            if bad:
                raise ValueError(f"{code}: cluster id(s) {bad} outside 0..{self.n_clusters - 1}")
            result[code] = ids
        self.au_clusters_ = result

    def suggest_au_clusters(self, r_ak: np.ndarray | None = None, top: int = 4) -> dict[str, list[int]]:
        """An AU → clusters dictionary from the part names and, if given, Eq. 9's R [16, K].

        For each AU: the face clusters whose dominant part is among the AU's parts
        (:data:`aufx.edit.au_parts.AU_PARTS`), ordered by R when given. If none is named so,
        the ``top`` face clusters by R (or an empty list without R).
        """
        self._check_fitted()
        result = {}
        for i, code in enumerate(AU_CODES):
            expected = set(AU_PARTS[code])
            ids = [k for k in range(self.n_clusters) if self.face_clusters_[k] and self.part_overlap_[k].sum() > 0 and self.dominant_part(k) in expected]
            if r_ak is not None:
                ids.sort(key=lambda k: -float(r_ak[i, k]))
                if not ids:
                    faces = [k for k in range(self.n_clusters) if self.face_clusters_[k]]
                    ids = sorted(faces, key=lambda k: -float(r_ak[i, k]))[:top]
            result[code] = ids
        return result

    def clusters_for(self, aus: Sequence[str]) -> list[int]:
        """Union of the dictionary's clusters for several AUs (error names an AU without clusters)."""
        self._check_fitted()
        ids: list[int] = []
        for name in aus:
            code = normalize_au(name)
            if not self.au_clusters_.get(code):
                raise ValueError(f"{code}: no clusters in the region catalog's AU dictionary; edit its JSON or retrain regions")
            ids += [k for k in self.au_clusters_[code] if k not in ids]
        return ids

    # ---------------------------------------------------------------- files
    def save(self, path: str | os.PathLike, extra_arrays: Mapping[str, np.ndarray] | None = None) -> tuple[Path, Path]:
        """Write ``<stem>.json`` (settings, names, face flags, AU dictionary; edit it freely) and
        ``<stem>.npz`` (centres, part overlap, and ``extra_arrays`` such as R tables)."""
        self._check_fitted()
        path = Path(path)
        stem = path.with_suffix("") if path.suffix in (".json", ".npz") else path
        stem.parent.mkdir(parents=True, exist_ok=True)
        json_path, npz_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".npz")
        meta = {
            "format": CATALOG_FORMAT, "version": CATALOG_VERSION, "layer": self.layer,
            "n_clusters": self.n_clusters, "n_channels": self.n_channels_,
            "params": {"max_vectors": self.max_vectors, "batch_size": self.batch_size, "max_iter": self.max_iter,
                       "n_init": self.n_init, "random_state": self.random_state},
            "cluster_names": list(self.cluster_names_),
            "face_clusters": [int(k) for k in np.flatnonzero(self.face_clusters_)],
            "au_clusters": {code: list(map(int, ids)) for code, ids in self.au_clusters_.items()},
            "part_names": list(PART_NAMES),
        }  # fmt: skip
        json_path.write_text(json.dumps(meta, indent=2) + "\n")
        arrays = {"centers": self.kmeans_.cluster_centers_, "part_overlap": self.part_overlap_, **(extra_arrays or {})}
        with open(npz_path, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return json_path, npz_path

    @classmethod
    def load(cls, path: str | os.PathLike) -> tuple[RegionCatalog, dict[str, np.ndarray]]:
        """Read a catalog saved by :meth:`save` (either file's path or the common stem).

        Returns the catalog and the other arrays stored with it (e.g. ``r_au_cluster``).
        """
        path = Path(path)
        stem = path.with_suffix("") if path.suffix in (".json", ".npz") else path
        json_path, npz_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".npz")
        for p in (json_path, npz_path):
            if not p.is_file():
                raise FileNotFoundError(f"{p}: region catalog file missing (make it with `aufx train regions`)")
        try:
            meta = json.loads(json_path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{json_path}: not valid JSON ({error})") from None
        if meta.get("format") != CATALOG_FORMAT:
            raise ValueError(f"{json_path}: not an aufx region catalog (format {CATALOG_FORMAT!r} expected)")
        catalog = cls(n_clusters=int(meta["n_clusters"]), layer=meta["layer"], **meta.get("params", {}))
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        centers = arrays.pop("centers")
        if centers.shape != (catalog.n_clusters, int(meta["n_channels"])):
            raise ValueError(f"{npz_path}: centres of shape {centers.shape} do not match {json_path}")
        km = SphericalKMeans(catalog.n_clusters, catalog.batch_size, catalog.max_iter, catalog.n_init, catalog.random_state)
        km.cluster_centers_ = centers
        km.n_features_in_ = centers.shape[1]
        km.inertia_ = float("nan")
        catalog.kmeans_ = km
        catalog.n_channels_ = centers.shape[1]
        names = list(meta.get("cluster_names") or [f"cluster{k}" for k in range(catalog.n_clusters)])
        if len(names) != catalog.n_clusters:
            raise ValueError(f"{json_path}: {len(names)} cluster names for {catalog.n_clusters} clusters")
        catalog.cluster_names_ = names
        catalog.face_clusters_ = np.zeros(catalog.n_clusters, dtype=bool)
        catalog.face_clusters_[list(meta.get("face_clusters", range(catalog.n_clusters)))] = True
        catalog.part_overlap_ = arrays.pop("part_overlap", np.zeros((catalog.n_clusters, len(PART_NAMES))))
        catalog.au_clusters_ = {}
        try:
            catalog.set_au_clusters(meta.get("au_clusters", {}))
        except (ValueError, KeyError) as error:
            raise ValueError(f"{json_path}: bad au_clusters entry: {error}") from None
        return catalog, arrays


def labels_to_memberships(labels: torch.Tensor, n_clusters: int, size: int | None = None) -> torch.Tensor:
    """Labels [N, H, W] -> one-hot U [N, K, H, W] (float), resized nearest-neighbour to ``size``."""
    u = F.one_hot(labels.long(), n_clusters).permute(0, 3, 1, 2).float()
    if size is not None and size != labels.shape[-1]:
        u = F.interpolate(u, size=(size, size), mode="nearest")
    return u
