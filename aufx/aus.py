"""The 16 facial action units (AUs) of the paper, their FACS names, and EMFACS emotion prototypes.

One source of truth for AU names everywhere in aufx: the engine, the baselines, the stimuli, the
study server and the analysis all take their AU list from here. This module imports nothing
else of aufx and no third-party package.

AU intensities use OpenFace 2.0's regression scale, 0 (absent) to 5 (maximum).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

#: The 16 AU codes of the paper, in OpenFace's order (``AU01`` ... ``AU26``).
AU_CODES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10",
    "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26",
)  # fmt: skip

#: FACS names of the 16 AUs.
AU_NAMES: dict[str, str] = {
    "AU01": "Inner Brow Raiser",
    "AU02": "Outer Brow Raiser",
    "AU04": "Brow Lowerer",
    "AU05": "Upper Lid Raiser",
    "AU06": "Cheek Raiser",
    "AU07": "Lid Tightener",
    "AU09": "Nose Wrinkler",
    "AU10": "Upper Lip Raiser",
    "AU12": "Lip Corner Puller",
    "AU14": "Dimpler",
    "AU15": "Lip Corner Depressor",
    "AU17": "Chin Raiser",
    "AU20": "Lip Stretcher",
    "AU23": "Lip Tightener",
    "AU25": "Lips Part",
    "AU26": "Jaw Drop",
}

N_AUS: int = len(AU_CODES)
AU_INDEX: dict[str, int] = {code: i for i, code in enumerate(AU_CODES)}

#: OpenFace 2.0 intensity scale.
AU_MIN: float = 0.0
AU_MAX: float = 5.0

#: OpenFace 2.0 ``FeatureExtraction`` intensity columns, as written in its CSV (leading space).
OPENFACE_INTENSITY_COLUMNS: dict[str, str] = {code: f" {code}_r" for code in AU_CODES}

#: EMFACS emotion prototypes (Friesen & Ekman) restricted to the 16 AUs of the paper.
#: Disgust's AU16 and the one-sidedness of contempt's AU14 cannot be expressed with these AUs.
EMOTION_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "happiness": ("AU06", "AU12"),
    "sadness": ("AU01", "AU04", "AU15"),
    "surprise": ("AU01", "AU02", "AU05", "AU26"),
    "fear": ("AU01", "AU02", "AU04", "AU05", "AU07", "AU20", "AU26"),
    "anger": ("AU04", "AU05", "AU07", "AU23"),
    "disgust": ("AU09", "AU15"),
    "contempt": ("AU12", "AU14"),
}

#: The eight RaFD expression classes (StarGAN's RaFD model), neutral included.
RAFD_EMOTIONS: tuple[str, ...] = (
    "angry", "contemptuous", "disgusted", "fearful", "happy", "neutral", "sad", "surprised",
)  # fmt: skip

#: RaFD class name -> EMFACS prototype name (``None`` for neutral).
RAFD_TO_PROTOTYPE: dict[str, str | None] = {
    "angry": "anger",
    "contemptuous": "contempt",
    "disgusted": "disgust",
    "fearful": "fear",
    "happy": "happiness",
    "neutral": None,
    "sad": "sadness",
    "surprised": "surprise",
}

_AU_PATTERN = re.compile(r"^\s*(?:au)?\s*0*(\d{1,2})\s*$", re.IGNORECASE)


class AUError(ValueError):
    """A bad AU name, value or emotion; the message lists what is valid."""


def _valid_list() -> str:
    return ", ".join(AU_CODES)


def normalize_au(name: str | int) -> str:
    """Return the canonical code (``"AU12"``) for ``"AU12"``, ``"au12"``, ``"12"``, ``12`` or ``"AU012"``.

    Raises:
        AUError: naming the bad input and listing the 16 valid AUs.
    """
    text = str(name)
    match = _AU_PATTERN.match(text)
    if match is not None:
        code = f"AU{int(match.group(1)):02d}"
        if code in AU_INDEX:
            return code
    raise AUError(f"unknown action unit {text!r}; valid AUs are: {_valid_list()}")


def parse_au_assignment(text: str) -> tuple[str, float]:
    """Parse one ``AU12=+2`` style argument into ``("AU12", 2.0)``.

    Accepts ``AU12=2``, ``au12=+1.5``, ``12=-1``. The value is a signed number (a change or a
    target, as the caller decides).

    Raises:
        AUError: on a missing ``=``, an unknown AU or a value that is not a finite number.
    """
    if "=" not in text:
        raise AUError(f"expected AU=VALUE (e.g. AU12=+2), got {text!r}; valid AUs are: {_valid_list()}")
    name, _, raw_value = text.partition("=")
    code = normalize_au(name)
    try:
        value = float(raw_value)
    except ValueError:
        raise AUError(f"value for {code} must be a number, got {raw_value.strip()!r} in {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise AUError(f"value for {code} must be finite, got {raw_value.strip()!r}")
    return code, value


def parse_au_assignments(items: Iterable[str]) -> dict[str, float]:
    """Parse several ``AU=VALUE`` arguments; a repeated AU is an error."""
    result: dict[str, float] = {}
    for item in items:
        code, value = parse_au_assignment(item)
        if code in result:
            raise AUError(f"{code} given twice ({code}={result[code]:+g} and {item!r})")
        result[code] = value
    return result


def check_intensity(code: str, value: float) -> float:
    """Return ``value`` if it lies on the 0–5 scale, else raise :class:`AUError` naming the AU."""
    if not (AU_MIN <= value <= AU_MAX):
        raise AUError(f"{code} intensity {value:g} is outside the scale [{AU_MIN:g}, {AU_MAX:g}]")
    return value


def au_vector(values: Mapping[str, float], fill: float = 0.0) -> list[float]:
    """Turn ``{"AU12": 2.0, ...}`` (any accepted spelling) into a 16-long list in ``AU_CODES`` order."""
    vector = [fill] * N_AUS
    for name, value in values.items():
        vector[AU_INDEX[normalize_au(name)]] = float(value)
    return vector


def emotion_targets(emotion: str, intensity: float = 3.0) -> dict[str, float]:
    """AU targets of an EMFACS prototype at a given intensity, e.g. happiness -> {AU06: 3, AU12: 3}.

    Accepts prototype names (``happiness``) and RaFD class names (``happy``).

    Raises:
        AUError: on an unknown emotion (listing the valid ones) or an intensity off the 0–5 scale.
    """
    key = emotion.strip().lower()
    if key in RAFD_TO_PROTOTYPE:
        prototype = RAFD_TO_PROTOTYPE[key]
        if prototype is None:
            return {}
        key = prototype
    if key not in EMOTION_PROTOTYPES:
        valid = ", ".join(list(EMOTION_PROTOTYPES) + ["neutral"])
        raise AUError(f"unknown emotion {emotion!r}; valid emotions are: {valid}")
    check_intensity(key, intensity)
    return {code: float(intensity) for code in EMOTION_PROTOTYPES[key]}
