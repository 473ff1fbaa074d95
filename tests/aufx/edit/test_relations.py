"""Eq. 8–10 and Table 1 against direct loop implementations on random tensors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from aufx.aus import AU_CODES
from aufx.edit.relations import (
    au_cluster,
    au_cluster_channel,
    cluster_channel,
    part_check,
    table1,
    top_clusters,
)


def random_case(seed: int = 0, aus: int = 3, n: int = 4, k: int = 5, c: int = 3, h: int = 4, w: int = 4):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, k - 1, (aus + 1, n, h, w), generator=g)  # cluster k-1 never occurs
    u = torch.nn.functional.one_hot(labels, k).permute(0, 1, 4, 2, 3).float()
    a = torch.randn(aus + 1, n, c, h, w, generator=g)
    return u, a


def loop_eq8(u, a):
    n_au, n, k, h, w = u.shape
    c = a.shape[2]
    r = np.zeros((n_au - 1, k, c))
    for au in range(1, n_au):
        for kk in range(k):
            for cc in range(c):
                total = 0.0
                for nn in range(n):
                    num = den = 0.0
                    for y in range(h):
                        for x in range(w):
                            m = float(u[au, nn, kk, y, x])
                            num += m * float(a[au, nn, cc, y, x] - a[0, nn, cc, y, x]) ** 2
                            den += m
                    total += num / den if den > 0 else 0.0
                r[au - 1, kk, cc] = total
    return r


def loop_eq10(u, a):
    n, k, h, w = u.shape
    c = a.shape[1]
    r = np.zeros((k, c))
    for kk in range(k):
        for cc in range(c):
            for nn in range(n):
                num = float((u[nn, kk] * a[nn, cc] ** 2).sum())
                den = float(u[nn, kk].sum())
                r[kk, cc] += num / den if den > 0 else 0.0
    return r


def test_eq8_and_eq9_match_loops():
    u, a = random_case()
    r = au_cluster_channel(u, a)
    expected = loop_eq8(u, a)
    assert r.shape == (3, 5, 3)
    assert np.allclose(r.numpy(), expected, rtol=1e-6, atol=1e-8)  # the loop works in float32
    assert np.allclose(au_cluster(r).numpy(), expected.sum(axis=2))
    assert (r[:, -1] == 0).all()  # an absent cluster contributes 0, not NaN


def test_eq10_matches_loop():
    u, a = random_case(seed=3)
    r = cluster_channel(u[0], a[0])
    assert np.allclose(r.numpy(), loop_eq10(u[0], a[0]), rtol=1e-6, atol=1e-8)


def test_eq8_is_zero_for_unedited_faces():
    u, a = random_case()
    a = a[:1].repeat(4, 1, 1, 1, 1)
    assert au_cluster_channel(u, a).abs().max() == 0


def test_table1_ranks_clusters():
    r = np.array([[0.1, 0.5, 0.3, 0.9, 0.0], [1.0, 0.0, 0.2, 0.1, 0.4]] + [[0.0] * 5] * 14)
    assert top_clusters(r, 2)[:2] == [[3, 1], [0, 4]]
    assert top_clusters(r, 2, allowed=np.array([0, 1, 2]))[0] == [1, 2]
    table = table1(r, names=["a", "b", "c", "mouth", "e"], top=2)
    assert list(table.columns[:4]) == ["AU", "name", "clusters", "regions"]
    assert table.loc[0, "clusters"] == "3 1" and table.loc[0, "regions"] == "mouth, b"
    assert table.loc[0, "R1"] == 0.9 and len(table) == 16


def test_part_check_uses_face_clusters_parts_and_chance():
    parts = ["mouth", "forehead", "right_eye", "nose", "background"]
    catalog = SimpleNamespace(face_clusters_=np.array([True, True, True, True, False]), dominant_part=lambda k: parts[k])
    r = np.zeros((16, 5))
    au01, au12 = AU_CODES.index("AU01"), AU_CODES.index("AU12")
    r[au01] = [0.1, 0.9, 0.2, 0.0, 5.0]  # the background cluster (largest R) is not a face cluster
    r[au12] = [0.5, 0.9, 0.1, 0.0, 5.0]  # forehead first, mouth second
    check = part_check(r, catalog, top=2)
    assert check.loc["AU01", "clusters"] == [1, 2] and bool(check.loc["AU01", "top1_in_parts"])
    assert check.loc["AU12", "clusters"] == [1, 0]
    assert not check.loc["AU12", "top1_in_parts"] and check.loc["AU12", "any_in_parts"]
    assert check.loc["AU12", "top1_chance"] == 0.25 and check.loc["AU12", "any_chance"] == 0.5
    assert list(check.index) == list(AU_CODES)
