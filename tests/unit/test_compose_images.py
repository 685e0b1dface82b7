"""The Kafka drop-in image's jars: the broker's, plus the tools' it lacks, never a second slf4j backend."""

from __future__ import annotations

from pathlib import Path

from devstack.images.kafka import artifact, kafka_libs


def test_an_artifact_is_its_name_without_the_version() -> None:
    assert artifact("jackson-core-2.21.2.jar") == "jackson-core"
    assert artifact("kafka_2.13-4.3.1.jar") == "kafka_2.13"
    assert artifact("zstd-jni-1.5.6-10.jar") == "zstd-jni"


def test_the_tools_add_only_what_the_broker_lacks(tmp_path: Path) -> None:
    broker, tools = tmp_path / "broker", tmp_path / "tools"
    for folder, jars in {
        broker: ["kafka-clients-4.3.1.jar", "slf4j-api-2.0.17.jar"],
        tools: ["kafka-clients-4.3.1.jar", "slf4j-api-1.7.36.jar", "slf4j-nop-2.0.17.jar", "argparse4j-0.7.0.jar"],
    }.items():
        folder.mkdir()
        for jar in jars:
            (folder / jar).write_text(f"{folder.name}/{jar}")

    chosen = kafka_libs(broker, tools, tmp_path / "libs")

    assert chosen == ["argparse4j-0.7.0.jar", "kafka-clients-4.3.1.jar", "slf4j-api-2.0.17.jar"]
    assert (tmp_path / "libs" / "kafka-clients-4.3.1.jar").read_text() == "broker/kafka-clients-4.3.1.jar"
