"""The local broker's KRaft cluster id: what `kafka-storage format --cluster-id` accepts, every time."""

from __future__ import annotations

import base64

from devstack.kafka.broker import _cluster_id


def test_cluster_id_is_a_base64url_uuid_that_never_looks_like_an_option() -> None:
    ids = [_cluster_id() for _ in range(5000)]  # a leading "-" used to come up once in 64
    assert not [cluster_id for cluster_id in ids if cluster_id.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(cluster_id + "==")) == 16 for cluster_id in ids)
    assert len(set(ids)) == len(ids)
