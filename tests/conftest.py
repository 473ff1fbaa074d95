"""Suite-wide settings.

Tests run tiny networks, for which one intra-op thread is faster than several (thread start-up
dominates a 16-px convolution, and a loaded machine makes spinning threads much slower). Set before
torch is first imported; a developer's explicit OMP_NUM_THREADS wins.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Every test starts on one torch thread, and a test (or command) that changes it is undone."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def classifier_cache_outside_home(tmp_path_factory):
    """Emotion classifiers fitted by tests (validation of tiny trainings) go to a folder of this
    test session, never into ``~/.cache/aufx/classifiers`` beside a developer's real fits."""
    import baselines.emotion_classifier as emotion_classifier

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(emotion_classifier, "DEFAULT_CACHE_DIR", str(tmp_path_factory.mktemp("classifiers")))
        yield


#: Tests marked ``browser`` or ``postgres`` need Debian packages (listed in the README's Quick start).
#: ``make test`` installs them first (scripts/provision_test_deps.sh); run another way without
#: them, such a test fails at once with this hint instead of deep inside.
def _missing_system_part(marker: str) -> str | None:
    from pathlib import Path

    if marker == "browser":
        return None if Path("/usr/bin/chromium").exists() else "/usr/bin/chromium is missing (Debian's chromium)"
    from study_server.pgtemp import find_bin

    try:
        find_bin()
    except RuntimeError:
        return "PostgreSQL's initdb is missing (Debian's postgresql)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("browser", "postgres"):
        if item.get_closest_marker(marker) is not None and (missing := _missing_system_part(marker)):
            pytest.fail(f"{missing}, which tests marked {marker!r} need: run `bash scripts/provision_test_deps.sh` "
                        "(as root or with sudo), or `make test`, which runs it", pytrace=False)  # fmt: skip
