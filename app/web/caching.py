"""Conditional GETs for pages that are the same for every anonymous visitor while their data stands still: a weak
ETag over what the page is drawn from, `Cache-Control: no-cache` (keep it, but ask each time), and a 304 with no
body when the browser's copy is still the page. The tracking page a receipt's QR code opens is one: a family
member refreshing it costs one indexed row and no rendering until a department moves the case.

The tag covers the data, how the page is drawn for this device (长辈版 and its text size) and the release (every
template, static file and catalogue, and the Python that draws them), so a new timeline event, another display or a
new deploy each make a new tag. The tracking page also keeps the page itself under its tag (app/web/shared_pages.py).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

NO_CACHE = "no-cache"


@functools.cache
def release_fingerprint(folders: tuple[Path, ...], code: tuple[Path, ...] = ()) -> str:
    """A digest of every file below the folders and every Python source below the code folders (names and contents;
    not the bytecode Python writes beside them as it runs): read once per process (about 50 ms)."""
    digest = hashlib.sha256()
    for folder, pattern in [*((f, "*") for f in folders), *((f, "*.py") for f in code)]:
        for path in sorted(p for p in folder.rglob(pattern) if p.is_file()):
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def weak_etag(*parts: bytes | str) -> str:
    """W/"…" over the parts (weak: the body may reach the browser gzipped or not, and means the same page)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return f'W/"{digest.hexdigest()[:32]}"'


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether the browser's If-None-Match names this tag (weak comparison, RFC 9110 §13.1.2), or is `*`."""
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False
