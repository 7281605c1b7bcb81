"""The VAPID key pair (RFC 8292) that signs every push: generated on first start, kept in DATA_DIR.

The private key lives only in `DATA_DIR/vapid_private_key.pem` (mode 0600): it is never served, never
logged, and this module's objects do not print it. The public key is what `GET /api/v1/push/key`
hands to browsers as `applicationServerKey`.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid

KEY_FILE = "vapid_private_key.pem"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class VapidKeys:
    """The server's VAPID identity; `signer` is what pywebpush signs with."""

    def __init__(self, signer: Vapid) -> None:
        self.signer = signer
        assert signer.public_key is not None  # loaded from a PEM or generated: never without a key
        point = signer.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        # base64url of the uncompressed P-256 point (65 bytes, 0x04 …), as PushManager.subscribe wants it.
        self.public_key = _b64url(point)

    def __repr__(self) -> str:
        return f"VapidKeys(public_key={self.public_key!r})"


def _write_new_key(path: Path) -> None:
    """Create the key file atomically: written beside it, then linked into place only if still absent,
    so two processes starting at once (web workers, the push worker) end up with one key."""
    signer = Vapid()
    signer.generate_keys()
    pem = signer.private_pem()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: keep theirs
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load(data_dir: Path) -> VapidKeys | None:
    """The key pair kept in DATA_DIR, or None while there is none (backup and restore only look)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        return None
    return VapidKeys(Vapid.from_pem(path.read_bytes()))


def load_or_create(data_dir: Path) -> VapidKeys:
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _write_new_key(path)
    keys = load(data_dir)
    assert keys is not None
    return keys
