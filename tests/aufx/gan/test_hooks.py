"""The synthesis hook API on a tiny net: capture shapes, identity replacement, stop/resume, W vs W+."""

from __future__ import annotations

import pytest
import torch

from aufx.gan.networks import PAPER_LAYER

from .tiny_nets import TINY, TINY32, random_generator, seeded_z


@pytest.fixture(scope="module")
def net():
    generator = random_generator(TINY32)
    with torch.no_grad():
        ws = generator.mapping(seeded_z(generator, 2), truncation_psi=0.8)
    return generator, ws


def test_capture_shapes_for_every_layer(net):
    generator, ws = net
    synthesis = generator.synthesis
    with torch.no_grad():
        result = synthesis.run(ws, capture=synthesis.layer_names)
    assert list(result.activations) == list(synthesis.layer_names)
    shapes = synthesis.layer_shapes()
    for name, act in result.activations.items():
        if name.endswith("torgb"):
            assert act.shape == (2, 3, *shapes[name][1:]), name
        else:
            assert act.shape == (2, *shapes[name]), name
    assert shapes[PAPER_LAYER] == (generator.config.channels(32), 32, 32)
    feature_layers = [n for n in synthesis.layer_names if not n.endswith("torgb")]
    assert feature_layers[6] == PAPER_LAYER  # the paper's 7th layer


def test_identity_replacement_is_bit_identical():
    generator = random_generator(TINY)
    with torch.no_grad():
        ws = generator.mapping(seeded_z(generator, 2))
        plain = generator.synthesis(ws)
        for name in generator.synthesis.layer_names:
            replaced = generator.synthesis.run(ws, replace={name: lambda x: x}).image
            assert torch.equal(replaced, plain), name


def test_tensor_replacement_changes_only_downstream(net):
    generator, ws = net
    with torch.no_grad():
        acts = generator.synthesis.run(ws, capture=[PAPER_LAYER]).activations[PAPER_LAYER]
        swapped = acts.flip(0)  # image 0 gets image 1's 32x32 features
        image = generator.synthesis.run(ws, replace={PAPER_LAYER: swapped}).image
        plain = generator.synthesis(ws)
    assert not torch.equal(image, plain)


def test_stop_after_and_resume_equal_full_pass(net):
    generator, ws = net
    with torch.no_grad():
        full = generator.synthesis.run(ws, capture=["b16.conv1"])
        head = generator.synthesis.run(ws, stop_after="b16.conv1", skip_rgb=False, capture=["b16.conv1"])
        assert head.image is None
        assert torch.equal(head.activations["b16.conv1"], full.activations["b16.conv1"])
        tail = generator.synthesis.run(ws, resume=head.state)
        assert torch.equal(tail.image, full.image)
        skipped = generator.synthesis.run(ws, stop_after="b16.conv1")
        with pytest.raises(ValueError, match="cannot resume"):
            generator.synthesis.run(ws, resume=skipped.state)


def test_w_and_w_plus_broadcast_equal(net):
    generator, _ = net
    w = generator.mapping(seeded_z(generator, 2))[:, 0]
    with torch.no_grad():
        from_w = generator.synthesis(w)
        from_wplus = generator.synthesis(w.unsqueeze(1).repeat(1, generator.num_ws, 1))
    assert torch.equal(from_w, from_wplus)
    with pytest.raises(ValueError, match=r"expected W \[N, 16\] or W\+ \[N, 8, 16\]"):
        generator.synthesis(torch.zeros(2, 5, 16))
