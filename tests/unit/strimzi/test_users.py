"""The User Operator's pure parts (/tmp/research/strimzi.md §3, KafkaUserModel, PasswordGenerator): the
generated password, the user Secret's labels and its JAAS line."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from devstack.strimzi import users

LETTERS = set(string.ascii_letters)
ALPHANUMERIC = set(string.ascii_letters + string.digits)


def test_a_password_is_32_letters_and_digits_starting_with_a_letter() -> None:
    """§3: length 32 (STRIMZI_SCRAM_SHA_PASSWORD_LENGTH), first `[a-zA-Z]`, the rest `[a-zA-Z0-9]`."""
    for _ in range(200):
        password = users.new_password()
        assert len(password) == 32
        assert password[0] in LETTERS
        assert set(password) <= ALPHANUMERIC


@given(length=st.integers(1, 128))
def test_a_password_of_any_length_keeps_the_same_alphabet(length: int) -> None:
    password = users.new_password(length)
    assert len(password) == length
    assert password[0] in LETTERS
    assert set(password) <= ALPHANUMERIC


def test_passwords_are_random() -> None:
    passwords = [users.new_password() for _ in range(1000)]
    assert len(set(passwords)) == len(passwords)
    # Every position draws from the whole alphabet: across 1000 passwords, digits appear after the first character.
    assert set("".join(p[1:] for p in passwords)) == ALPHANUMERIC
    assert {p[0] for p in passwords} <= LETTERS


def test_the_user_secret_carries_the_user_operators_labels() -> None:
    """§3: the KafkaUser's labels (keeping `strimzi.io/cluster`) plus the User Operator's."""
    user = {"metadata": {"name": "orderflow-orders", "labels": {"strimzi.io/cluster": "orderflow-kafka"}}}
    assert users.secret_labels(user) == {
        "strimzi.io/cluster": "orderflow-kafka",
        "strimzi.io/kind": "KafkaUser",
        "app.kubernetes.io/name": "strimzi-user-operator",
        "app.kubernetes.io/instance": "orderflow-orders",
        "app.kubernetes.io/part-of": "strimzi-orderflow-orders",
        "app.kubernetes.io/managed-by": "strimzi-user-operator",
    }


def test_the_kafka_users_own_kubernetes_labels_are_not_copied_but_others_are() -> None:
    """§1.2/§3: labels copied from the CR skip `app.kubernetes.io/*` (STRIMZI_LABELS_EXCLUSION_PATTERN); part-of
    is kept there but the User Operator sets its own."""
    labels = {
        "strimzi.io/cluster": "orderflow-kafka",
        "app.kubernetes.io/name": "orderflow",
        "app.kubernetes.io/version": "1.0.0",
        "app.kubernetes.io/part-of": "orderflow",
        "helm.sh/chart": "orderflow-1.0.0",
        "strimzi.io/kind": "Mine",
    }
    found = users.secret_labels({"metadata": {"name": "u", "labels": labels}})
    assert found["helm.sh/chart"] == "orderflow-1.0.0"
    assert found["app.kubernetes.io/name"] == "strimzi-user-operator"
    assert found["app.kubernetes.io/part-of"] == "strimzi-u"
    assert found["strimzi.io/kind"] == "KafkaUser"
    assert "app.kubernetes.io/version" not in found


def test_a_user_without_labels_gets_only_the_operators() -> None:
    for metadata in ({"name": "u"}, {"name": "u", "labels": None}):
        assert set(users.secret_labels({"metadata": metadata})) == {
            "strimzi.io/kind",
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/part-of",
            "app.kubernetes.io/managed-by",
        }


def test_the_jaas_line_is_the_scram_login_module_with_the_user_and_password() -> None:
    """§3 `sasl.jaas.config`, without a trailing newline."""
    assert users.JAAS.format(user="orderflow-orders", password="Abc123") == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="orderflow-orders" password="Abc123";'
    )


def test_the_password_length_is_strimzis_default() -> None:
    assert users.PASSWORD_LENGTH == 32
