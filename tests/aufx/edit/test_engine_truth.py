"""EditingModel.true_scenes: the bundled, distilled generator's seeds have known scenes."""

import numpy as np

from aufx.edit.dataset import seed_latents
from aufx.edit.engine import EditingModel
from aufx.synthfacs.latent import params_from_z


def test_bundled_model_knows_the_true_scene_of_its_seed_faces_at_psi_1_only():
    model = EditingModel.load("synthfacs128")
    scenes = model.true_scenes([3, 5])
    expected = params_from_z(seed_latents(model.generator.z_dim, [3, 5]).numpy())
    np.testing.assert_array_equal(scenes.aus, expected.aus)
    assert model.true_scenes([3], truncation_psi=0.7) is None
    assert EditingModel(model.generator).true_scenes([3]) is None  # no metadata: no scene map
