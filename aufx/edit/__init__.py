"""The editing engine of aufx (paper Sections 3–4): one module per step, each equation at home.

- :mod:`~aufx.edit.analyzer` — the face-analyzer seam (AUs, identity, parts);
- :mod:`~aufx.edit.dataset` — latent dataset (w, AUs) from sampled faces or OpenFace CSVs;
- :mod:`~aufx.edit.global_editor` — the AU regressor on W (Sec. 3.1) and editing by optimisation;
- :mod:`~aufx.edit.directions` — Eq. 1–2 directions, orthogonalisation (Fig. 5), calibration,
  direction correlation (Fig. 4);
- :mod:`~aufx.edit.catalog` — spherical k-means region catalog (Sec. 3.2.1);
- :mod:`~aufx.edit.relations` — Eq. 8–10 and Table 1; :mod:`~aufx.edit.regions` builds them;
- :mod:`~aufx.edit.local` — masked optimisation (Eq. 3–6) and activation multiplexing (Eq. 7);
- :mod:`~aufx.edit.engine` — all modes behind one object; :mod:`~aufx.edit.transfer` —
  expression transfer and emotion editing;
- :mod:`~aufx.edit.au_parts` — the AU → facial parts table; :mod:`~aufx.edit.figures` — plots.

Submodules are imported explicitly (``from aufx.edit.local import multiplex``): importing
``aufx.edit`` itself loads nothing heavy.
"""
