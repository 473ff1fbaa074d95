"""GANimation: both checkpoint layouts (original, ganimation_replicate) load and give the authors' outputs."""

import pytest
import torch

from aufx.aus import AU_INDEX
from baselines.checkpoints import CheckpointError
from baselines.ganimation import GANimation, GANimationConfig, aus_to_condition, detect_layout
from tests.baselines.official_layouts import (
    OfficialGANimationG,
    OfficialStarGANG,
    ReplicateGANimationG,
    randomise,
)


def _target(n=3):
    aus = torch.zeros(n, 16)
    aus[:, AU_INDEX["AU12"]] = 4.0
    aus[:, AU_INDEX["AU06"]] = 2.5
    return aus


def test_au_mapping_divides_by_five_and_sets_au45_to_zero():
    cond = aus_to_condition(_target(2))
    assert cond.shape == (2, 17)
    assert cond[0, AU_INDEX["AU12"]] == pytest.approx(0.8) and cond[0, AU_INDEX["AU06"]] == pytest.approx(0.5)
    assert torch.all(cond[:, 16] == 0)


def test_original_layout_identical_outputs(tmp_path, images16):
    net = randomise(OfficialGANimationG(8, 17, 2)).eval()
    torch.save(net.state_dict(), tmp_path / "net_epoch_30_id_G.pth")
    torch.save(randomise(OfficialGANimationG(8, 17, 2), 5).state_dict(), tmp_path / "net_epoch_7_id_G.pth")
    adapter = GANimation().load(tmp_path, image_size=16)  # directory: the highest epoch
    assert adapter.weights_source.endswith("net_epoch_30_id_G.pth") and adapter.config.layout == "original"
    cond = aus_to_condition(_target())
    with torch.no_grad():
        colour, attention = net(images16, cond)
    expected = attention * images16 + (1 - attention) * colour  # the authors' composition
    torch.testing.assert_close(adapter.edit(images16, _target()), expected.clamp(-1, 1), rtol=0, atol=1e-5)
    torch.testing.assert_close(adapter.attention(images16, _target()), attention, rtol=0, atol=1e-6)


def test_replicate_layout_identical_outputs(tmp_path, images16):
    net = randomise(ReplicateGANimationG(8, 17, 2), seed=3).eval()
    torch.save(net.state_dict(), tmp_path / "30_net_gen.pth")
    adapter = GANimation().load(tmp_path / "30_net_gen.pth", image_size=16)
    assert adapter.config.layout == "replicate" and adapter.config.g_repeat_num == 2
    cond = aus_to_condition(_target())
    with torch.no_grad():
        colour, mask, _ = net(images16, cond)
    expected = mask * images16 + (1 - mask) * colour
    torch.testing.assert_close(adapter.edit(images16, _target()), expected.clamp(-1, 1), rtol=0, atol=1e-5)


def test_dataparallel_prefix_is_stripped(tmp_path, images16):
    net = randomise(OfficialGANimationG(8, 17, 1)).eval()
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, tmp_path / "net_epoch_1_id_G.pth")
    adapter = GANimation().load(tmp_path / "net_epoch_1_id_G.pth", image_size=16)
    with torch.no_grad():
        colour, attention = net(images16, aus_to_condition(_target()))
    torch.testing.assert_close(adapter.edit(images16, _target()), (attention * images16 + (1 - attention) * colour).clamp(-1, 1))


def test_wrong_checkpoints_give_clear_errors(tmp_path):
    torch.save(OfficialStarGANG(8, 8, 2).state_dict(), tmp_path / "200000-G.ckpt")
    with pytest.raises(CheckpointError, match=r"200000-G.ckpt: not a GANimation generator.*attetion_reg.*au_top"):
        GANimation().load(tmp_path / "200000-G.ckpt")
    state = OfficialGANimationG(8, 17, 2).state_dict()
    del state["attetion_reg.0.weight"]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "net_epoch_2_id_G.pth")
    with pytest.raises(CheckpointError, match=r"missing keys: attetion_reg.0.weight; unexpected keys: extra.weight"):
        GANimation().load(tmp_path / "net_epoch_2_id_G.pth")
    assert detect_layout(ReplicateGANimationG(4, 17, 1).state_dict()) == "replicate"


def test_edit_shape_range_and_target_errors(images16):
    adapter = GANimation(GANimationConfig(image_size=16, g_conv_dim=4, g_repeat_num=1))
    adapter.weights_source = "test"
    out = adapter.edit(images16, {"AU12": 3})
    assert out.shape == images16.shape and out.abs().max() <= 1
    big = torch.nn.functional.interpolate(images16, size=(40, 40))
    assert adapter.edit(big, _target()).shape == (3, 3, 40, 40)  # resized to 16 and back
    with pytest.raises(ValueError, match=r"\[0, 5\]"):
        adapter.edit(images16, torch.full((16,), 6.0))
    with pytest.raises(ValueError, match="2 rows for 3 images"):
        adapter.edit(images16, torch.zeros(2, 16))
    with pytest.raises(ValueError, match="square"):
        adapter.edit(images16[:, :, :, :8], _target())
