"""Explicit parameter kinds for route signatures (Litestar 3 drops inferred ones)."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import asyncpg
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, QueryParameter

from auth.pii import PiiCipher
from config.settings import Settings

Db: TypeAlias = NamedDependency[asyncpg.Pool]
AppSettings: TypeAlias = NamedDependency[Settings]


Cipher: TypeAlias = NamedDependency[PiiCipher]
SearchQuery: TypeAlias = Annotated[str, QueryParameter(max_length=50)]
# The person a helper or a clerk acts for, as our pages send it: in a header, so the full ID number never sits in
# a URL (access logs, proxies, browser history). `?on_behalf_of=` is still accepted from other systems.
OnBehalfOfHeader: TypeAlias = Annotated[str | None, HeaderParameter(name="x-on-behalf-of", max_length=30)]


def behalf_of(query: str | None, header: str | None) -> str | None:
    """The person named in the query or, as our own pages send it, the header."""
    return query or header or None


# The organisation a resident acts for (法人办事), as our pages send it; `?on_behalf_of_org=` is accepted too.
OnBehalfOfOrgHeader: TypeAlias = Annotated[str | None, HeaderParameter(name="x-on-behalf-of-org", max_length=30)]
