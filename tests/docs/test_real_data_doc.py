"""docs/real_data.md: every command it shows is run here on small stand-ins, or named tests cover it.

The doc's code blocks are parsed in order. ``aufx`` commands run in-process (``aufx.cli.main``)
with the substitutions below (smaller sizes, fewer steps); ``python`` blocks are executed;
``toml`` blocks whose first line is ``# <file>`` are written. What cannot run here (external
programs, servers) must be listed in ``ELSEWHERE`` (a test that covers it) or ``STAND_INS`` (what
the walk does instead). A command in none of these fails the fast test; a command that fails
fails the slow walk.

Stand-ins: a tiny NVIDIA-format pickle (``ffhq.pkl``, 32 px, written with the loader tests'
writer), SynthFACS renders saved as JPEG photographs (dlib finds their faces), OpenFace CSVs in
``FeatureExtraction``'s format with made-up AUs, participants answering through the Flask test
client on the study's own SQLite database.
"""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "real_data.md"

#: doc text -> what the walk uses (each must occur in the doc).
SUBSTITUTIONS: dict[str, str] = {
    "--size 1024": "--size 256",  # aligned faces stay large enough for dlib to find again
    "--steps 1000": "--steps 5",
    "image_size = 1024": "image_size = 32",
    "steps = 200": "steps = 5",
}
#: extra arguments per aufx sub-command, appended in the walk (smaller trainings).
EXTRA_ARGS: dict[str, list[str]] = {
    "train editor": ["--epochs", "5"],
    "train regions": ["--faces", "16", "--neutral", "4", "--clusters", "4", "--steps", "3"],
    "edit": ["--steps", "5"],
    "analyze": ["--skip-models"],
}
#: command (as in the doc, after env assignments) -> (file, marker that must occur in it): covered there.
ELSEWHERE: dict[str, tuple[str, str]] = {
    "pip install -e .[real]": ("Makefile", "-e '.[dev,real]'"),  # CI installs the extra; every test here uses it
    "aufx serve --hash-password": ("tests/study_server/test_cli_and_gunicorn.py", "def test_hash_password("),
    "gunicorn": ("tests/study_server/test_cli_and_gunicorn.py", "def test_gunicorn_kill_minus_nine_loses_nothing_acknowledged("),
}
#: commands the walk replaces by a stand-in (the stand-in's function below).
STAND_INS: dict[str, str] = {
    "FeatureExtraction": "openface_stand_in",  # OpenFace is a C++ program: CSVs in its format instead
    "aufx serve --study stimuli/": "participants_stand_in",  # participants through the Flask app, same DB
}
#: postgres in the gunicorn line is covered by the PostgreSQL session tests.
POSTGRES_TEST = ("tests/study_server/test_databases.py", "KINDS")
PHOTOS = ("me", "you", "them", "us")


