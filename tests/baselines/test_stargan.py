"""StarGAN: the authors' checkpoint layout loads key for key and gives the official (train-mode) images."""

import pytest
import torch

from baselines.checkpoints import CheckpointError
from baselines.stargan import StarGAN, StarGANConfig, StarGANDiscriminator
from tests.baselines.official_layouts import OfficialGANimationG, OfficialStarGANG, randomise

RAFD_LIKE = dict(conv_dim=8, c_dim=8, repeat_num=2)  # the RaFD model's layout at test width


@pytest.fixture
def official(tmp_path):
    net = randomise(OfficialStarGANG(**RAFD_LIKE))
    path = tmp_path / "200000-G.ckpt"
    torch.save(net.state_dict(), path)
    return net, path


def _onehot(idx, n=8):
    return torch.eye(n)[torch.as_tensor(idx)]


def test_official_checkpoint_reproduces_official_test_images(official, images16):
    net, path = official
    adapter = StarGAN().load(path, image_size=16)
    assert adapter.config.c_dim == 8 and adapter.config.g_conv_dim == 8 and adapter.config.g_repeat_num == 2
    net.train()  # the authors' test() never calls eval()
    with torch.no_grad():
        expected = net(images16, _onehot([4, 4, 4]))
    got = adapter.edit(images16, "happy")  # RaFD class 4 (alphabetical ImageFolder order)
    torch.testing.assert_close(got, expected.clamp(-1, 1), rtol=0, atol=1e-5)


def test_eval_mode_differs_and_is_available(official, images16):
    net, path = official
    adapter = StarGAN().load(path, image_size=16)
    running = {k: v.clone() for k, v in adapter.G.state_dict().items() if "running" in k}
    with torch.no_grad():
        official_eval = net.eval()(images16, _onehot([0, 1, 2]))
    per_image = adapter.edit(images16, ["angry", "contemptuous", "disgusted"])
    assert (per_image - official_eval).abs().max() > 1e-2
    # the adapter did not touch the running statistics (the official test() would have)
    for k, v in adapter.G.state_dict().items():
        if "running" in k:
            assert torch.equal(v, running[k]), k
    eval_adapter = StarGAN(per_image_norm=False).load(path, image_size=16)
    torch.testing.assert_close(eval_adapter.edit(images16, [0, 1, 2]), official_eval.clamp(-1, 1), rtol=0, atol=1e-5)


def test_directory_loads_the_latest_iteration(tmp_path, images16):
    for it, seed in ((10000, 1), (200000, 2)):
        torch.save(randomise(OfficialStarGANG(**RAFD_LIKE), seed).state_dict(), tmp_path / f"{it}-G.ckpt")
    adapter = StarGAN().load(tmp_path, image_size=16)
    assert adapter.weights_source.endswith("200000-G.ckpt")


def test_wrong_checkpoint_names_the_keys(tmp_path):
    path = tmp_path / "net_epoch_30_id_G.pth"
    torch.save(OfficialGANimationG(8, 17, 2).state_dict(), path)
    with pytest.raises(CheckpointError, match=r"missing keys: .*running_mean.*unexpected keys: .*attetion_reg"):
        StarGAN().load(path)
    broken = OfficialStarGANG(**RAFD_LIKE).state_dict()
    broken["main.9.main.0.weight"] = torch.zeros(1, 2, 3, 3)
    torch.save(broken, tmp_path / "bad-G.ckpt")
    with pytest.raises(CheckpointError, match=r"shape mismatch: main.9.main.0.weight \[1, 2, 3, 3\]"):
        StarGAN().load(tmp_path / "bad-G.ckpt")
    torch.save({"not": "a state dict"}, tmp_path / "junk-G.ckpt")
    with pytest.raises(CheckpointError, match="junk-G.ckpt"):
        StarGAN().load(tmp_path / "junk-G.ckpt")


def test_emotion_targets_and_errors(images16):
    adapter = StarGAN(StarGANConfig(image_size=16, g_conv_dim=4, g_repeat_num=1))
    with pytest.warns(RuntimeWarning, match="untrained"):
        out = adapter.edit(images16, "happiness")  # EMFACS name -> RaFD 'happy'
    assert out.shape == images16.shape and out.abs().max() <= 1
    torch.testing.assert_close(adapter.edit(images16, "happy"), out)
    with pytest.raises(ValueError, match="unknown emotion 'joy'.*angry"):
        adapter.edit(images16, "joy")
    with pytest.raises(ValueError, match="out of range"):
        adapter.edit(images16, torch.tensor([0, 1, 9]))


def test_discriminator_matches_the_authors_shapes():
    with torch.device("meta"):  # shapes only: no 44M parameters allocated
        d = StarGANDiscriminator(image_size=128, conv_dim=64, c_dim=8, repeat_num=6)
    shapes = {k: tuple(v.shape) for k, v in d.state_dict().items()}
    assert shapes["main.0.weight"] == (64, 3, 4, 4) and shapes["main.10.weight"] == (2048, 1024, 4, 4)
    assert shapes["conv1.weight"] == (1, 2048, 3, 3) and shapes["conv2.weight"] == (8, 2048, 2, 2)
    src, cls = StarGANDiscriminator(image_size=32, conv_dim=4, c_dim=8, repeat_num=4)(torch.zeros(2, 3, 32, 32))
    assert src.shape == (2, 1, 2, 2) and cls.shape == (2, 8)
