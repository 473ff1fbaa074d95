"""GAN Local Editing: the authors' q rule, style-coefficient interpolation on our generator, catalog files."""

import numpy as np
import pytest
import torch

from aufx.gan import Generator, GeneratorConfig
from baselines.base import ReferenceRegion
from baselines.gan_local_editing import (
    GanLocalEditing,
    GLEConfig,
    contributions,
    interpolation_weights,
    styled_layers,
)  # fmt: skip


def test_q_rule_follows_the_authors_code():
    m = torch.tensor([0.9, 0.05, 0.6, 0.3, 0.8])
    # order 0 (0.9), 4 (0.8), 2 (0.6), 3 (0.3), 1; cumsum of 1-M: 0.1, 0.3, 0.7, 1.4, 2.35
    assert interpolation_weights(m, rho=0.0, epsilon=1.0).tolist() == [1, 0, 1, 0, 1]
    assert interpolation_weights(m, rho=0.7, epsilon=1.0).tolist() == [1, 0, 0, 0, 1]
    assert interpolation_weights(m, rho=0.0, epsilon=10.0).tolist() == [1, 1, 1, 1, 1]


def test_contributions_are_energy_shares():
    a = torch.zeros(1, 2, 4, 4)
    a[0, 0, :2] = 1.0  # channel 0 lives in the top half
    a[0, 1] = 1.0  # channel 1 everywhere
    top = torch.zeros(1, 1, 4, 4)
    top[..., :2, :] = 1
    m = contributions({"layer": a}, top)["layer"]
    torch.testing.assert_close(m, torch.tensor([[1.0, 0.5]]))


@pytest.fixture(scope="module")
def fitted():
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(img_resolution=16, channel_base=256, channel_max=16, z_dim=16, w_dim=16, mapping_layers=2)).eval()
    adapter = GanLocalEditing(g, GLEConfig(layer="b16.conv1", n_clusters=4, n_images=8, rho=0.05, epsilon=6, invert_steps=3,
                                                 kmeans_max_iter=10, kmeans_n_init=1))
    parts = torch.zeros(8, 16, 16, dtype=torch.long)
    parts[:, 10:14, 4:12] = 13  # a 'mouth' band for the annotation step
    adapter.train(parts=parts)
    adapter.set_annotations({"mouth": [0, 1], "eyes": [2]})
    return adapter


def test_styled_layers_take_the_previous_feature_layer(fitted):
    pairs = dict(styled_layers(fitted.generator))
    assert pairs["b4.conv1"] is None and pairs["b8.conv0"] == "b4.conv1" and pairs["b8.torgb"] == "b8.conv1"
    assert set(fitted.M) == set(fitted.generator.synthesis.layer_names)
    for name, m in fitted.M.items():
        assert m.shape[0] == 2 and m.min() >= 0 and m.max() <= 1 + 1e-6, name


def test_transfer_limits(fitted):
    g = fitted.generator
    target, ref = fitted.sample_ws(3, 1), fitted.sample_ws(3, 2)
    with torch.no_grad():
        own, other = g.synthesis(target), g.synthesis(ref)
    torch.testing.assert_close(fitted.transfer(target, ref, "mouth", rho=1.0), own)  # no channel passes rho
    torch.testing.assert_close(fitted.transfer(target, ref, "mouth", rho=-1.0, epsilon=1e9), other, rtol=0, atol=1e-5)
    partial = fitted.transfer(target, ref, "mouth")
    assert (partial - own).abs().mean() > 1e-3 and (partial - other).abs().mean() > 1e-3
    # the hooks are gone afterwards
    with torch.no_grad():
        torch.testing.assert_close(g.synthesis(target), own)
    with pytest.raises(ValueError, match="unknown region 'ears'"):
        fitted.transfer(target, ref, "ears")


def test_edit_interface_and_files(fitted, tmp_path):
    target, ref = fitted.sample_ws(2, 3), fitted.sample_ws(1, 4)
    with torch.no_grad():
        images = fitted.generator.synthesis(target)
    out = fitted.edit(images, ReferenceRegion("mouth", reference_ws=ref, source_ws=target))
    torch.testing.assert_close(out, fitted.transfer(target, ref, "mouth").clamp(-1, 1))
    inverted = fitted.edit(images, ReferenceRegion("mouth", reference_ws=ref))  # goes through the projector
    assert inverted.shape == images.shape and inverted.abs().max() <= 1
    with pytest.raises(ValueError, match="ReferenceRegion"):
        fitted.edit(images, "mouth")
    path = fitted.save(tmp_path / "gle.pt")
    loaded = GanLocalEditing(fitted.generator).load(path)
    assert loaded.annotations == fitted.annotations
    torch.testing.assert_close(loaded.transfer(target, ref, "mouth"), fitted.transfer(target, ref, "mouth"))


