"""aufx: perceptually validated precise local editing of facial action units with StyleGAN2."""

__version__ = "0.1.0"
