"""The emotion classifier of the baselines' validation: fitted on labelled renders, cached between runs."""

import numpy as np

import baselines.emotion_classifier as ec
from aufx.edit.analyzer import analyzer_path, load_analyzer


def test_the_classifier_is_fitted_once_and_then_read_from_the_cache(tmp_path, monkeypatch):
    analyzer = load_analyzer("synthfacs")
    fits = []
    real_fit = ec.fit_emotion_classifier

    def counting_fit(*args, **kwargs):  # type: ignore[no-untyped-def]
        fits.append(args[1:])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(ec, "fit_emotion_classifier", counting_fit)
    first = ec.cached_emotion_classifier(analyzer, analyzer_path("synthfacs"), 300, 5, 64, cache_dir=tmp_path)
    again = ec.cached_emotion_classifier(analyzer, analyzer_path("synthfacs"), 300, 5, 64, cache_dir=tmp_path)
    assert len(fits) == 1 and again["heldout_accuracy"] == first["heldout_accuracy"]
    x = np.random.default_rng(0).uniform(0, 3, (20, 16))
    assert (again["model"].predict(x) == first["model"].predict(x)).all()
    assert first["heldout_accuracy"] > 2 * first["chance"]  # it reads emotions from the analyzer's AUs

    ec.cached_emotion_classifier(analyzer, analyzer_path("synthfacs"), 300, 6, 64, cache_dir=tmp_path)
    assert len(fits) == 2  # another seed is another classifier
    for path in tmp_path.glob("*.joblib"):
        path.write_bytes(b"damaged")
    ec.cached_emotion_classifier(analyzer, analyzer_path("synthfacs"), 300, 5, 64, cache_dir=tmp_path)
    assert len(fits) == 3  # a damaged file is refitted, not an error
