"""The face analyzer: one small CNN with three heads (AU intensities, identity embedding, parts).

Input: RGB images ``[N, 3, 64, 64]`` in [-1, 1] (other sizes are resized to 64 bilinearly).
Output (:class:`AnalyzerOutput`):

- ``aus``: ``[N, 16]`` AU intensities on OpenFace's 0..5 scale (``AU_CODES`` order; unclamped,
  so gradients flow everywhere),
- ``identity``: ``[N, E]`` L2-normalised identity embedding; compare faces by cosine similarity,
- ``part_logits``: ``[N, P, H, W]`` facial-part logits (``PART_NAMES`` order) at the input size.

Everything is differentiable, so editing losses can use the analyzer directly. The encoder is a
plain strided CNN (64 -> 32 -> 16 -> 8 -> 4); the AU and identity heads read the flattened 4x4
map (faces are aligned, so position matters); the part head is a small feature pyramid on the
32/16/8 maps, upsampled to the input size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aufx.aus import AU_CODES, N_AUS

#: Bundled weights, inside the package.
BUNDLED_PATH = Path(__file__).resolve().parent.parent / "weights" / "analyzer.pt"
#: Format tag stored in the weight file.
FORMAT = "aufx-analyzer-v1"


@dataclass
class AnalyzerConfig:
    """Hyper-parameters of the architecture (stored with the weights)."""

    image_size: int = 64
    channels: tuple[int, int, int, int] = (24, 48, 64, 128)
    hidden: int = 192
    embedding: int = 64
    pyramid: int = 24
    n_aus: int = N_AUS
    n_parts: int = 15
    n_identity_params: int = 30
    #: "mlp": AU head on the flattened 4x4 map; "linear": a linear read-out of the 4x4 map and the
    #: pooled 16x16 pyramid level (fit in closed form by :func:`aufx.au.readout.fit_linear_readout`).
    au_readout: str = "mlp"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AnalyzerConfig:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        if "channels" in known:
            known["channels"] = tuple(known["channels"])
        return cls(**known)


@dataclass
class AnalyzerOutput:
    """Analyzer predictions; see the module docstring for shapes and units."""

    aus: torch.Tensor
    identity: torch.Tensor
    part_logits: torch.Tensor
    extras: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def parts(self) -> torch.Tensor:
        """Most likely part per pixel, int64 ``[N, H, W]``."""
        return self.part_logits.argmax(1)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class FaceAnalyzer(nn.Module):
    """AU regression + identity embedding + part segmentation on 64x64 faces."""

    def __init__(self, config: AnalyzerConfig | None = None) -> None:
        super().__init__()
        self.config = config or AnalyzerConfig()
        c1, c2, c3, c4 = self.config.channels
        self.b32 = nn.Sequential(_conv(3, c1, 2), _conv(c1, c1))  # 64 -> 32
        self.b16 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))  # 32 -> 16
        self.b8 = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3))  # 16 -> 8
        self.b4 = _conv(c3, c4, 2)  # 8 -> 4
        flat = c4 * 4 * 4
        h = self.config.hidden
        self.trunk = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(flat, h), nn.ReLU(inplace=True))
        self.au_head = nn.Sequential(nn.Linear(h, h), nn.ReLU(inplace=True), nn.Linear(h, self.config.n_aus))
        self.id_head = nn.Sequential(nn.Flatten(), nn.Linear(flat, h), nn.ReLU(inplace=True),
                                     nn.Linear(h, self.config.embedding))  # fmt: skip
        self.id_params = nn.Linear(self.config.embedding, self.config.n_identity_params)
        p = self.config.pyramid
        self.lat8 = nn.Conv2d(c3, p, 1)
        self.lat16 = nn.Conv2d(c2, p, 1)
        self.lat32 = nn.Conv2d(c1, p, 1)
        self.seg = nn.Sequential(_conv(p, p), nn.Conv2d(p, self.config.n_parts, 1))
        if self.config.au_readout not in ("mlp", "linear"):
            raise ValueError(f"au_readout must be 'mlp' or 'linear', got {self.config.au_readout!r}")
        self.au_linear = nn.Linear(self.readout_features, self.config.n_aus)

    @property
    def readout_features(self) -> int:
        """Length of the feature vector the linear AU read-out sees (4x4 map + pooled 16x16 level)."""
        return self.config.channels[3] * 16 + self.config.pyramid * 64

    def features(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        size = self.config.image_size
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must have shape [N, 3, H, W], got {list(images.shape)}")
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
        f32 = self.b32(images)
        f16 = self.b16(f32)
        f8 = self.b8(f16)
        f4 = self.b4(f8)
        return f32, f16, f8, f4

    def forward(self, images: torch.Tensor) -> AnalyzerOutput:
        """Analyse ``images`` ``[N, 3, H, W]`` in [-1, 1]."""
        out_size = images.shape[-2:]
        f32, f16, f8, f4 = self.features(images)
        p16 = self.lat16(f16) + F.interpolate(self.lat8(f8), scale_factor=2.0, mode="nearest")
        if self.config.au_readout == "linear":
            aus = self.au_linear(self.readout_input(f4, p16))
        else:
            aus = self.au_head(self.trunk(f4))
        raw_id = self.id_head(f4)
        identity = F.normalize(raw_id, dim=1)
        p32 = self.lat32(f32) + F.interpolate(p16, scale_factor=2.0, mode="nearest")
        logits = F.interpolate(self.seg(p32), size=out_size, mode="bilinear", align_corners=False)
        return AnalyzerOutput(aus=aus, identity=identity, part_logits=logits,
                              extras={"identity_params": self.id_params(raw_id)})  # fmt: skip

    def summary_features(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-face feature vectors without the part head (for distribution measures).

        ``pooled``: ``[N, C4]`` the 4x4 encoder map averaged over its 16 positions (post-ReLU,
        like Inception's pool3 for FID); ``identity``: ``[N, E]`` and ``aus``: ``[N, 16]``, equal
        to :meth:`forward`'s ``identity`` and ``aus``.
        """
        _, f16, f8, f4 = self.features(images)
        if self.config.au_readout == "linear":
            p16 = self.lat16(f16) + F.interpolate(self.lat8(f8), scale_factor=2.0, mode="nearest")
            aus = self.au_linear(self.readout_input(f4, p16))
        else:
            aus = self.au_head(self.trunk(f4))
        return {"pooled": f4.mean(dim=(2, 3)), "identity": F.normalize(self.id_head(f4), dim=1), "aus": aus}

    @staticmethod
    def readout_input(f4: torch.Tensor, p16: torch.Tensor) -> torch.Tensor:
        """Features of the linear AU read-out: ``[N, C4*16 + P*64]``."""
        return torch.cat([f4.flatten(1), F.avg_pool2d(p16, 2).flatten(1)], dim=1)

    # ---- persistence -------------------------------------------------------------------------

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """``load_state_dict`` that accepts files from before the linear AU read-out existed
        (their ``au_linear`` is missing and unused, so it keeps its initial values)."""
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        if missing and not (self.config.au_readout == "mlp" and all(k.startswith("au_linear.") for k in missing)):
            raise ValueError(f"analyzer weights lack {missing[:4]}")
        merged = dict(own)
        merged.update(state)
        self.load_state_dict(merged)

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None, half: bool = True) -> Path:
        """Write ``{"format", "config", "state_dict", "metadata"}`` to ``path`` (fp16 weights if ``half``)."""
        # the linear AU read-out folds feature standardisation into its weights: keep it in fp32
        state = {k: (v.half() if half and v.is_floating_point() and not k.startswith("au_linear.") else v).clone()
                 for k, v in self.state_dict().items()}  # fmt: skip
        payload = {"format": FORMAT, "config": asdict(self.config), "state_dict": state,
                   "metadata": dict(metadata or {}), "au_codes": list(AU_CODES)}  # fmt: skip
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(payload, tmp)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path, map_location: str = "cpu") -> FaceAnalyzer:
        """Load weights written by :meth:`save`; the model is returned in eval mode."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"analyzer weights not found: {path}")
        payload = torch.load(path, map_location=map_location, weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"{path} is not an aufx analyzer file (expected format {FORMAT!r})")
        model = cls(AnalyzerConfig.from_dict(payload["config"]))
        model.load_weights({k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()})
        model.metadata = payload.get("metadata", {})
        return model.eval()

    @classmethod
    def load_bundled(cls) -> FaceAnalyzer:
        """The analyzer bundled with aufx (trained on SynthFACS; see ``aufx/weights/analyzer.md``)."""
        return cls.load(BUNDLED_PATH)
