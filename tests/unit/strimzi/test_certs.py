"""The cluster CA and the certificates it signs (/tmp/research/strimzi.md §1.4), checked with `cryptography`:
signatures, subjects as Java prints them, SANs, the chain file, the PKCS#12 truststore, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devstack.strimzi import certs, naming

C, N = "orderflow-kafka", "orderflow"
POD = "orderflow-kafka-dual-role-0"
NOW = datetime(2026, 8, 20, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> certs.KeyPair:
    return certs.new_ca("cluster-ca v0", now=NOW)


@pytest.fixture(scope="module")
def broker(ca: certs.KeyPair) -> certs.KeyPair:
    return certs.issue(ca, f"{C}-kafka", naming.ORGANIZATION, naming.broker_sans(C, N, POD), now=NOW)


def public_numbers(key: rsa.RSAPublicKey) -> rsa.RSAPublicNumbers:
    return key.public_numbers()


def rsa_public(cert: x509.Certificate) -> rsa.RSAPublicKey:
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def test_the_ca_is_cn_cluster_ca_v0_o_io_strimzi_as_java_prints_it(ca: certs.KeyPair) -> None:
    """§1.4 CA subject `CN=cluster-ca v0, O=io.strimzi` (InternalCa.nextCaSubject). Java prints a DN last RDN first
    (RFC 2253/4514), so O comes first in the DER sequence for the string to read CN first."""
    assert ca.cert.subject.rfc4514_string() == "CN=cluster-ca v0,O=io.strimzi"
    assert [attribute.oid for attribute in ca.cert.subject] == [NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME]


def test_the_ca_is_self_signed_and_may_only_sign_leaves(ca: certs.KeyPair) -> None:
    assert ca.cert.issuer == ca.cert.subject
    ca.cert.verify_directly_issued_by(ca.cert)
    constraints = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert (constraints.value.ca, constraints.value.path_length) == (True, 0)
    usage = ca.cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert (usage.key_cert_sign, usage.crl_sign, usage.digital_signature) == (True, True, False)


def test_the_ca_key_is_an_unencrypted_pkcs8_rsa_key_matching_its_certificate(ca: certs.KeyPair) -> None:
    """Kafka's PEM keystore reads unencrypted PKCS#8 (`-----BEGIN PRIVATE KEY-----`)."""
    assert ca.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = serialization.load_pem_private_key(ca.key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == certs.KEY_BITS
    assert public_numbers(key.public_key()) == public_numbers(rsa_public(ca.cert))


def test_the_ca_is_valid_from_just_before_now_for_a_year(ca: certs.KeyPair) -> None:
    assert ca.cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert ca.cert.not_valid_after_utc == NOW + timedelta(days=365)


def test_a_broker_certificate_is_signed_by_the_ca(ca: certs.KeyPair, broker: certs.KeyPair) -> None:
    leaf = broker.cert
    assert leaf.issuer == ca.cert.subject
    leaf.verify_directly_issued_by(ca.cert)
    assert leaf.signature_hash_algorithm is not None
    rsa_public(ca.cert).verify(
        leaf.signature, leaf.tbs_certificate_bytes, padding.PKCS1v15(), leaf.signature_hash_algorithm
    )


def test_a_certificate_from_another_ca_does_not_verify(ca: certs.KeyPair) -> None:
    other = certs.new_ca("cluster-ca v0", now=NOW)
    stranger = certs.issue(other, f"{C}-kafka", naming.ORGANIZATION, now=NOW)
    assert stranger.cert.issuer == ca.cert.subject  # same name, different key
    with pytest.raises(InvalidSignature):
        stranger.cert.verify_directly_issued_by(ca.cert)


def test_a_broker_certificate_is_cn_cluster_kafka_o_io_strimzi_as_java_prints_it(broker: certs.KeyPair) -> None:
    """§1.4 broker subject `CN=C-kafka, O=io.strimzi`; Kafka's mTLS principal is then
    `User:CN=C-kafka,O=io.strimzi`, the first of Strimzi's super users (§1.6)."""
    assert broker.cert.subject.rfc4514_string() == "CN=orderflow-kafka-kafka,O=io.strimzi"
    assert f"User:{broker.cert.subject.rfc4514_string()}" == naming.super_users(C)[0]


def test_a_broker_certificate_names_its_sans_exactly(broker: certs.KeyPair) -> None:
    """§1.4: every form of both Services and the pod's own names, nothing else."""
    assert certs.dns_names(broker.cert_pem) == naming.broker_sans(C, N, POD)
    sans = broker.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert not sans.critical
    assert sans.value.get_values_for_type(x509.IPAddress) == []


def test_a_leaf_serves_and_authenticates_and_is_no_ca(broker: certs.KeyPair) -> None:
    """One certificate for the brokers' listeners and for their mTLS to each other."""
    constraints = broker.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is False
    usages = broker.cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_the_chain_file_holds_the_leaf_then_the_ca(ca: certs.KeyPair, broker: certs.KeyPair) -> None:
    """§1.4: `<pod>.crt` is the leaf followed by the cluster CA (InternalCa.generateSignedCert includeCaChain)."""
    chain = x509.load_pem_x509_certificates(broker.cert_pem)
    assert len(chain) == 2
    assert chain[0] == broker.cert
    assert chain[1] == ca.cert
    assert broker.cert_pem.endswith(ca.cert_pem)
    chain[0].verify_directly_issued_by(chain[1])


def test_the_leaf_key_matches_the_leaf_not_the_ca(ca: certs.KeyPair, broker: certs.KeyPair) -> None:
    assert broker.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_numbers(broker.key.public_key()) == public_numbers(rsa_public(broker.cert))
    assert public_numbers(broker.key.public_key()) != public_numbers(rsa_public(ca.cert))


def test_a_leaf_is_valid_from_just_before_now_for_a_year(broker: certs.KeyPair) -> None:
    assert broker.cert.not_valid_before_utc == NOW - timedelta(minutes=5)
    assert broker.cert.not_valid_after_utc == NOW + timedelta(days=365)


def test_every_certificate_has_its_own_serial_number(ca: certs.KeyPair) -> None:
    leaves = [certs.issue(ca, "cluster-operator", naming.ORGANIZATION, now=NOW) for _ in range(3)]
    assert len({leaf.cert.serial_number for leaf in leaves} | {ca.cert.serial_number}) == 4


def test_a_client_certificate_without_names_has_no_san_extension(ca: certs.KeyPair) -> None:
    """The Cluster Operator's identity (`CN=cluster-operator,O=io.strimzi`, a super user) names no host."""
    operator = certs.issue(ca, "cluster-operator", naming.ORGANIZATION, now=NOW)
    assert certs.dns_names(operator.cert_pem) == []
    with pytest.raises(x509.ExtensionNotFound):
        operator.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert f"User:{operator.cert.subject.rfc4514_string()}" == naming.super_users(C)[-1]


def test_the_truststore_opens_with_its_password_and_holds_the_ca_alone(ca: certs.KeyPair) -> None:
    """§1.4 `ca.p12` + `ca.password`: the CA certificate, no key, for Java clients."""
    store, password = certs.truststore(ca)
    opened = pkcs12.load_pkcs12(store, password.encode())
    assert opened.key is None
    assert opened.cert is None
    assert [entry.certificate for entry in opened.additional_certs] == [ca.cert]
    assert opened.additional_certs[0].friendly_name == b"ca.crt"


def test_the_truststore_does_not_open_without_its_password(ca: certs.KeyPair) -> None:
    store, password = certs.truststore(ca)
    with pytest.raises(ValueError, match="password"):
        pkcs12.load_pkcs12(store, b"not-" + password.encode())


def test_each_truststore_gets_a_new_random_alphanumeric_password(ca: certs.KeyPair) -> None:
    passwords = {certs.truststore(ca)[1] for _ in range(5)}
    assert len(passwords) == 5
    assert all(len(p) == 12 and p.isascii() and p.isalnum() for p in passwords)


@pytest.mark.parametrize(
    ("now", "margin", "expected"),
    [
        (NOW, timedelta(days=30), False),
        (NOW + timedelta(days=334), timedelta(days=30), False),
        (NOW + timedelta(days=335), timedelta(days=30), True),  # exactly 30 days left: renew
        (NOW + timedelta(days=336), timedelta(days=30), True),
        (NOW + timedelta(days=365), timedelta(0), True),
        (NOW + timedelta(days=364), timedelta(0), False),
        (NOW + timedelta(days=400), timedelta(days=30), True),  # already expired
    ],
)
def test_a_certificate_expires_within_a_margin_from_the_margin_before_its_end(
    broker: certs.KeyPair, now: datetime, margin: timedelta, expected: bool
) -> None:
    assert certs.expires_within(broker.cert_pem, margin, now=now) is expected


def test_expiry_is_read_from_the_leaf_of_a_chain(ca: certs.KeyPair) -> None:
    """The CA in the chain lives as long here, but a leaf issued later ends later than its CA: the first one counts."""
    later = NOW + timedelta(days=100)
    leaf = certs.issue(ca, "late", naming.ORGANIZATION, now=later)
    assert not certs.expires_within(leaf.cert_pem, timedelta(days=30), now=NOW + timedelta(days=340))
    assert certs.expires_within(ca.cert_pem, timedelta(days=30), now=NOW + timedelta(days=340))


def test_a_new_ca_expires_within_a_day_only_at_its_end() -> None:
    fresh = certs.new_ca("clients-ca v0")
    assert fresh.cert.subject.rfc4514_string() == "CN=clients-ca v0,O=io.strimzi"
    assert not certs.expires_within(fresh.cert_pem, timedelta(days=1))
    assert certs.expires_within(fresh.cert_pem, timedelta(days=366))
