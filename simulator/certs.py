"""The simulator's local certificate authority, its server certificate and its token-signing key."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
SIGNING_KEY = "signing-key.pem"
SIGNING_CERT = "signing-cert.pem"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CSP Partner Portal (simulator)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days)))


def ensure_certificates(state_dir: Path) -> None:
    """Make the CA, the server certificate (127.0.0.1, localhost, ::1) and the signing key, once."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ca_cert_path, ca_key_path = state_dir / CA_CERT, state_dir / CA_KEY
    if ca_cert_path.exists() and ca_key_path.exists():
        ca_key = _load_key(ca_key_path)
        ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    else:
        ca_key = _new_key()
        name = _name("CSP Partner Portal simulator local CA")
        ca_cert = (_builder(name, name, ca_key.public_key(), days=3650)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
        _write_key(ca_key_path, ca_key)
        ca_cert_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        for stale in (SERVER_CERT, SERVER_KEY):
            (state_dir / stale).unlink(missing_ok=True)

    if not ((state_dir / SERVER_CERT).exists() and (state_dir / SERVER_KEY).exists()):
        key = _new_key()
        san = x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))])
        cert = (_builder(_name("localhost"), ca_cert.subject, key.public_key(), days=825)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(san, critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write_key(state_dir / SERVER_KEY, key)
        (state_dir / SERVER_CERT).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    if not ((state_dir / SIGNING_KEY).exists() and (state_dir / SIGNING_CERT).exists()):
        # Entra publishes each signing key with a self-signed certificate (x5c, x5t); so does the simulator.
        key = _new_key()
        name = _name("accounts.simulator.local")
        cert = _builder(name, name, key.public_key(), days=3650).sign(key, hashes.SHA256())
        _write_key(state_dir / SIGNING_KEY, key)
        (state_dir / SIGNING_CERT).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def load_signing(state_dir: Path) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return (_load_key(state_dir / SIGNING_KEY),
            x509.load_pem_x509_certificate((state_dir / SIGNING_CERT).read_bytes()))
