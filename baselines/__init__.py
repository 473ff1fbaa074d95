"""Comparison methods behind one interface: StarGAN, GANimation, Cascade EF-GAN, GAN Local Editing.

Use the registry (``from baselines import registry; registry.get("stargan")``); see
``baselines.base`` for the image and target conventions and ``docs/baselines.md`` for the methods,
their checkpoint formats and their SynthFACS training. Importing this package loads no network code.
"""