def code_blocks(text: str) -> list[tuple[str, str]]:
    """Fenced blocks ``(language, body)`` in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)]


def shell_commands(body: str) -> list[str]:
    """Commands of a bash block: continuation lines joined, comments dropped, a for-loop kept whole."""
    lines = body.replace("\\\n", " ").splitlines()
    commands, loop = [], []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if loop or line.startswith("for "):
            loop.append(line)
            if line == "done":
                commands.append("\n".join(loop))
                loop = []
            continue
        commands.append(line)
    assert not loop, f"unterminated for-loop in {DOC}"
    return commands


def program(command: str) -> tuple[str, list[str]]:
    """``(name, argv)``: the program after leading VAR=value assignments (``for`` for loops)."""
    if command.startswith("for "):
        return "for", []
    argv = shlex.split(command, comments=True)
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", argv[0]):
        argv.pop(0)
    return argv[0], argv


def classify(command: str) -> str:
    """``run`` (the walk runs it), ``elsewhere:<key>`` or ``stand-in:<key>``; ``unknown`` otherwise."""
    name, argv = program(command)
    text = " ".join(argv)
    for key in STAND_INS:
        if text == key or (name == "for" and key in command):
            return f"stand-in:{key}"
    for key in ELSEWHERE:
        if text == key or name == key:
            return f"elsewhere:{key}"
    if name == "aufx":
        return "run"
    return "unknown"


def doc_commands() -> list[tuple[str, str]]:
    """Every shell command of the doc with its classification."""
    out = []
    for language, body in code_blocks(DOC.read_text()):
        if language == "bash":
            out.extend((command, classify(command)) for command in shell_commands(body))
    return out


def test_every_command_is_run_or_covered() -> None:
    commands = doc_commands()
    assert len(commands) >= 12, "the doc lost its commands"
    unknown = [c for c, kind in commands if kind == "unknown"]
    assert not unknown, f"commands in {DOC.name} that no test runs or covers: {unknown}"
    used = {kind.split(":", 1)[1] for _, kind in commands if ":" in kind}
    stale = (set(ELSEWHERE) | set(STAND_INS)) - used
    assert not stale, f"entries for commands no longer in the doc: {stale}"
    for key, (path, marker) in [*ELSEWHERE.items(), ("postgres", POSTGRES_TEST)]:
        assert marker in (ROOT / path).read_text(), f"{key}: {path} no longer holds {marker!r}"
    text = DOC.read_text()
    for original in SUBSTITUTIONS:
        assert original in text, f"substitution {original!r} no longer matches the doc"
    # inline `aufx ...` spans in the prose must be commands of the blocks too
    run = {c for c, _ in commands}
    inline = [s for s in re.findall(r"`(aufx [^`]+)`", text) if "--" in s]
    assert all(any(c.startswith(s) for c in run) for s in inline), inline
    # the python blocks and the stimuli spec are part of the walk
    languages = [lang for lang, _ in code_blocks(text)]
    assert languages.count("python") == 2 and languages.count("toml") == 1


def test_classify_catches_new_commands() -> None:
    assert classify("aufx align a.jpg --out b") == "run"
    assert classify("ffmpeg -i x.mp4 frames/%04d.png") == "unknown"
    assert classify("A=1 B=2 gunicorn -w 4 app") == "elsewhere:gunicorn"
    assert classify("for f in *.png; do\nFeatureExtraction -f $f\ndone") == "stand-in:FeatureExtraction"
    assert shell_commands("# c\naufx a \\\n  --b 1\n\nfor x in y; do\n  echo $x\ndone\n") == ["aufx a    --b 1", "for x in y; do\necho $x\ndone"]


# --- the walk -------------------------------------------------------------------------------

def substitute(text: str) -> str:
    for original, replacement in SUBSTITUTIONS.items():
        text = text.replace(original, replacement)
    return text


def openface_stand_in(work: Path) -> None:
    """One CSV per aligned image in OpenFace 2.0 FeatureExtraction's layout (leading spaces)."""
    codes = ["01", "02", "04", "05", "06", "07", "09", "10", "12", "14", "15", "17", "20", "23", "25", "26", "45"]
    header = ["frame", " face_id", " timestamp", " confidence", " success"]
    header += [f" AU{c}_r" for c in codes] + [f" AU{c}_c" for c in codes]
    rng = np.random.default_rng(0)
    (work / "openface").mkdir(exist_ok=True)
    for image in sorted((work / "aligned").glob("*.png")):
        rows = []
        for frame in (1, 2):
            values = [frame, 0, 0.04 * (frame - 1), 0.98, 1, *np.round(rng.uniform(0, 5, 17), 2), *rng.integers(0, 2, 17)]
            rows.append(", ".join(str(v) for v in values))
        (work / "openface" / f"{image.stem}.csv").write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")


def participants_stand_in(work: Path, n: int = 6) -> None:
    """``n`` participants take the study through the Flask app on the database ``aufx serve`` uses."""
    from study_server import create_app
    from tests.study_server.helpers import Walker

    app = create_app({"study_dir": str(work / "stimuli"), "admin_password": "not-used-here-123"})
    rng = np.random.default_rng(1)
    for _ in range(n):
        walker = Walker(app.test_client())
        walker.start()
        while True:
            response = walker.client.get("/trial")
            if response.status_code == 303:
                break
            seq, expected, _ = walker.current()
            ratings = {q: int(expected) if expected is not None else int(rng.integers(1, 6)) for q in ("expression", "identity", "artifacts")}
            assert walker.answer(seq, ratings).status_code == 303
        assert walker.get("/done").status_code == 200


