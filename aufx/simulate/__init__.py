"""SIMULATED participants for the end-to-end demo and for checking the analysis.

Nothing here is data from people. Every file these modules write says SIMULATED.

- :mod:`~aufx.simulate.raters`: the rater model. Each question gets a latent score per stimulus,
  computed from the stimulus's objective metrics (``metrics.csv``) or from given per-method true
  effects. A participant adds a bias and noise, and thresholds map the result to the Likert scale.
- :mod:`~aufx.simulate.browser`: a participant who takes a study over HTTP the way a browser does.
  It gets the pages, sends each form with its CSRF token, answers the attention checks as
  instructed and reloads once mid-way.
- :mod:`~aufx.simulate.recovery`: the recovery check. From the known true effects it works out the
  expected ordering of the methods, the paired t-test decisions and their power, and compares them
  with what the analysis found.

None of these modules imports torch or the engine. They need numpy, pandas and scipy, plus
``requests`` for the browser.
"""

SIMULATED_LABEL = "SIMULATED"
