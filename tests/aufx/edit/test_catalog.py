"""Spherical k-means and the region catalog: shapes, determinism, naming from part maps, files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from aufx.edit.catalog import RegionCatalog, SphericalKMeans, labels_to_memberships
from aufx.synthfacs.parts import PART_INDEX, PART_NAMES


def blobs(seed: int = 0, n_per: int = 60, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:3] * 1.0
    x = np.concatenate([c + 0.05 * rng.normal(size=(n_per, d)) for c in centres])
    scale = rng.uniform(0.1, 10, size=(len(x), 1))  # spherical: norms must not matter
    return x * scale, np.repeat(np.arange(3), n_per)


def test_spherical_kmeans_recovers_directions_and_ignores_norms():
    x, truth = blobs()
    km = SphericalKMeans(n_clusters=3, batch_size=64, random_state=0).fit(x)
    assert km.cluster_centers_.shape == (3, 6)
    assert np.allclose(np.linalg.norm(km.cluster_centers_, axis=1), 1.0)
    labels = km.predict(x)
    # one-to-one match between found and true clusters
    pairs = {(int(a), int(b)) for a, b in zip(labels, truth, strict=True)}
    assert len(pairs) == 3
    assert np.array_equal(km.predict(x * 7.0), labels)
    assert km.transform(x).shape == (len(x), 3)


def test_spherical_kmeans_is_deterministic_and_checks_input():
    x, _ = blobs(seed=1)
    a = SphericalKMeans(3, batch_size=64, random_state=5).fit(x).cluster_centers_
    b = SphericalKMeans(3, batch_size=64, random_state=5).fit(x).cluster_centers_
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="not fitted"):
        SphericalKMeans(3).predict(x)
    with pytest.raises(ValueError, match="n_clusters=3"):
        SphericalKMeans(3).fit(x[:2])
    with pytest.raises(ValueError, match=r"\[M, 6\]"):
        SphericalKMeans(3, batch_size=64).fit(x).predict(x[:, :4])


def part_activations(parts: torch.Tensor, seed: int = 0, channels: int = 24) -> torch.Tensor:
    """Activations [N, C, h, w] whose direction is set by the part label (plus noise): k-means must find parts."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.randn(len(PART_NAMES), channels, generator=g)
    a = basis[parts].permute(0, 3, 1, 2)
    return a + 0.05 * torch.randn(a.shape, generator=g)


def synth_parts(n: int = 6, size: int = 32) -> torch.Tensor:
    from aufx.synthfacs import render, sample_params

    params = sample_params(n, seed=0)
    return render(params.aus, params.identity, size=size).parts


def test_catalog_fit_predict_shapes_and_determinism():
    parts = synth_parts(4, 16)
    acts = part_activations(parts)
    cat = RegionCatalog(n_clusters=6, random_state=0, batch_size=256).fit(acts)
    labels = cat.predict(acts)
    assert labels.shape == (4, 16, 16) and labels.dtype == torch.int64
    assert torch.equal(cat.predict_torch(acts), labels)
    u = cat.memberships(acts, size=32)
    assert u.shape == (4, 6, 32, 32) and torch.equal(u.sum(dim=1), torch.ones(4, 32, 32))
    again = RegionCatalog(n_clusters=6, random_state=0, batch_size=256).fit(acts)
    assert torch.equal(again.predict(acts), labels)
    with pytest.raises(ValueError, match="b32.conv1"):
        cat.predict(acts[:, :5])


def test_clusters_are_named_from_part_maps():
    parts = synth_parts(6, 32)
    acts = torch.nn.functional.avg_pool2d(part_activations(parts), 2)  # the layer is coarser than the part map
    present = sorted(set(parts.unique().tolist()))
    cat = RegionCatalog(n_clusters=len(present) + 3, random_state=0, batch_size=512).fit(acts).name_clusters(acts, parts)
    names = cat.cluster_names_
    for part in ("mouth", "nose", "background"):
        assert any(name == part or name.startswith(part + "_") for name in names), names
    bg = [k for k, name in enumerate(names) if name.startswith("background")]
    assert not cat.face_clusters_[bg].any()
    mouth = names.index("mouth")
    assert cat.face_clusters_[mouth] and cat.part_overlap_[mouth, PART_INDEX["mouth"]] > 0.5
    suggested = cat.suggest_au_clusters()
    assert mouth in suggested["AU25"] and mouth not in suggested["AU01"]


def test_au_dictionary_and_files(tmp_path):
    parts = synth_parts(3, 16)
    acts = part_activations(parts)
    cat = RegionCatalog(n_clusters=5, random_state=0, batch_size=256).fit(acts).name_clusters(acts, parts)
    cat.set_au_clusters({"au12": [1, 2], "AU01": [0]})
    assert cat.clusters_for(["AU12", "AU01"]) == [1, 2, 0]
    with pytest.raises(ValueError, match="AU26: no clusters"):
        cat.clusters_for(["AU26"])
    with pytest.raises(ValueError, match="AU12: cluster id"):
        cat.set_au_clusters({"AU12": [9]})
    json_path, npz_path = cat.save(tmp_path / "m_regions.json", {"r_au_cluster": np.ones((16, 5))})
    meta = json.loads(json_path.read_text())
    meta["au_clusters"]["AU26"] = [3, 4]  # the user edits the dictionary by hand
    json_path.write_text(json.dumps(meta))
    back, arrays = RegionCatalog.load(tmp_path / "m_regions")
    assert torch.equal(back.predict(acts), cat.predict(acts))
    assert back.cluster_names_ == cat.cluster_names_ and back.clusters_for(["AU26"]) == [3, 4]
    assert np.array_equal(back.face_clusters_, cat.face_clusters_)
    assert arrays["r_au_cluster"].shape == (16, 5)
    meta["au_clusters"]["AU99"] = [1]
    json_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="m_regions.json.*AU99"):
        RegionCatalog.load(json_path)
    with pytest.raises(FileNotFoundError, match="other.json"):
        RegionCatalog.load(tmp_path / "other.json")


def test_labels_to_memberships_one_hot():
    labels = torch.tensor([[[0, 1], [2, 1]]])
    u = labels_to_memberships(labels, 3, size=4)
    assert u.shape == (1, 3, 4, 4) and u[0, 1, 0, 2:].eq(1).all() and u[0, 2, 2:, :2].eq(1).all()
