"""Local editing: Eq. 3 masks, Eq. 4–6 masked optimisation, Eq. 7 multiplexing on a tiny generator."""

from __future__ import annotations

import pytest
import torch

from aufx.edit.catalog import RegionCatalog
from aufx.edit.local import (
    cluster_mask,
    edit_mask,
    feather,
    global_prefix,
    local_losses,
    masked_optimization,
    multiplex,
    original_prefix,
)
from tests.aufx.edit.tiny import tiny_generator


@pytest.fixture(scope="module")
def setup():
    G = tiny_generator()
    with torch.no_grad():
        ws = G.mapping(torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(1)))[:, 0]
    w_global = ws + 0.7 * torch.randn(1, G.w_dim, generator=torch.Generator().manual_seed(2))
    return G, ws, w_global


def test_cluster_mask_is_eq3():
    labels = torch.tensor([[[0, 1, 2], [2, 2, 1], [0, 0, 3]]])
    m = cluster_mask(labels, [1, 3])
    assert m.shape == (1, 1, 3, 3)
    assert m[0, 0].tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 1]]
    up = cluster_mask(labels, [2], size=6)
    assert up.shape == (1, 1, 6, 6) and up[0, 0, 2:4, 0:4].eq(1).all()
    with pytest.raises(ValueError, match="no clusters"):
        cluster_mask(labels, [])


def test_feather_keeps_range_and_blurs():
    m = torch.zeros(1, 1, 9, 9)
    m[..., 3:6, 3:6] = 1
    f = feather(m, 1.0)
    assert f.min() >= 0 and f.max() <= 1 and 0 < f[0, 0, 2, 4] < 1
    assert torch.equal(feather(m, 0), m)


def test_multiplex_with_zero_mask_is_the_original_bit_for_bit(setup):
    G, ws, w_global = setup
    original = G.synthesis(ws)
    result = multiplex(G, ws, w_global, mask=torch.zeros(1, 1, 32, 32))
    assert torch.equal(result.image, original)


def test_multiplex_with_full_mask_is_the_global_image(setup):
    G, ws, w_global = setup
    glob = G.synthesis(w_global)
    assert torch.equal(multiplex(G, ws, w_global, mask=torch.ones(1, 1, 32, 32), suffix="global").image, glob)
    # paper's suffix (styled by w_orig): exact when the edit only touches the layers up to the cut
    cut = G.synthesis.w_index("b32.conv1") + 1
    wplus = G.synthesis.broadcast_ws(ws).clone()
    wplus_global = wplus.clone()
    wplus_global[:, :cut] = G.synthesis.broadcast_ws(w_global)[:, :cut]
    assert torch.equal(multiplex(G, wplus, wplus_global, mask=torch.ones(1, 1, 32, 32)).image, G.synthesis(wplus_global))


def test_blended_suffix_spans_original_to_global(setup):
    G, ws, w_global = setup
    zeros, ones = torch.zeros(1, 1, 32, 32), torch.ones(1, 1, 32, 32)
    assert torch.allclose(multiplex(G, ws, w_global, mask=zeros, suffix="blend").image, G.synthesis(ws), atol=1e-6)
    assert torch.allclose(multiplex(G, ws, w_global, mask=ones, suffix="blend").image, G.synthesis(w_global), atol=1e-6)


