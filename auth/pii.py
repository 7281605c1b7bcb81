"""Personal data at rest: the ID number encrypted with AES-GCM and found again by a keyed hash; a case's subject
found by a keyed hash of its own (一事不二办).

Every key is derived from SECRET_KEY with HKDF under its own label, so one secret in the environment serves each
purpose without reusing a key for two jobs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


def derive_key(secret_key: str, label: bytes) -> bytes:
    """A 256-bit key for one purpose (`label`), derived from SECRET_KEY: one secret, never one key for two jobs."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret_key.encode())


class PiiCipher:
    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(derive_key(secret_key, b"ywtb/id-number/encryption/v1"))
        self._lookup_key = derive_key(secret_key, b"ywtb/id-number/lookup/v1")
        self._subject_key = derive_key(secret_key, b"ywtb/case-subject/lookup/v1")

    def encrypt(self, plaintext: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), b"id_number")

    def decrypt(self, blob: bytes) -> str:
        return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], b"id_number").decode()

    def lookup_hash(self, plaintext: str) -> bytes:
        return hmac.new(self._lookup_key, plaintext.encode(), hashlib.sha256).digest()

    def subject_key(self, normalised_subject: str) -> bytes:
        """The searchable key of what a case is about (一事不二办: a birth's mother, a deceased person, a company's name
        in its district), under a key of its own: equal subjects give equal keys, and nothing can be read back."""
        return hmac.new(self._subject_key, normalised_subject.encode(), hashlib.sha256).digest()

    def encrypt_document(self, document: dict[str, Any]) -> bytes:
        """A whole JSON document (a form's answers) sealed as one blob."""
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        return nonce + self._aead.encrypt(nonce, plaintext, b"document")

    def decrypt_document(self, blob: bytes) -> dict[str, Any]:
        return json.loads(self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], b"document"))
