"""AU estimation: the SynthFACS face analyzer (stands in for OpenFace) and OpenFace 2.0 CSV import.

    from aufx.au import FaceAnalyzer
    analyzer = FaceAnalyzer.load_bundled()
    out = analyzer(images)   # images [N, 3, 64, 64] in [-1, 1]
    out.aus                  # [N, 16] intensities 0..5;  out.identity [N, 64];  out.part_logits [N, 15, 64, 64]
"""

from aufx.au.model import AnalyzerConfig, AnalyzerOutput, FaceAnalyzer
from aufx.au.openface import read_openface_csv

__all__ = ["AnalyzerConfig", "AnalyzerOutput", "FaceAnalyzer", "read_openface_csv"]
