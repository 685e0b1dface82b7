"""Finding the PostgreSQL server programs, without running them."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.cache import ToolMissing
from devstack.postgres import find_binaries


def _fake_bin(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("initdb", "postgres", "pg_ctl"):
        program = folder / name
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    return folder


def test_prefers_the_newest_versioned_folder(tmp_path: Path) -> None:
    for version in ("9.6", "15", "13"):
        _fake_bin(tmp_path / "lib" / version / "bin")
    found = find_binaries(tmp_path / "lib", path="")
    assert found.initdb == tmp_path / "lib" / "15" / "bin" / "initdb"
    assert found.postgres == tmp_path / "lib" / "15" / "bin" / "postgres"


def test_falls_back_to_path(tmp_path: Path) -> None:
    folder = _fake_bin(tmp_path / "usr" / "bin")
    found = find_binaries(tmp_path / "missing", path=str(folder))
    assert found.postgres == folder / "postgres"


def test_missing_server_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match=r"apt-get install -y postgresql"):
        find_binaries(tmp_path / "missing", path=str(tmp_path))
