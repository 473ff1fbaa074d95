"""Pure-PyTorch StyleGAN2 with named layers, hooks, and loaders for NVIDIA, rosinality and aufx files."""

from aufx.gan.networks import (
    PAPER_LAYER,
    Generator,
    GeneratorConfig,
    MappingNetwork,
    SynthesisNetwork,
    SynthesisResult,
    SynthesisState,
)

__all__ = [
    "PAPER_LAYER",
    "Generator",
    "GeneratorConfig",
    "MappingNetwork",
    "SynthesisNetwork",
    "SynthesisResult",
    "SynthesisState",
]
