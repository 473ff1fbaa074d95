import pytest

from aufx import aus


def test_sixteen_aus_in_paper_order():
    assert aus.AU_CODES == tuple(f"AU{n:02d}" for n in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26))
    assert set(aus.AU_NAMES) == set(aus.AU_CODES)
    assert aus.AU_NAMES["AU12"] == "Lip Corner Puller"


@pytest.mark.parametrize("spelling", ["AU12", "au12", "12", 12, " AU012 ", "Au12"])
def test_normalize_accepts_common_spellings(spelling):
    assert aus.normalize_au(spelling) == "AU12"


@pytest.mark.parametrize("bad", ["AU13", "AU45", "mouth", "", "AU", "12.5", "AU1212"])
def test_unknown_au_lists_valid_ones(bad):
    with pytest.raises(aus.AUError) as info:
        aus.normalize_au(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert all(code in message for code in aus.AU_CODES)


def test_parse_assignments():
    assert aus.parse_au_assignment("AU12=+2") == ("AU12", 2.0)
    assert aus.parse_au_assignment("au06=-1.5") == ("AU06", -1.5)
    assert aus.parse_au_assignments(["12=1", "AU25=0.5"]) == {"AU12": 1.0, "AU25": 0.5}


@pytest.mark.parametrize(
    "bad, fragment",
    [("AU12", "expected AU=VALUE"), ("AU12=big", "must be a number"), ("AU99=1", "AU01, AU02"),
     ("AU12=nan", "finite"), ("AU12=inf", "finite")],
)  # fmt: skip
def test_parse_assignment_errors_name_the_problem(bad, fragment):
    with pytest.raises(aus.AUError, match=fragment):
        aus.parse_au_assignment(bad)


def test_repeated_au_is_an_error():
    with pytest.raises(aus.AUError, match="AU12 given twice"):
        aus.parse_au_assignments(["AU12=1", "12=2"])


def test_emfacs_prototypes_use_only_paper_aus():
    for emotion, codes in aus.EMOTION_PROTOTYPES.items():
        assert set(codes) <= set(aus.AU_CODES), emotion
    assert aus.emotion_targets("happiness", 3) == {"AU06": 3.0, "AU12": 3.0}
    assert aus.emotion_targets("happy", 2) == {"AU06": 2.0, "AU12": 2.0}
    assert aus.emotion_targets("neutral") == {}
    assert set(aus.emotion_targets("fear")) == {"AU01", "AU02", "AU04", "AU05", "AU07", "AU20", "AU26"}


def test_emotion_errors():
    with pytest.raises(aus.AUError, match="valid emotions are: happiness"):
        aus.emotion_targets("joyful")
    with pytest.raises(aus.AUError, match="outside the scale"):
        aus.emotion_targets("anger", 7)


def test_au_vector_order_and_rafd_mapping():
    vector = aus.au_vector({"12": 2, "AU01": 1})
    assert vector[aus.AU_INDEX["AU12"]] == 2 and vector[0] == 1 and sum(vector) == 3
    assert set(aus.RAFD_TO_PROTOTYPE) == set(aus.RAFD_EMOTIONS)
