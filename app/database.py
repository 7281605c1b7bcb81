"""Which PostgreSQL the app talks to: DATABASE_URL, or the embedded server under DATA_DIR/pg."""

from __future__ import annotations

from app.settings import Settings
from db.embedded import embedded_database_url


async def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return await embedded_database_url(settings.data_dir)
