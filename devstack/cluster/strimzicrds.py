"""Strimzi's CRDs, generated once from its Maven artifacts by its own CRD generator, into the cache:

    ~/.cache/orderflow/strimzi-<version>/libs/    io.strimzi:api and io.strimzi:crd-generator with dependencies
    ~/.cache/orderflow/strimzi-<version>/crds/    the generated files, with a .stamp naming what they were made of

The generator's classes need Java 21 or newer, which `find_java` looks for beyond PATH. Later calls only compare
the stamp: no Maven, no Java.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path

from devstack.cache import cache_dir
from devstack.cluster.crds import CrdError
from devstack.cluster.crdsources import GeneratedFile, MavenCrds, manifest
from devstack.java import find_java
from devstack.maven import copy_dependencies

MIN_JAVA = 21
GENERATOR = "io.strimzi.crdgenerator.CrdGenerator"
# The options with which Strimzi's build writes install/cluster-operator/: with them the output is byte-identical
# to the release's files (tried with 1.2.0).
OPTIONS = (
    *("--label", "app:strimzi", "--label", "strimzi.io/crd-install:true"),
    *("--target-kube", "1.16+", "--crd-api-version", "v1", "--api-versions", "v1", "--storage-version", "v1"),
)
Log = Callable[[str], None]


def generator_argv(java: str, libs: Path, files: Mapping[str, GeneratedFile], out: Path) -> list[str]:
    """One run for every file; the generator needs paths with a parent folder, hence absolute ones."""
    pairs = [f"{generated.model}={out.resolve() / file}" for file, generated in files.items()]
    return [java, "-cp", f"{libs}/*", GENERATOR, *OPTIONS, "--yaml", *pairs]


def stamp(entry: MavenCrds) -> str:
    """What the generated folder was made of: change any of it and the CRDs are generated again."""
    files = (f"{g.model}={file}@{g.sha256}" for file, g in sorted(entry.files.items()))
    return " ".join([f"strimzi={entry.version}", *OPTIONS, *files])


def mismatches(folder: Path, files: Mapping[str, GeneratedFile]) -> list[str]:
    """Each file that is missing or not the release's, with the sha256 it has (what a new version's manifest takes)."""
    paths = {file: folder / file for file in files}
    digests = {file: hashlib.sha256(path.read_bytes()).hexdigest() for file, path in paths.items() if path.exists()}
    return [f"{file}: {digests.get(file, 'missing')}" for file, g in files.items() if digests.get(file) != g.sha256]


def is_current(crds: Path, entry: MavenCrds) -> bool:
    marker = crds / ".stamp"
    return marker.is_file() and marker.read_text().strip() == stamp(entry)


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    # Two test sessions starting at once would otherwise both generate, and the second rename would fail.
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def strimzi_crds_dir(log: Log = print) -> Path:
    """The folder of Strimzi's generated CRDs (the manifest's version), generating them on first use."""
    entry = manifest().strimzi
    home = cache_dir("strimzi", entry.version)
    crds = home / "crds"
    if is_current(crds, entry):
        return crds
    with _locked(home):
        if not is_current(crds, entry):  # another process may have generated them while this one waited
            _generate(entry, home, crds, log)
    return crds


def _generate(entry: MavenCrds, home: Path, crds: Path, log: Log) -> None:
    pom = resources.files("devstack.cluster").joinpath("strimzi-pom.xml").read_bytes()
    what = f"Strimzi {entry.version}'s {' and '.join(entry.artifacts)}"
    libs = copy_dependencies(
        pom, home, what, {"strimzi.version": entry.version}, "install Maven, e.g. `sudo apt-get install -y maven`"
    )
    java = find_java(MIN_JAVA, f"to run Strimzi {entry.version}'s CRD generator")
    log(f"generating Strimzi {entry.version}'s CRDs with {GENERATOR}, once ({java})")
    partial = Path(tempfile.mkdtemp(prefix="crds-", dir=home))
    done = subprocess.run(generator_argv(java, libs, entry.files, partial), capture_output=True, text=True, check=False)
    wrong = mismatches(partial, entry.files)
    if done.returncode != 0 or wrong:
        shutil.rmtree(partial, ignore_errors=True)
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise CrdError(f"{GENERATOR} exited {done.returncode}; not as k8s/vendor/crds.yaml says: {wrong}\n{tail}")
    (partial / ".stamp").write_text(stamp(entry) + "\n")
    # Renamed into place last, so an interrupted run never leaves files that later runs would trust.
    shutil.rmtree(crds, ignore_errors=True)
    partial.rename(crds)
