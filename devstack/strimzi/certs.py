"""The cluster CA and the certificates it signs, as Strimzi makes them (operator-common `Ca.java`,
`InternalCa.java`): a self-signed CA `CN=cluster-ca v0,O=io.strimzi`, leaf certificates whose chain file holds
the leaf then the CA, PEM keys, and a PKCS#12 truststore with a random password beside the CA certificate.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Strimzi's defaults: CA certificates valid 365 days, renewed 30 days before; leaves likewise.
VALIDITY = timedelta(days=365)
KEY_BITS = 2048


@dataclass(frozen=True)
class KeyPair:
    cert_pem: bytes
    key_pem: bytes

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key


def _name(common_name: str, organization: str) -> x509.Name:
    # Organization first in the sequence: Java prints a subject in reverse (RFC 2253), so Kafka's principal reads
    # "CN=...,O=io.strimzi", the form Strimzi's super.users uses.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    # PKCS#8 without a password: what Kafka's PEM keystore reads (ssl.keystore.type=PEM).
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def new_ca(common_name: str, organization: str = "io.strimzi", now: datetime | None = None) -> KeyPair:
    now = now or datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = _name(common_name, organization)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))


def issue(
    ca: KeyPair, common_name: str, organization: str, dns_names: Sequence[str] = (), now: datetime | None = None
) -> KeyPair:
    """A server/client certificate signed by `ca`; its PEM chain is the leaf followed by the CA."""
    now = now or datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    cert = builder.sign(ca.key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM) + ca.cert_pem, _pem_key(key))


def truststore(ca: KeyPair) -> tuple[bytes, str]:
    """`ca.p12` and `ca.password`: the CA certificate alone in a PKCS#12 store, for Java clients."""
    alphabet = string.ascii_letters + string.digits
    password = "".join(secrets.choice(alphabet) for _ in range(12))
    encryption = serialization.BestAvailableEncryption(password.encode())
    store = pkcs12.serialize_java_truststore([pkcs12.PKCS12Certificate(ca.cert, b"ca.crt")], encryption)
    return store, password


def expires_within(cert_pem: bytes, margin: timedelta, now: datetime | None = None) -> bool:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.not_valid_after_utc - margin <= (now or datetime.now(UTC))


def dns_names(cert_pem: bytes) -> list[str]:
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return extension.value.get_values_for_type(x509.DNSName)
