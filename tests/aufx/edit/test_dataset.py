"""Latent dataset: sampling with an analyzer, npz round trip, OpenFace CSV join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from aufx.aus import AU_CODES, N_AUS
from aufx.edit.dataset import (
    LatentDataset,
    dataset_from_openface,
    read_openface_csv,
    sample_latent_dataset,
    seed_latents,
)
from tests.aufx.edit.tiny import TinyAnalyzer, tiny_generator


def test_seed_latents_follow_nvidia_convention():
    z = seed_latents(16, [3, 5])
    assert torch.allclose(z[1], torch.from_numpy(np.random.RandomState(5).randn(16)).float())


def test_sampled_dataset_labels_are_the_analyzers():
    G, analyzer = tiny_generator(), TinyAnalyzer()
    ds = sample_latent_dataset(G, analyzer, 6, seed=10, batch_size=4)
    assert ds.w.shape == (6, 16) and ds.aus.shape == (6, N_AUS)
    assert list(ds.source[:2]) == ["seed:10", "seed:11"]
    with torch.no_grad():
        images = G.synthesis(torch.from_numpy(ds.w))
        expected = analyzer(images)[0]
    assert np.allclose(ds.aus, expected.numpy(), atol=1e-5)
    wplus = sample_latent_dataset(G, analyzer, 2, wplus=True)
    assert wplus.w.shape == (2, G.num_ws, 16) and wplus.w_flat.shape == (2, 16)


def test_save_load_and_split(tmp_path):
    ds = LatentDataset(np.random.rand(10, 4), np.random.rand(10, N_AUS) * 5, np.arange(10).astype(str))
    path = ds.save(tmp_path / "lat.npz")
    back = LatentDataset.load(path)
    assert np.array_equal(back.w, ds.w) and np.array_equal(back.aus, ds.aus) and list(back.source) == list(ds.source)
    train, test = ds.split(0.3, seed=1)
    assert len(train) == 7 and len(test) == 3
    assert set(train.source) | set(test.source) == set(ds.source)
    assert list(ds.to_frame().columns) == ["source", *AU_CODES]


def test_dataset_validation():
    with pytest.raises(ValueError, match="aus must be"):
        LatentDataset(np.zeros((3, 4)), np.zeros((3, 15)), np.arange(3).astype(str))
    with pytest.raises(ValueError, match="NaN"):
        LatentDataset(np.full((1, 4), np.nan), np.zeros((1, N_AUS)), np.array(["a"]))


def _openface_csv(path, values, success=(1,)):
    rows = []
    for frame, ok in enumerate(success):
        row = {"frame": frame + 1, " face_id": 0, " timestamp": 0.0, " confidence": 0.98, " success": ok}
        row.update({f" {code}_r": values[i] + frame for i, code in enumerate(AU_CODES)})
        row[" AU45_r"] = 0.3
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)


def test_openface_csv_reading_and_join(tmp_path):
    values = np.linspace(0, 3, N_AUS)
    _openface_csv(tmp_path / "a.csv", values, success=(1, 0))  # the failed frame is ignored
    _openface_csv(tmp_path / "b.csv", values + 1)
    assert np.allclose(read_openface_csv(tmp_path / "a.csv"), values)
    lat = tmp_path / "lat.npz"
    np.savez(lat, w=np.random.rand(2, 5).astype(np.float32), names=np.array(["b.png", "a.png"]))
    ds = dataset_from_openface(lat, [tmp_path / "a.csv", tmp_path / "b.csv"])
    assert list(ds.source) == ["b", "a"]
    assert np.allclose(ds.aus[0], values + 1) and np.allclose(ds.aus[1], values)


def test_openface_errors_name_files(tmp_path):
    pd.DataFrame({"frame": [1], " AU01_r": [1.0]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(ValueError, match="x.csv.*AU02_r"):
        read_openface_csv(tmp_path / "x.csv")
    lat = tmp_path / "lat.npz"
    np.savez(lat, w=np.zeros((1, 3)), names=np.array(["y.png"]))
    with pytest.raises(ValueError, match="'y'"):
        dataset_from_openface(lat, [tmp_path / "x.csv"])


def test_scene_labels_are_the_latents_true_aus():
    import dataclasses

    from aufx.gan.seeds import seed_latents
    from aufx.synthfacs.latent import params_from_z

    G = tiny_generator(config=dataclasses.replace(tiny_generator().config, z_dim=64))
    ds = sample_latent_dataset(G, None, 5, seed=3, labels="scene")
    np.testing.assert_array_equal(ds.aus, params_from_z(seed_latents(64, range(3, 8)).numpy()).aus)
    with pytest.raises(ValueError, match="truncation_psi 1"):
        sample_latent_dataset(G, None, 2, labels="scene", truncation_psi=0.7)
    with pytest.raises(ValueError, match="labels must be"):
        sample_latent_dataset(G, None, 2, labels="openface")


def test_off_manifold_faces_are_moved_by_at_most_the_step_and_labelled_by_the_analyzer():
    from aufx.edit.analyzer import analyze

    G, analyzer = tiny_generator(), TinyAnalyzer()
    plain = sample_latent_dataset(G, analyzer, 8, seed=10, batch_size=4)
    mixed = sample_latent_dataset(G, analyzer, 8, seed=10, batch_size=4, off_manifold=0.5, off_manifold_step=3.0)
    moved = np.array([s.endswith(":off") for s in mixed.source])
    assert moved.tolist() == [False, False, True, True] * 2  # the last half of each batch
    assert np.array_equal(mixed.w[~moved], plain.w[~moved]) and np.array_equal(mixed.aus[~moved], plain.aus[~moved])
    distance = np.linalg.norm(mixed.w[moved] - plain.w[moved], axis=1)
    assert (distance > 0).all() and (distance <= 3.0 + 1e-5).all()
    with torch.no_grad():
        expected = analyze(analyzer, G.synthesis(torch.from_numpy(mixed.w[moved])[:, None].repeat(1, G.num_ws, 1))).aus
    assert np.allclose(mixed.aus[moved], expected.clamp(0, 5).numpy(), atol=1e-5)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"off_manifold": 1.5, "off_manifold_step": 1.0}, "share in"),
    ({"off_manifold": 0.5, "off_manifold_step": 0.0}, "off_manifold_step must be positive"),
])  # fmt: skip
def test_off_manifold_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_latent_dataset(tiny_generator(), TinyAnalyzer(), 4, **kwargs)


def test_off_manifold_faces_need_an_analyzer():
    with pytest.raises(ValueError, match="need an analyzer"):
        sample_latent_dataset(tiny_generator(), None, 4, labels="scene", off_manifold=0.5, off_manifold_step=1.0)
