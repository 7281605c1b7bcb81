"""Explicit parameter kinds for route signatures (Litestar 3 drops inferred ones)."""

from __future__ import annotations

from typing import Annotated, TypeAlias

import asyncpg
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from app.settings import Settings
from auth.pii import PiiCipher

Db: TypeAlias = NamedDependency[asyncpg.Pool]
AppSettings: TypeAlias = NamedDependency[Settings]
Cipher: TypeAlias = NamedDependency[PiiCipher]
SearchQuery: TypeAlias = Annotated[str, QueryParameter(max_length=50)]
