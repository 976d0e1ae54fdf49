"""Local PKI for the control plane, made with the ``openssl`` command line.

The API server has no insecure port, so everything talks TLS: one CA; a serving certificate
for 127.0.0.1 that names every address a client may dial (including the in-cluster service
names); a client certificate for an admin in ``system:masters`` used by the controllers,
kwok and the tests; and an RSA key pair that signs and verifies service-account tokens.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVING_SANS = (
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP:127.0.0.1",
    "IP:10.96.0.1",
)


@dataclass(frozen=True)
class Pki:
    """Paths of the generated certificates and keys."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def serving_cert(self) -> Path:
        return self.directory / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.directory / "apiserver.key"

    @property
    def admin_cert(self) -> Path:
        return self.directory / "admin.crt"

    @property
    def admin_key(self) -> Path:
        return self.directory / "admin.key"

    @property
    def service_account_key(self) -> Path:
        return self.directory / "sa.key"

    @property
    def service_account_pub(self) -> Path:
        return self.directory / "sa.pub"


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _signed_cert(pki: Pki, key: Path, cert: Path, subject: str, extensions: str) -> None:
    """Make an RSA key and a certificate signed by the CA with the given v3 extensions."""
    csr = cert.with_suffix(".csr")
    ext = cert.with_suffix(".ext")
    ext.write_text(extensions)
    _openssl("genrsa", "-out", str(key), "2048")
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(pki.ca_cert), "-CAkey", str(pki.ca_key),
        "-CAcreateserial", "-days", "3650", "-sha256", "-extfile", str(ext), "-out", str(cert),
    )  # fmt: skip
    csr.unlink()
    ext.unlink()


def ensure_pki(directory: Path) -> Pki:
    """Create the CA, serving, admin and service-account keys once; reuse them afterwards."""
    pki = Pki(directory)
    if pki.service_account_pub.exists():
        return pki
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("genrsa", "-out", str(pki.ca_key), "2048")
    _openssl(
        "req", "-x509", "-new", "-key", str(pki.ca_key), "-subj", "/CN=foresight-local-ca",
        "-days", "3650", "-sha256", "-out", str(pki.ca_cert),
    )  # fmt: skip
    _signed_cert(
        pki,
        pki.serving_key,
        pki.serving_cert,
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={','.join(SERVING_SANS)}\n",
    )
    # The admin identity: O=system:masters is bound to cluster-admin by the default RBAC policy.
    _signed_cert(
        pki,
        pki.admin_key,
        pki.admin_cert,
        "/O=system:masters/CN=foresight-admin",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    )
    _openssl("genrsa", "-out", str(pki.service_account_key), "2048")
    _openssl("rsa", "-in", str(pki.service_account_key), "-pubout", "-out", str(pki.service_account_pub))
    return pki
