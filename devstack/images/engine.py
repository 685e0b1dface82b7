"""The local engine's dockerd as an image store: build, import and assemble images, through its CLI.

Every call names the engine's own sockets (never the machine's default ones) and a DOCKER_CONFIG that holds the
buildx plugin, so ~/.docker and any dockerd of the machine are never touched. Images reach the kind nodes with
`kind load` (devstack.cluster.kind).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# Debian's CLI (20.10, API 1.41) matches Debian's dockerd; a newer `docker` on PATH may shadow it.
DOCKER_CLI = "/usr/bin/docker"
CTR = "/usr/bin/ctr"
K8S_NAMESPACE = "k8s.io"
# A digest of what an assembled image holds (`Engine.ensure_image`): the same content is not imported again.
CONTENT_LABEL = "orderflow.local/content"


class ImageError(RuntimeError):
    """A build, import or load failed; the message carries the command's output."""


@dataclass(frozen=True)
class Engine:
    docker_sock: Path
    docker_config: Path
    containerd_sock: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "BUILDX_"))}
        env.update(DOCKER_HOST=f"unix://{self.docker_sock}", DOCKER_CONFIG=str(self.docker_config))
        return env

    def docker(
        self,
        *args: str,
        input: bytes | None = None,
        stdin: IO[bytes] | None = None,
        log: Path | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        return _run([DOCKER_CLI, *args], self.env(), input=input, stdin=stdin, log=log, check=check)

    def ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        argv = [CTR, "--address", str(self.containerd_sock), "-n", K8S_NAMESPACE, *args]
        return _run(argv, self.env(), check=check)

    def image_id(self, ref: str) -> str | None:
        done = self.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
        return done.stdout.decode().strip() or None if done.returncode == 0 else None

    def import_rootfs(self, root: Path, ref: str, changes: Sequence[str] = ()) -> str:
        """`docker import` of a folder as a one-layer image (FROM scratch), with Dockerfile `changes`."""
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "rootfs.tar"
            with tarfile.open(archive, "w") as tar:
                for child in sorted(root.iterdir()):
                    tar.add(child, arcname=child.name)
            return self.import_tar(archive, ref, changes)

    def import_tar(self, archive: Path, ref: str, changes: Sequence[str] = ()) -> str:
        flags = [arg for change in changes for arg in ("--change", change)]
        self.docker("import", *flags, str(archive), ref)
        image = self.image_id(ref)
        if image is None:
            raise ImageError(f"docker import of {archive} gave no image {ref}")
        return image

    def ensure_image(
        self, ref: str, files: Mapping[str, Path], changes: Sequence[str] = (), base: str | None = None
    ) -> bool:
        """An image of a few host files (by path inside the image) on `base` (None: FROM scratch), with Dockerfile
        `changes`; made only when its content changed. Whether it was made."""
        digest = hashlib.sha256(f"{base and self.image_id(base)}\0{chr(0).join(changes)}".encode())
        for target, source in sorted(files.items()):
            digest.update(b"\0" + target.encode() + b"\0" + source.read_bytes())
        content = digest.hexdigest()[:32]
        labels = self.docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref, check=False)
        if labels.returncode == 0 and (json.loads(labels.stdout or b"null") or {}).get(CONTENT_LABEL) == content:
            return False
        changes = [*changes, f"LABEL {CONTENT_LABEL}={content}"]
        with tempfile.TemporaryDirectory() as tmp:
            for target, source in files.items():
                dest = Path(tmp) / target
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
            if base is None:
                self.import_rootfs(Path(tmp), ref, changes)
                return True
            # A container is only a place to copy into: it never starts, so any entrypoint does.
            made = self.docker("create", "--entrypoint", "/nonexistent", base).stdout.decode().strip()
            try:
                self.docker("cp", f"{tmp}/.", f"{made}:/")
                self.docker("commit", *(arg for change in changes for arg in ("--change", change)), made, ref)
            finally:
                self.docker("rm", "-f", made, check=False)
        return True


def _run(
    argv: list[str],
    env: Mapping[str, str],
    *,
    input: bytes | None = None,
    stdin: IO[bytes] | None = None,
    log: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            sink.write(f"$ {' '.join(argv)}\n".encode())
            sink.flush()
            done = subprocess.run(
                argv, env=dict(env), input=input, stdin=stdin, stdout=sink, stderr=subprocess.STDOUT, check=False
            )
        if check and done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise ImageError(f"`{' '.join(argv[:3])} ...` failed (exit {done.returncode}); log {log}:\n{tail}")
        return done
    done = subprocess.run(argv, env=dict(env), input=input, stdin=stdin, capture_output=True, check=False)
    if check and done.returncode != 0:
        raise ImageError(f"`{' '.join(argv[:4])} ...` failed: {(done.stderr or done.stdout).decode()[-2000:]}")
    return done
