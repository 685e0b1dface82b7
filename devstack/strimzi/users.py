"""The User Operator's part (user-operator `KafkaUserModel.java`, `KafkaUserOperator.java`): a KafkaUser with
SCRAM-SHA-512 authentication and simple authorization made real.

- the password: `spec.authentication.password.valueFrom.secretKeyRef`, else the one the user's Secret already
  holds, else 32 random letters and digits (the first a letter);
- the Secret named like the user: `password` and `sasl.jaas.config`, owned by the KafkaUser;
- the SCRAM-SHA-512 credential in Kafka (4096 iterations), and the user's ACLs reconciled as a whole;
- deleting the KafkaUser removes its credential, its ACLs and its Secret; users Kafka knows that no KafkaUser
  declares lose theirs too (`sweep`, as the User Operator's periodic reconcile does).
Other authentication types (tls, tls-external) are reported NotReady: the chart uses SCRAM only.

Documented in Strimzi's "Deploying and Managing" guide, "Configuring user authentication" (SCRAM-SHA-512: the
User Operator creates a Secret named like the KafkaUser with the generated `password` and the JAAS configuration
`sasl.jaas.config`) and "Using the User Operator" (a KafkaUser created, changed or deleted makes the user so).
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Mapping
from typing import Any

from devstack.strimzi import acls, resources, status
from devstack.strimzi.admin import Admin, AdminError
from devstack.strimzi.kube import Kube

PASSWORD_LENGTH = 32
JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user}" password="{password}";'


def new_password(length: int = PASSWORD_LENGTH) -> str:
    first = secrets.choice(string.ascii_letters)
    return first + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length - 1))


def secret_labels(kafka_user: Mapping[str, Any]) -> dict[str, str]:
    name = kafka_user["metadata"]["name"]
    own = {
        k: v for k, v in (kafka_user["metadata"].get("labels") or {}).items() if not k.startswith("app.kubernetes.io/")
    }
    return {
        **own,
        "strimzi.io/kind": "KafkaUser",
        "app.kubernetes.io/name": "strimzi-user-operator",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/part-of": f"strimzi-{name}",
        "app.kubernetes.io/managed-by": "strimzi-user-operator",
    }


async def _password(kube: Kube, kafka_user: Mapping[str, Any]) -> tuple[str, bool]:
    """(password, whether it is new to this Secret)."""
    meta, spec = kafka_user["metadata"], kafka_user.get("spec") or {}
    source = (((spec.get("authentication") or {}).get("password") or {}).get("valueFrom") or {}).get("secretKeyRef")
    existing = await kube.secret(meta["name"], meta["namespace"]) or {}
    if source:
        given = (await kube.secret(source["name"], meta["namespace"]) or {}).get(source["key"], b"").decode()
        if not given:
            raise ValueError(f"Secret {source['name']} has no value under {source['key']!r}")
        return given, existing.get("password", b"").decode() != given
    if existing.get("password"):
        return existing["password"].decode(), False
    return new_password(), True


async def reconcile(kube: Kube, kafka_user: dict[str, Any], admin: Admin) -> None:
    meta, spec = kafka_user["metadata"], kafka_user.get("spec") or {}
    user, namespace = meta["name"], meta["namespace"]
    previous = kafka_user.get("status") or {}
    base = {"observedGeneration": meta.get("generation", 0), "username": user, "secret": user}
    kind = (spec.get("authentication") or {}).get("type")
    try:
        if kind != "scram-sha-512":
            raise ValueError(f"authentication {kind!r} is not supported by the local stand-in (scram-sha-512 is)")
        password, changed = await _password(kube, kafka_user)
        data = {"password": password.encode(), "sasl.jaas.config": JAAS.format(user=user, password=password).encode()}
        manifest = resources.secret(user, namespace, data, secret_labels(kafka_user), kafka_user)
        manifest["metadata"]["ownerReferences"][0]["kind"] = "KafkaUser"
        await kube.apply(manifest)
        want = acls.desired(user, ((spec.get("authorization") or {}).get("acls")) or [])
        await asyncio.to_thread(_converge, admin, user, password, changed, want)
    except (ValueError, AdminError) as error:
        await kube.status(
            kafka_user, {**base, "conditions": [status.not_ready(previous, type(error).__name__, str(error))]}
        )
        return
    await kube.status(kafka_user, {**base, "conditions": [status.ready(previous)]})


def _converge(admin: Admin, user: str, password: str, changed: bool, want: set[acls.Binding]) -> None:
    if changed or user not in admin.scram_users():
        admin.set_password(user, password)
    to_create, to_delete = acls.changes(want, admin.acls(acls.principal(user)))
    admin.delete_acls(to_delete)
    admin.create_acls(to_create)


def remove(admin: Admin, user: str) -> None:
    """Blocking: the user's credential and ACLs out of Kafka."""
    admin.delete_password(user)
    admin.delete_acls(admin.acls(acls.principal(user)))


async def delete(kube: Kube, name: str, namespace: str, admin: Admin) -> None:
    await asyncio.to_thread(remove, admin, name)
    await kube.delete_secret(name, namespace)


def orphans(admin: Admin, declared: set[str]) -> set[str]:
    """Blocking: users with a credential or ACLs in Kafka that no KafkaUser declares (super users are
    certificate subjects, never `User:<name>` of a KafkaUser, and are left alone)."""
    principals = {b.principal.removeprefix("User:") for b in admin.acls() if b.principal.startswith("User:")}
    known = admin.scram_users() | {p for p in principals if not p.startswith("CN=") and p not in ("*", "ANONYMOUS")}
    return known - declared
