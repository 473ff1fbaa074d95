"""scripts/provision_test_deps.sh (run by `make test` and .ci/run) in simulated machines: nothing to
do, installing as root or with password-less sudo, and the fast stop where it cannot install.

A fake root folder (AUFX_PROVISION_ROOT) stands for / and a PATH of fake ``id``, ``sudo`` and
``apt-get`` for the machine, so nothing is installed here. The fake apt-get logs its arguments and,
on ``install``, creates the files the Debian packages would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "provision_test_deps.sh"
BASH = shutil.which("bash") or "/bin/bash"
ALL = "chromium chromium-driver postgresql"

FAKE_APT = """#!{sh}
echo "$SUDO_USED $*" >> {log}
case "$*" in *install*)
    {mkdir} -p {root}/usr/bin {root}/usr/lib/postgresql/15/bin
    for f in {root}/usr/bin/chromium {root}/usr/bin/chromedriver {root}/usr/lib/postgresql/15/bin/initdb; do
        echo '#!/bin/sh' > "$f"; {chmod} +x "$f"
    done;;
esac
"""


def fake_machine(tmp: Path, uid: int, sudo: str | None = None, apt: bool = True, present: str = "") -> dict[str, str]:
    """Environment of a machine: user ``uid``; ``sudo``: None (absent), "nopasswd" or "password";
    ``present``: the packages already installed (of ``ALL``)."""
    root, bin_ = tmp / "root", tmp / "bin"
    bin_.mkdir(parents=True)
    for name in present.split():
        path = {"chromium": "usr/bin/chromium", "chromium-driver": "usr/bin/chromedriver",
                "postgresql": "usr/lib/postgresql/15/bin/initdb"}[name]  # fmt: skip
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("#!/bin/sh\n")
        (root / path).chmod(0o755)
    sh = shutil.which("sh")

    def tool(name: str, text: str) -> None:
        (bin_ / name).write_text(text)
        (bin_ / name).chmod(0o755)

    tool("id", f"#!{sh}\necho {uid}\n")
    for name in ("env", "true"):  # what sudo and the script run
        os.symlink(shutil.which(name), bin_ / name)
    if apt:
        tool("apt-get", FAKE_APT.format(sh=sh, log=tmp / "apt.log", root=root, mkdir=shutil.which("mkdir"),
                                        chmod=shutil.which("chmod")))  # fmt: skip
    if sudo == "nopasswd":
        tool("sudo", f'#!{sh}\n[ "$1" = -n ] && shift\nexport SUDO_USED=sudo\nexec "$@"\n')
    elif sudo == "password":
        tool("sudo", f"#!{sh}\necho 'sudo: a password is required' >&2\nexit 1\n")
    return {"PATH": str(bin_), "AUFX_PROVISION_ROOT": str(root), "HOME": str(tmp)}


def provision(env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    result = subprocess.run([BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    return result, time.monotonic() - start


def apt_calls(tmp: Path) -> list[str]:
    log = tmp / "apt.log"
    return log.read_text().splitlines() if log.exists() else []


def test_everything_present_is_a_no_op(tmp_path: Path) -> None:
    result, seconds = provision(fake_machine(tmp_path, uid=1000, present=ALL))
    assert result.returncode == 0 and result.stdout == result.stderr == "" and seconds < 5
    assert apt_calls(tmp_path) == []  # no apt-get update when nothing is missing


@pytest.mark.parametrize("sudo", [None, "password"])
def test_cannot_install_stops_at_once_naming_the_packages_and_the_command(tmp_path: Path, sudo: str | None) -> None:
    result, seconds = provision(fake_machine(tmp_path, uid=1000, sudo=sudo, present="postgresql"))
    assert result.returncode == 1 and seconds < 10
    assert "not installed: chromium chromium-driver\n" in result.stderr
    assert "sudo apt-get install -y --no-install-recommends chromium chromium-driver" in result.stderr
    assert ("asks for a password" if sudo else "there is no sudo") in result.stderr
    assert apt_calls(tmp_path) == []


def test_no_apt_get_names_the_packages(tmp_path: Path) -> None:
    result, _ = provision(fake_machine(tmp_path, uid=0, apt=False))
    assert result.returncode == 1 and f"not installed: {ALL}" in result.stderr and "no apt-get" in result.stderr


@pytest.mark.parametrize(("uid", "sudo", "prefix"), [(0, None, ""), (1000, "nopasswd", "sudo")], ids=["root", "sudo"])
def test_installs_what_is_missing_as_root_or_with_password_less_sudo(tmp_path: Path, uid: int, sudo: str | None,
                                                                     prefix: str) -> None:  # fmt: skip
    env = fake_machine(tmp_path, uid=uid, sudo=sudo, present="chromium-driver")
    result, _ = provision(env)
    assert result.returncode == 0, result.stderr
    assert apt_calls(tmp_path) == [f"{prefix} update -qq",
                                   f"{prefix} install -y -qq --no-install-recommends chromium postgresql"]  # fmt: skip
    again, _ = provision(env)  # idempotent: now everything is there
    assert again.returncode == 0 and len(apt_calls(tmp_path)) == 2


def test_make_test_stops_before_the_set_up_when_it_cannot_install(tmp_path: Path) -> None:
    """The README's `make test` on a machine where nothing can be installed: non-zero within 30 s."""
    make = shutil.which("make")
    assert make is not None, "make is not installed; the README's test command needs it"
    env = fake_machine(tmp_path, uid=1000)
    for tool in ("bash", "make"):
        os.symlink(shutil.which(tool), Path(env["PATH"]) / tool)
    start = time.monotonic()
    result = subprocess.run([make, "--no-print-directory", "test", "VENV=" + str(tmp_path / "venv")], env=env,
                            capture_output=True, text=True, timeout=60, cwd=ROOT)  # fmt: skip
    assert result.returncode != 0 and time.monotonic() - start < 30
    assert f"not installed: {ALL}" in result.stderr
    assert not (tmp_path / "venv").exists()  # stopped before the set-up (and before pytest)