def make_stand_ins(work: Path) -> None:
    from PIL import Image

    from tests.aufx.gan.nvidia_writer import write_nvidia_pickle
    from tests.aufx.gan.tiny_nets import TINY32, random_generator
    from tests.aufx.real.faces import synthfacs_photos

    write_nvidia_pickle(random_generator(TINY32), work / "ffhq.pkl")
    for path, name in zip(synthfacs_photos(work / "renders", n=len(PHOTOS), size=256), PHOTOS, strict=True):
        (work / "photos").mkdir(exist_ok=True)
        Image.open(path).convert("RGB").save(work / "photos" / f"{name}.jpg", quality=95)


def run_aufx(argv: list[str]) -> None:
    from aufx.cli import main

    expanded: list[str] = []
    for arg in argv[1:]:
        matches = sorted(glob.glob(arg)) if any(ch in arg for ch in "*?[") else []
        expanded.extend(matches or [arg])
    key = " ".join(expanded[:2]) if expanded[0] in ("train", "model") else expanded[0]
    expanded += EXTRA_ARGS.get(key, [])
    assert main(expanded) == 0, f"aufx {' '.join(expanded)} failed"


@pytest.mark.slow  # the whole pipeline: dlib models, inversion, trainings, stimuli, study, analysis
def test_the_doc_runs_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    make_stand_ins(tmp_path)
    ran: list[str] = []
    for language, body in code_blocks(DOC.read_text()):
        if language == "python":
            exec(compile(substitute(body), f"{DOC.name}:python", "exec"), {"__name__": "__doc_block__"})
            ran.append("python")
        elif language == "toml":
            first, _, _ = body.partition("\n")
            assert first.startswith("# "), "a toml block of the doc must start with '# <file name>'"
            (tmp_path / first[2:].strip()).write_text(substitute(body))
        elif language == "bash":
            for command in shell_commands(body):
                kind = classify(command)
                if kind == "run":
                    run_aufx(program(substitute(command))[1])
                    ran.append(command)
                elif kind.startswith("stand-in:"):
                    globals()[STAND_INS[kind.split(":", 1)[1]]](tmp_path)
                    ran.append(kind)
                else:
                    assert kind.startswith("elsewhere:"), (command, kind)
    out = capsys.readouterr().out

    assert sum(c.startswith("aufx") for c in ran) == sum(kind == "run" for _, kind in doc_commands())
    aligned = sorted(p.name for p in (tmp_path / "aligned").glob("*.png"))
    assert aligned == [f"{name}_01.png" for name in sorted(PHOTOS)]
    assert len(pd.read_csv(tmp_path / "aligned" / "landmarks.csv")) == len(PHOTOS)
    assert len(list((tmp_path / "faces").glob("seed*.png"))) == 8
    assert len(list((tmp_path / "recon").glob("*_recon.png"))) == len(PHOTOS)
    assert f"{len(PHOTOS)} faces" in out
    for name in ("ffhq_editor.pt", "ffhq_regions.json", "ffhq_regions.npz", "editor_r2.csv", "edited.png",
                 "figures/table1.csv", "stimuli/contact_sheet.png", "report/report.html"):  # fmt: skip
        assert (tmp_path / name).is_file(), name
    assert "identity_distance" in out and "outside_share" in out
    manifest = pd.read_csv(tmp_path / "stimuli" / "manifest.csv")
    assert set(manifest["method"]) == {"aufx-global-opt", "aufx-local-mux"} and len(manifest) == 2 * len(PHOTOS)
    ratings = pd.read_csv(tmp_path / "ratings.csv")
    assert ratings["participant_id"].nunique() == 6
    assert set(ratings["question"]) == {"expression", "identity", "artifacts"}
