"""analysis: from a perceptual study's ratings export to statistics, tables, figures and a report.

Modules (each small, importable alone; nothing here imports torch or the engine):

- ``load``: read and validate the ratings export, honour exclusions (``load_ratings``).
- ``stats``: tests on arrays as R computes them (``paired_ttest``, ``wilcoxon``, ``friedman``,
  ``adjust_pvalues``).
- ``compare``: the paper's paired t-tests against the reference method and the robustness tests,
  on participant means, as tidy DataFrames, with Holm/BH within a family (``FAMILIES``: the
  whole table or each question).
- ``models``: linear mixed model (crossed random intercepts) and the marginal cumulative-logit
  model.
- ``ordinal_mixed``: the report's ordinal table, the cumulative-logit mixed model per question
  (R ``ordinal::clmm``), fitted by ``clmm`` on the Laplace likelihood of ``laplace``, whose
  per-observation derivatives are in ``cumlink``.
- ``agreement``: Krippendorff's alpha and Shrout & Fleiss ICCs.
- ``power``: power and sensitivity of paired t-tests.
- ``figures``, ``tables``, ``engine_outputs``, ``report``: figures, table writers, the engine's
  Fig. 4 / Table 1 inputs, and ``analyze`` which writes ``report.html``.
- ``fixtures``: simulated studies for tests, docs and benchmarks (and the studies R's numbers are
  stored for); ``render_docs``: the docs image.
- ``cli``: ``aufx analyze``.
"""
