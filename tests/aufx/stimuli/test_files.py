"""Atomic writes, records and stale temporaries (no model needed)."""

from __future__ import annotations

import json
import os

from aufx.files import atomic_write
from aufx.stimuli.run import remove_stale_temporaries
from aufx.stimuli.work import read_record, record_path


def test_atomic_write_and_record_validation(tmp_path):
    unit = {"stage": "stimulus", "stimulus_id": "s0"}
    assert read_record(tmp_path, unit) is None
    atomic_write(tmp_path / "images" / "s0.png", b"png-bytes")
    import hashlib

    digest = hashlib.sha256(b"png-bytes").hexdigest()
    record = {"files": {"images/s0.png": digest}, "sha256": digest}
    atomic_write(record_path(tmp_path, unit), json.dumps(record).encode())
    assert read_record(tmp_path, unit) == record
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    (tmp_path / "images" / "s0.png").write_bytes(
        b"changed"
    )  # an image edited after the run is redone
    assert read_record(tmp_path, unit) is None
    (tmp_path / "images" / "s0.png").unlink()
    assert read_record(tmp_path, unit) is None
    record_path(tmp_path, unit).write_text("{not json")  # a torn record counts as not done
    assert read_record(tmp_path, unit) is None


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    dead = images / ".s1.png.999999999.tmp"  # no such pid
    alive = images / f".s2.png.{os.getpid()}.tmp"
    other = images / "s3.png"
    for path in (dead, alive, other):
        path.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and other.exists()