def test_catalog_of_another_generator_is_refused(fitted, tmp_path):
    path = fitted.save(tmp_path / "gle.pt")
    wide = Generator(GeneratorConfig(img_resolution=16, channel_base=512, channel_max=32, z_dim=16, w_dim=16, mapping_layers=2))
    with pytest.raises(ValueError, match="catalog has 16 channels but layer b16.conv1 of this generator has 32"):
        GanLocalEditing(wide).load(path)
    with pytest.raises(ValueError, match="not fitted"):
        GanLocalEditing(wide).q_weights("mouth")


def test_comparison_sheet(fitted, tmp_path):
    from PIL import Image

    from baselines.gan_local_editing import comparison_sheet

    path = comparison_sheet(fitted, tmp_path / "sheet.png", n_targets=2, n_references=1, regions=("mouth", "eyes"))
    width, height = Image.open(path).size
    assert (width, height) == (4 * 16 + 3 * 2, 2 * 16 + 2)  # 4 columns, 2 rows, 2-px gaps


def test_annotation_by_region_share(fitted):
    from types import SimpleNamespace

    from aufx.synthfacs import PART_INDEX, PART_NAMES

    overlap = np.zeros((4, len(PART_NAMES)))
    overlap[0, PART_INDEX["left_eye"]], overlap[0, PART_INDEX["right_eye"]], overlap[0, 0] = 0.3, 0.3, 0.4  # eyes 60 %
    overlap[1, PART_INDEX["mouth"]], overlap[1, 0] = 0.25, 0.75  # mouth only as fallback (25 %)
    overlap[2, PART_INDEX["nose"]], overlap[2, 0] = 0.1, 0.9  # too little nose
    overlap[3, 0] = 1.0
    result = fitted._annotate(SimpleNamespace(part_overlap_=overlap))
    assert result == {"eyes": [0], "nose": [], "mouth": [1], "brows": []}


def test_au_targets_transfer_the_edited_aus_regions_from_the_nearest_bank_face(fitted):
    from aufx.aus import AU_INDEX
    from baselines.base import BaselineError
    from baselines.latent_edit import AUEdit

    bank_ws = fitted.sample_ws(4, 5)[:, 0]
    bank_aus = np.zeros((4, 16))
    bank_aus[1, AU_INDEX["AU12"]], bank_aus[2, AU_INDEX["AU12"]] = 3.0, 4.9
    bank_aus[3, AU_INDEX["AU05"]] = 3.0
    fitted._bank = (bank_ws, bank_aus)
    change, mask = np.zeros((2, 16)), np.zeros((2, 16), dtype=bool)
    change[0, AU_INDEX["AU12"]], change[1, AU_INDEX["AU05"]] = 3.0, 3.0
    mask[0, AU_INDEX["AU12"]] = mask[1, AU_INDEX["AU05"]] = True
    index, regions = fitted.retrieve(np.zeros((2, 16)), change, mask)
    assert index.tolist() == [1, 3] and regions == [["mouth"], ["eyes"]]  # AU12 is a mouth AU, AU05 an eye AU

    source = fitted.sample_ws(2, 6)[:, 0]
    target = AUEdit({"AU12": 3.0}, relative=False, source_ws=source, source_aus=torch.zeros(2, 16))
    out = fitted.edit(torch.zeros(2, 3, 16, 16), target)
    torch.testing.assert_close(out, fitted.transfer(source, bank_ws[[1, 1]], "mouth").clamp(-1, 1))
    both = fitted.transfer_regions(source, bank_ws[[1, 1]], ["mouth", "eyes"])
    assert not torch.allclose(both, out)  # the eyes' channels come from the reference as well
    unchanged = fitted.edit(torch.zeros(2, 3, 16, 16), AUEdit({"AU12": 0.0}, relative=False, source_ws=source,
                                                              source_aus=torch.zeros(2, 16)))  # fmt: skip
    with torch.no_grad():  # already at the target: nothing to transfer, the face is returned as it is
        torch.testing.assert_close(unchanged, fitted.generator.synthesis(fitted.generator.synthesis.broadcast_ws(source)).clamp(-1, 1))
    with pytest.raises(BaselineError, match="names no AU of the regions"):  # brows are not annotated here
        fitted.edit(torch.zeros(2, 3, 16, 16), AUEdit({"AU01": 3.0}, relative=False, source_ws=source, source_aus=torch.zeros(2, 16)))
