"""The lab's cryptography: class codes, SPAKE2 pairing, key derivation, MACs, TLS.

Pairing (see docs/lab-console-threat-model.md): seat and console run SPAKE2 over a TLS
connection whose certificate the seat does not know yet. Both derive the same key only
when both used the same class code; the code itself never travels. Each side proves the
key with a MAC over the transcript *and the console certificate's SHA-256 fingerprint*,
so a console that is not the one the seat talks to over TLS (a relay, a fake) fails the
proof. From the key both sides derive the seat's long-term secret (never sent), and the
seat pins the fingerprint. A wrong guess of the code costs an attacker one online attempt,
which the console counts and locks after :data:`MAX_PAIRING_FAILURES`.

Reconnects: the console sends a nonce, the seat answers with an HMAC keyed by its secret
over both nonces, its id and the pinned fingerprint, and the console answers in kind.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import secrets
import ssl
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID
from spake2 import SPAKE2_A, SPAKE2_B  # type: ignore[import-untyped]

# No 0/O, 1/I/L: a code read off a projector is typed right the first time.
CODE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 6
MAX_PAIRING_FAILURES: Final = 20
_ID_CONSOLE: Final = b"ai4artsed-lab console v1"
_ID_SEAT: Final = b"ai4artsed-lab seat v1"


class PairingFailed(Exception):
    """The peer did not prove knowledge of the class code (or of the seat secret)."""


def new_class_code() -> str:
    """A fresh random class code, e.g. ``"K7QF3P"`` (about 30 bits)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """The code as typed (any case, spaces or dashes) in its canonical form."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def display_code(code: str) -> str:
    """The code for the screen: ``"K7Q-F3P"``."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def b64(data: bytes) -> str:
    """Bytes as ASCII for a JSON field."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    """The bytes of a JSON field; a malformed field is a failed proof, not a crash."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise PairingFailed("malformed base64 field") from exc


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def mac(key: bytes, *parts: bytes | str) -> bytes:
    """HMAC-SHA256 over length-prefixed parts (no ambiguity between part boundaries)."""
    h = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
    return h.digest()


def check_mac(expected: bytes, given_b64: str) -> None:
    """Constant-time comparison.

    Raises:
        PairingFailed: the MAC does not match.
    """
    if not hmac.compare_digest(expected, unb64(given_b64)):
        raise PairingFailed("the proof does not match")


class PakeSide:
    """One side of a SPAKE2 exchange keyed by the class code."""

    def __init__(self, code: str, *, console: bool) -> None:
        cls = SPAKE2_A if console else SPAKE2_B
        self._pake = cls(normalize_code(code).encode(), idA=_ID_CONSOLE, idB=_ID_SEAT)
        self.message: bytes = self._pake.start()

    def finish(self, peer_message: bytes) -> bytes:
        """The shared key (equal on both sides only for the same code).

        Raises:
            PairingFailed: the peer's message is malformed.
        """
        try:
            key: bytes = self._pake.finish(peer_message)
        except Exception as exc:  # the pure-Python group raises many types on bad points
            raise PairingFailed("malformed pairing message") from exc
        return key


def pairing_transcript(
    console_msg: bytes, seat_msg: bytes, seat_id: str, class_id: str, nonce: bytes
) -> bytes:
    """What both sides' pairing proofs cover: both SPAKE2 messages, ids and the nonce."""
    parts = [b"ai4artsed-lab pair v1", console_msg, seat_msg, seat_id.encode(), class_id.encode()]
    return mac(b"transcript", *parts, nonce)


def pairing_proof(key: bytes, role: str, transcript: bytes, fingerprint: bytes) -> bytes:
    """The key-confirmation MAC of ``role`` ("console" or "seat"), bound to the TLS cert."""
    return mac(_hkdf(key, b"confirm " + role.encode()), transcript, fingerprint)


def seat_secret(key: bytes, seat_id: str, fingerprint: bytes) -> bytes:
    """The seat's long-term secret, derived on both sides, never sent."""
    return _hkdf(key, b"seat secret " + seat_id.encode() + b" " + fingerprint)


def auth_proof(
    secret: bytes, role: str, seat_id: str, console_nonce: bytes, seat_nonce: bytes, fp: bytes
) -> bytes:
    """The reconnect MAC of ``role`` over both nonces, the seat id and the fingerprint."""
    return mac(secret, "auth " + role, seat_id, console_nonce, seat_nonce, fp)


# ------------------------------------------------------------------------------ TLS


def fingerprint(cert_der: bytes) -> bytes:
    """SHA-256 of a certificate in DER form."""
    return hashlib.sha256(cert_der).digest()


def ensure_certificate(cert_file: Path, key_file: Path) -> None:
    """Create the console's self-signed certificate once (kept across restarts)."""
    if cert_file.is_file() and key_file.is_file():
        return
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AI4ArtsEd lab console")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    from ..fileio import atomic_write_bytes

    atomic_write_bytes(
        key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    atomic_write_bytes(cert_file, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def certificate_fingerprint(cert_file: Path) -> bytes:
    """The fingerprint of a PEM certificate file."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return fingerprint(cert.public_bytes(serialization.Encoding.DER))


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """The console's TLS 1.3 server context (no client certificates: seats prove a MAC)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert_file, key_file)
    return context


def client_context() -> ssl.SSLContext:
    """The seat's TLS 1.3 context: no CA check, the fingerprint is checked by hand.

    Before pairing the fingerprint is unknown and bound into the SPAKE2 proofs; after
    pairing it must equal the pinned one before anything is sent.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