def test_blended_suffix_keeps_the_outside_closer_to_the_original(setup):
    G, ws, w_global = setup
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :16, :] = 1  # top half edited
    original = G.synthesis(ws)
    side = original.shape[-1]
    outside = {s: (multiplex(G, ws, w_global, mask=mask, suffix=s).image - original)[..., side * 5 // 8 :, :].abs().mean()
               for s in ("global", "blend")}  # fmt: skip
    assert outside["blend"] < outside["global"]  # w_global styles only inside the mask
    inside = {s: (multiplex(G, ws, w_global, mask=mask, suffix=s).image - G.synthesis(w_global))[..., : side * 3 // 8, :].abs().mean()
              for s in ("orig", "blend")}  # fmt: skip
    assert inside["blend"] < inside["orig"]  # and inside it the edit survives the later layers
    with pytest.raises(ValueError, match="suffix must be one of orig, global, blend"):
        multiplex(G, ws, w_global, mask=mask, suffix="both")


def test_multiplex_keeps_outside_and_takes_inside(setup):
    G, ws, w_global = setup
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :16, :] = 1  # top half from the global pass
    result = multiplex(G, ws, w_global, mask=mask, suffix="global", layer="b32.conv1")
    a_orig = original_prefix(G, ws).activations
    a_glob = global_prefix(G, w_global).activations
    expected = G.synthesis.run(w_global, replace={"b32.conv1": torch.where(mask.bool(), a_glob, a_orig)}).image
    # the features are blended as Eq. 7 says; the skip image too (so not equal to `expected`)
    assert torch.equal(result.a_global, a_glob)
    assert not torch.equal(result.image, G.synthesis(ws)) and not torch.equal(result.image, G.synthesis(w_global))
    diff_orig = (result.image - G.synthesis(ws)).abs().mean(dim=(0, 1))
    assert diff_orig[28:].mean() < diff_orig[:4].mean()  # far from the patch, the original survives better
    assert expected.shape == result.image.shape


def test_multiplex_cache_and_errors(setup):
    G, ws, w_global = setup
    cache = original_prefix(G, ws)
    mask = torch.rand(1, 1, 32, 32)
    assert torch.equal(multiplex(G, ws, w_global, mask=mask, cache=cache).image, multiplex(G, ws, w_global, mask=mask).image)
    with pytest.raises(ValueError, match="catalog"):
        multiplex(G, ws, w_global)
    with pytest.raises(ValueError, match="layer b32.conv1"):
        multiplex(G, ws, w_global, mask=torch.ones(1, 1, 16, 16))


def test_multiplex_from_a_catalog(setup):
    G, ws, w_global = setup
    acts = G.synthesis.run(ws, stop_after="b32.conv1").state.x
    cat = RegionCatalog(n_clusters=4, random_state=0, batch_size=256).fit(acts)
    cat.set_au_clusters({"AU12": [0, 1]})
    result = multiplex(G, ws, w_global, catalog=cat, aus=["AU12"])
    expected_mask = edit_mask(cat, global_prefix(G, w_global).activations, ["AU12"])
    assert torch.equal(result.mask, expected_mask)
    assert torch.equal(result.image, multiplex(G, ws, w_global, mask=expected_mask).image)


def test_local_losses_are_eq4_and_eq5():
    g = torch.Generator().manual_seed(0)
    i_local, i_global, i_orig = (torch.randn(2, 3, 4, 4, generator=g) for _ in range(3))
    mask = (torch.rand(2, 1, 4, 4, generator=g) > 0.5).float()
    l_edit, l_const = local_losses(i_local, i_global, i_orig, mask)
    assert l_edit == pytest.approx(float(((mask * (i_local - i_global)) ** 2).sum() / i_local.numel()))
    assert l_const == pytest.approx(float((((1 - mask) * (i_local - i_orig)) ** 2).sum() / i_local.numel()))


@pytest.mark.slow
def test_masked_optimisation_lowers_its_loss(setup):
    G, ws, w_global = setup
    mask = torch.zeros(3, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    result = masked_optimization(G, ws, w_global, mask, alpha=1.0, beta=2.0, steps=15, lr=0.02)
    assert result.w.shape == w_global.shape and result.image.shape == (3, 3, 32, 32)
    assert result.losses[-1] < 0.8 * result.losses[0]
    assert result.const_losses[-1] < result.const_losses[0]  # the outside moves back to the original
    with pytest.raises(ValueError, match="mask side 16"):
        masked_optimization(G, ws, w_global, torch.ones(3, 1, 16, 16), steps=1)


def test_masked_optimisation_of_a_batch_is_each_face_alone(setup):
    G, ws, w_global = setup
    mask = torch.zeros(3, 1, 32, 32)
    mask[0, :, 4:12, 4:12], mask[1, :, 16:30, 2:20], mask[2, :, :, 20:] = 1.0, 1.0, 1.0
    together = masked_optimization(G, ws, w_global, mask, steps=8, lr=0.02)
    for i in range(3):
        alone = masked_optimization(G, ws[i : i + 1], w_global[i : i + 1], mask[i : i + 1], steps=8, lr=0.02)
        assert torch.allclose(together.w[i : i + 1], alone.w, atol=1e-5), f"face {i}"
        assert torch.allclose(together.image[i : i + 1], alone.image, atol=1e-4)


def test_resume_image_from_cache_is_the_forward(setup):
    from aufx.edit.local import resume_image

    G, ws, _ = setup
    assert torch.equal(resume_image(G, ws, original_prefix(G, ws)), G.synthesis(ws))
