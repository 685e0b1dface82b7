"""Start, probe and stop one local KRaft broker process, bound to 127.0.0.1 (or another local address)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import signal
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka.client import AIOKafkaClient

from devstack.kafka.artifacts import KAFKA_VERSION, ensure_kafka_jars, require_java
from devstack.processes import free_port, spawn

_LOG4J_CONFIG = Path(__file__).with_name("log4j2.yaml")
_STATE_FILE = "broker.json"


class BrokerError(RuntimeError):
    """The local broker could not be started or stopped; the message says why and where the logs are."""


def _cluster_id() -> str:
    # KRaft wants a base64url-encoded UUID without padding, as `kafka-storage random-uuid` prints. Like Kafka's
    # Uuid.randomUuid(), never one starting with "-": kafka-storage's argument parser would take it for an option
    # ("argument --cluster-id/-t: expected one argument"), which failed 1 start in 64.
    while (cluster_id := base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()).startswith("-"):
        pass
    return cluster_id


def server_properties(*, port: int, controller_port: int, log_dir: Path, host: str = "127.0.0.1") -> str:
    # `host` is the client listener's address: a node IP lets pods of the local cluster reach the broker.
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(log_dir),
        # A single node: every internal topic must fit on it.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "min.insync.replicas": "1",
        # Topics are created on purpose (orderflow up, the tests); a typo must not invent one.
        "auto.create.topics.enable": "false",
        # Consumers in tests and `make run` join at once instead of waiting 3 s for peers.
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


@dataclass(frozen=True)
class BrokerState:
    pid: int
    port: int
    controller_port: int
    version: str
    started_at: str
    host: str = "127.0.0.1"

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"


async def metadata_ok(bootstrap_servers: str, timeout: float = 2.0) -> bool:
    """Ready means a metadata request succeeds and names at least one broker."""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=int(timeout * 1000),
        metadata_max_age_ms=int(timeout * 1000),
    )
    # A refused connection is the expected answer while the broker boots; aiokafka would log each one.
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        return bool(client.cluster.brokers())
    except Exception:
        return False
    finally:
        await client.close()
        aiokafka_log.setLevel(level)


def _alive(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # A recycled pid belongs to some other program; only a Kafka JVM counts, and a zombie is gone.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return b"kafka.Kafka" in cmdline and stat.rsplit(")", 1)[-1].split()[0] != "Z"


class LocalBroker:
    """One broker in `data_dir`: storage, config, logs and a state file that `status`/`stop` read."""

    def __init__(self, data_dir: Path, port: int | None = None, heap: str = "512m", host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.host = host
        self.heap = heap
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def state(self) -> BrokerState | None:
        try:
            return BrokerState(**json.loads((self.data_dir / _STATE_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def running(self) -> BrokerState | None:
        state = self.state()
        return state if state is not None and _alive(state.pid) else None

    def start(self, timeout: float = 90.0) -> BrokerState:
        if (current := self.running()) is not None:
            return current
        java = require_java()
        libs = ensure_kafka_jars()
        previous = self.state()
        # None: the last port or 9092; 0: the last port or a free one (a restart keeps its address).
        if previous is not None and previous.host != self.host:
            previous = None  # another address: its ports were checked free there, not here
        if self.port:
            port = self.port
        elif previous is not None:
            port = previous.port
        else:
            port = free_port(self.host) if self.port == 0 else 9092
        controller_port = previous.controller_port if previous else free_port()
        if controller_port == port:
            controller_port = free_port()
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        storage = self.data_dir / "storage"
        config = self.data_dir / "server.properties"
        properties = server_properties(port=port, controller_port=controller_port, log_dir=storage, host=self.host)
        config.write_text(properties)
        classpath = f"{libs}/*"
        log_props = [f"-Dkafka.logs.dir={self.logs_dir}", f"-Dlog4j2.configurationFile={_LOG4J_CONFIG}"]
        if not (storage / "meta.properties").exists():
            self._run_storage_format(java, classpath, log_props, config)
        self._process = spawn(
            [
                java,
                f"-Xmx{self.heap}",
                "-Xms128m",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                *log_props,
                "-cp",
                classpath,
                "kafka.Kafka",
                str(config),
            ],
            self.logs_dir / "stdout.log",
        )
        state = BrokerState(
            pid=self._process.pid,
            port=port,
            controller_port=controller_port,
            version=KAFKA_VERSION,
            started_at=datetime.now(UTC).isoformat(),
            host=self.host,
        )
        (self.data_dir / _STATE_FILE).write_text(json.dumps(asdict(state)))
        self._wait_ready(state, timeout)
        return state

    def _run_storage_format(self, java: str, classpath: str, log_props: list[str], config: Path) -> None:
        result = subprocess.run(
            [
                java,
                *log_props,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "--cluster-id",
                _cluster_id(),
                "--config",
                str(config),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BrokerError(f"formatting Kafka storage in {self.data_dir} failed:\n{result.stdout}{result.stderr}")

    def _wait_ready(self, state: BrokerState, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerError(
                    f"Kafka exited with code {self._process.returncode} during start-up; "
                    f"see {self.logs_dir / 'server.log'} and {self.logs_dir / 'stdout.log'}"
                )
            if asyncio.run(metadata_ok(state.bootstrap_servers)):
                return
            time.sleep(0.2)
        self.stop()
        raise BrokerError(f"Kafka did not answer a metadata request within {timeout:.0f}s; see {self.logs_dir}")

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM (a controlled shutdown that flushes the log), then SIGKILL after `timeout`."""
        state = self.state()
        if state is None or not _alive(state.pid):
            return False
        os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(state.pid) and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.1)
        if _alive(state.pid):
            os.kill(state.pid, signal.SIGKILL)
        self._reap(block=True)
        return True

    def wait(self) -> int:
        """Block until the broker process started by this object exits."""
        return self._process.wait() if self._process is not None else 0

    def _reap(self, block: bool = False) -> None:
        if self._process is None:
            return
        if block:
            self._process.wait()
        else:
            self._process.poll()
