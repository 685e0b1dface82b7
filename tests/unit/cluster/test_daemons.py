"""The daemon runner's one-line failures: a port taken, a daemon that dies during start-up or never answers
(each naming its log), and start and stop in order, recorded for any later process."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devstack.cluster.daemons import Daemon, DaemonError, Runner


def test_a_taken_port_names_the_daemon_and_starts_nothing(tmp_path: Path) -> None:
    runner = Runner.load(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        daemon = Daemon("kube-apiserver", ["/bin/sleep", "60"], lambda: True, ports=(("127.0.0.1", port),))
        with pytest.raises(DaemonError, match=rf"^port {port} on 127\.0\.0\.1 \(kube-apiserver\) is taken"):
            runner.start([daemon])
    assert runner.records == {}


def test_a_daemon_dying_during_start_up_names_its_log(tmp_path: Path) -> None:
    runner = Runner.load(tmp_path)
    daemon = Daemon("etcd", ["/bin/sh", "-c", "echo 'member has already been bootstrapped' >&2; exit 1"], lambda: False)
    with pytest.raises(DaemonError) as failed:
        runner.start([daemon])
    first, *rest = str(failed.value).splitlines()
    assert first == f"etcd exited during start-up; log {tmp_path / 'logs' / 'etcd.log'}:"
    assert "member has already been bootstrapped" in rest[-1]
    assert Runner.load(tmp_path).records == {}, "a failed start stops and forgets what it began"


def test_a_daemon_that_never_answers_times_out_naming_its_log(tmp_path: Path) -> None:
    runner = Runner.load(tmp_path)
    with pytest.raises(DaemonError, match=r"^dockerd was not ready after 1s; log .*dockerd\.log"):
        runner.start([Daemon("dockerd", ["/bin/sleep", "30"], lambda: False, timeout=1)])
    assert not runner.alive("dockerd")


def test_daemons_start_in_order_are_found_by_another_process_and_stop_in_reverse(tmp_path: Path) -> None:
    order: list[str] = []

    def ready(name: str) -> bool:
        order.append(name)
        return True

    first = Daemon("containerd", ["/bin/sleep", "60"], lambda: ready("containerd"))
    second = Daemon("dockerd", ["/bin/sleep", "61"], lambda: ready("dockerd"))
    runner = Runner.load(tmp_path)
    runner.start([first, second])
    assert order == ["containerd", "dockerd"]
    again = Runner.load(tmp_path)  # as `orderflow k8s down` from another shell sees it
    assert again.running()
    assert list(again.records) == ["containerd", "dockerd"]
    again.start([first, second])  # a second start starts nothing
    assert order == ["containerd", "dockerd"]
    assert again.stop()
    assert not runner.alive("containerd")
    assert not runner.alive("dockerd")
    assert Runner.load(tmp_path).records == {}
