"""The node image's key: what makes a new image, and what must not (a fresh clone's file times)."""

from __future__ import annotations

import os
from pathlib import Path

from devstack.cluster.nodeimage import SMALL_FILE, _digest


def test_a_small_files_time_does_not_change_the_key_and_its_content_does(tmp_path: Path) -> None:
    script = tmp_path / "entrypoint.sh"
    script.write_text("#!/bin/sh\nexec /sbin/init\n")
    key = _digest(tmp_path, {"usr/local/bin/entrypoint": script}, ["a=sha256:1"])
    os.utime(script, (1, 1))  # what a fresh clone does to every file's mtime
    assert _digest(tmp_path, {"usr/local/bin/entrypoint": script}, ["a=sha256:1"]) == key
    script.write_text("#!/bin/sh\nexec /sbin/init --log-level=debug\n")
    assert _digest(tmp_path, {"usr/local/bin/entrypoint": script}, ["a=sha256:1"]) != key


def test_a_large_binary_is_keyed_by_size_and_time_and_every_image_id_counts(tmp_path: Path) -> None:
    binary = tmp_path / "kubelet"
    binary.write_bytes(b"\0" * SMALL_FILE)
    key = _digest(tmp_path, {"usr/bin/kubelet": binary}, ["a=sha256:1"])
    os.utime(binary, (1, 1))  # rebuilt
    assert _digest(tmp_path, {"usr/bin/kubelet": binary}, ["a=sha256:1"]) != key
    again = _digest(tmp_path, {"usr/bin/kubelet": binary}, ["a=sha256:1"])
    assert _digest(tmp_path, {"usr/bin/kubelet": binary}, ["a=sha256:2"]) != again
