"""`python -m app COMMAND`: serve, migrate, seed, import-population.

Commands print short human lines; a bad setting stops with one line naming the variable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import msgspec

from app.database import resolve_database_url
from app.people.register import import_register
from app.seed import seed_demo_data
from app.settings import Settings, SettingsError, load_settings
from auth.pii import PiiCipher
from db.migrate import apply_migrations
from db.pool import create_pool


async def _with_connection(settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[int]]) -> int:
    pool = await create_pool(await resolve_database_url(settings), min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            return await work(conn)
    finally:
        await pool.close()


async def _migrate(conn: asyncpg.Connection) -> int:
    applied = await apply_migrations(conn)
    print(f"migrations applied: {', '.join(applied)}" if applied else "migrations: already up to date")
    return 0


def _seed(settings: Settings) -> Callable[[asyncpg.Connection], Awaitable[int]]:
    async def work(conn: asyncpg.Connection) -> int:
        await apply_migrations(conn)
        async with conn.transaction():
            report = await seed_demo_data(conn, PiiCipher(settings.secret_key))
        print(
            f"seeded: {report.regions} regions, {report.departments} departments, {report.items} service items, "
            f"{report.life_events} life events, {report.people} people, {report.certificates} e-certificates"
        )
        return 0

    return work


def _import_population(settings: Settings, path: Path) -> Callable[[asyncpg.Connection], Awaitable[int]]:
    text = path.read_text(encoding="utf-8-sig")

    async def work(conn: asyncpg.Connection) -> int:
        report = await import_register(conn, PiiCipher(settings.secret_key), text)
        for problem in report.problems:
            print(f"line {problem.line}: {problem.message}", file=sys.stderr)
        print(
            f"imported: {report.added} added, {report.updated} updated, {len(report.problems)} rows refused"
        )
        return 1 if report.problems and not (report.added or report.updated) else 0

    return work


def _serve(settings: Settings) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    # Start (or find) the database once here, so the workers only connect to it.
    database_url = asyncio.run(resolve_database_url(settings))
    asyncio.run(_with_connection(msgspec.structs.replace(settings, database_url=database_url), _migrate))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DATA_DIR", str(settings.data_dir))
    print(f"serving on {settings.public_url} ({settings.web_workers} workers)", flush=True)
    Granian(
        "app.main:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.web_workers,
    ).serve()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="常州一网通办")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, then serve the web app with granian")
    commands.add_parser("migrate", help="apply pending database migrations")
    commands.add_parser("seed", help="load the demo data (idempotent)")
    importer = commands.add_parser("import-population", help="load the population register from CSV")
    importer.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(settings)
    if args.command == "migrate":
        return asyncio.run(_with_connection(settings, _migrate))
    if args.command == "seed":
        return asyncio.run(_with_connection(settings, _seed(settings)))
    if args.command == "import-population":
        if not args.file.is_file():
            print(f"no such file: {args.file}", file=sys.stderr)
            return 2
        return asyncio.run(_with_connection(settings, _import_population(settings, args.file)))
    raise AssertionError(args.command)
