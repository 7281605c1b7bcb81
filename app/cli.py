"""`python -m app COMMAND`: serve, migrate, seed, import-population, backup, restore ….

Commands print short human lines; a bad setting stops with one line naming the variable.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from app import backup, purge
from app.accounts import service as accounts
from app.accounts.service import CLI_ISSUER, STAFF_ROLES, issue_enrollment_code, staff_problem
from app.appointments import service as appointments
from app.calendar.service import china_time, save_year, today_in_china
from app.calendar.workdays import parse_year_override
from app.cases import consent_flow
from app.cases import service as cases
from app.catalogue import service as catalogue
from app.database import migrate_database, rebuild_statistics
from app.errors import DomainError, FieldErrors
from app.exchange import service as exchange
from app.organisations import service as organisations
from app.people import service as people
from app.people.identity import id_number_problem, mask_id_number, normalize_id_number
from app.people.register import import_register
from app.retention.rules import UNSENT_FORM_DAYS
from app.seed import seed_demo_data
from auth import clients, housekeeping
from auth.audit import audit
from auth.pii import PiiCipher
from config.settings import Settings, SettingsError, load_settings
from db.connect import resolve_database_url, resolve_direct_database_url
from db.dump import DumpError
from db.pool import Tx, create_pool
from hooks import housekeeping as hooks_housekeeping
from hooks import subscriptions as webhooks
from push import housekeeping as push_housekeeping
from sms import housekeeping as sms_housekeeping

# 等保 level 3 keeps audit records at least six months.
AUDIT_RETENTION_DAYS = 184


async def _with_connection(settings: Settings, work: Callable[[Tx], Awaitable[int]]) -> int:
    # The direct connection: migrations hold a session advisory lock, which PgBouncer's transaction
    # pooling would take on one server connection and try to release on another.
    pool = await create_pool(await resolve_direct_database_url(settings), min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            return await work(conn)
    finally:
        await pool.close()


def _migrate(settings: Settings, report: Callable[[str], object] = print) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        applied = await migrate_database(conn, PiiCipher(settings.secret_key))
        report(f"migrations applied: {', '.join(applied)}" if applied else "migrations: already up to date")
        return 0

    return work


def _seed(settings: Settings) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        await migrate_database(conn, PiiCipher(settings.secret_key))
        async with conn.transaction():
            report = await seed_demo_data(conn, PiiCipher(settings.secret_key))
        print(
            f"seeded: {report.regions} regions, {report.departments} departments, {report.items} service items, "
            f"{report.life_events} life events, {report.people} people, {report.certificates} e-certificates, "
            f"{report.organisations} organisations, {report.halls} halls"
        )
        return 0

    return work


def _import_population(settings: Settings, path: Path) -> Callable[[Tx], Awaitable[int]]:
    text = path.read_text(encoding="utf-8-sig")

    async def work(conn: Tx) -> int:
        report = await import_register(conn, PiiCipher(settings.secret_key), text)
        await cases.follow_register_moves(conn)  # a moved applicant's online cases: their new district's hall
        for problem in report.problems:
            print(f"line {problem.line}: {problem.message}", file=sys.stderr)
        print(f"imported: {report.added} added, {report.updated} updated, {len(report.problems)} rows refused")
        return 1 if report.problems and not (report.added or report.updated) else 0

    return work


def _import_organisations(settings: Settings, path: Path) -> Callable[[Tx], Awaitable[int]]:
    text = path.read_text(encoding="utf-8-sig")

    async def work(conn: Tx) -> int:
        report = await organisations.import_register(conn, PiiCipher(settings.secret_key), text)
        for problem in report.problems:
            print(f"line {problem.line}: {problem.message}", file=sys.stderr)
        for warning in report.warnings:
            print(f"line {warning.line} (kept): {warning.message}", file=sys.stderr)
        print(
            f"imported: {report.added} added, {report.updated} updated, {len(report.problems)} rows refused, "
            f"{len(report.warnings)} kept with a warning"
        )
        return 1 if report.problems and not (report.added or report.updated) else 0

    return work


def _local(moment: datetime) -> str:
    return china_time(moment) + " (北京时间)"


def _enroll_code(settings: Settings, raw_number: str) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        if problem := id_number_problem(raw_number):
            print(f"公民身份号码：{problem}", file=sys.stderr)
            return 2
        cipher = PiiCipher(settings.secret_key)
        number = normalize_id_number(raw_number)
        person = await people.person_by_number(conn, cipher, number)
        if person is None:
            print(f"{mask_id_number(number)} is not in the population register", file=sys.stderr)
            return 1
        async with conn.transaction():
            code, expires_at = await issue_enrollment_code(conn, settings.secret_key, None, person.id, CLI_ISSUER)
        print(f"enrollment code for {person.name} ({person.id_number_masked}), valid until {_local(expires_at)}:")
        print(code)
        return 0

    return work


def _staff_add(
    settings: Settings, name: str, role: str, department: str | None, region: str, window_for: list[str]
) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        problem = await staff_problem(
            conn, name=name, role=role, department=department, region=region
        ) or await accounts.window_problem(conn, role=role, departments=window_for)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        async with conn.transaction():
            account_id, code, expires_at = await accounts.add_staff_account(
                conn,
                settings.secret_key,
                name=name,
                role=role,
                department=department,
                region=region,
                window_for=window_for,
            )
        print(f"staff account {account_id} ({name}, {role}) created; register a passkey at /register with this")
        print(f"enrollment code and the same name, before {_local(expires_at)}:")
        print(code)
        return 0

    return work


def _staff_authorise(account_id: int, window_for: list[str], revoke: list[str]) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        account, _ = await accounts.staff_window(conn, account_id)
        if account is None:
            print(f"ACCOUNT_ID: no staff account {account_id}", file=sys.stderr)
            return 2
        role = "clerk" if "clerk" in account.roles else ",".join(account.roles)
        problem = await accounts.window_problem(conn, role=role, departments=window_for + revoke)
        if problem:
            print(problem.replace("--window-for", "--window-for/--revoke"), file=sys.stderr)
            return 2
        async with conn.transaction():
            if window_for:
                await accounts.authorise_window(conn, account_id, window_for)
            if revoke:
                await accounts.revoke_window(conn, account_id, revoke)
        _, held = await accounts.staff_window(conn, account_id)
        print(f"{account.name} (account {account_id}) window authorisations: {','.join(held) or '-'}")
        return 0

    return work


def _hall_capacity(hall_id: str, group: str, places: dict[str, int]) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        try:
            async with conn.transaction():
                hall = await appointments.set_places(conn, hall_id, group, places)
                await audit(
                    conn, None, "hall.capacity", "ok", subject=f"hall:{hall_id}", actor="cli", group=group, **places
                )
        except DomainError as exc:
            said = "；".join(exc.errors.values()) if isinstance(exc, FieldErrors) else exc.message
            print(f"hall-capacity: {said}", file=sys.stderr)
            return 2
        shown = "，".join(f"{'上午' if half == 'am' else '下午'}{count}个" for half, count in places.items())
        print(f"{hall.name} {group}: {shown} per half-day from now on")
        return 0

    return work


def _client_add(
    name: str, department: str | None, hospital: str | None, region: str, scopes: str
) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        if department is not None and not await catalogue.department_exists(conn, department):
            print(f"--department: 没有部门 {department}（见 db/seed/departments.json）", file=sys.stderr)
            return 2
        if region not in await catalogue.region_codes(conn):
            print(f"--region: 没有区划 {region}", file=sys.stderr)
            return 2
        try:
            async with conn.transaction():
                issued = await clients.register(
                    conn,
                    name=name,
                    department_code=department,
                    hospital=hospital,
                    region_code=region,
                    scopes=scopes.split(","),
                )
        except clients.ClientProblem as problem:
            print(problem, file=sys.stderr)
            return 2
        print(f"API client {name} registered. Its secret is shown this once and kept only as a hash:")
        print(f"client_id={issued.client_id}")
        print(f"client_secret={issued.secret}")
        return 0

    return work


async def _client_list(conn: Tx) -> int:
    for client in await clients.all_clients(conn):
        serves = f"department {client.department_code}" if client.department_code else f"hospital {client.hospital}"
        state = f"revoked {_local(client.revoked_at)}" if client.revoked_at else "active"
        secrets_live = await clients.live_secret_count(conn, client.client_id)
        print(
            f"{client.client_id}  {client.name}  {serves}  region {client.region_code}  "
            f"scopes {','.join(client.scopes)}  {state}  {secrets_live} live secret(s)"
        )
    return 0


def _client_revoke(client_id: str) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        try:
            async with conn.transaction():
                await clients.revoke(conn, client_id)
                ended = await webhooks.end_all_of(conn, client_id)
                await audit(conn, None, "api_client.revoke", "ok", subject=f"client:{client_id}", webhooks=ended)
        except clients.ClientProblem as problem:
            print(problem, file=sys.stderr)
            return 1
        print(
            f"{client_id} revoked: no new token, the tokens it holds are refused from now on, {ended} webhook(s) ended"
        )
        return 0

    return work


def _client_rotate(client_id: str, overlap_hours: float) -> Callable[[Tx], Awaitable[int]]:
    async def work(conn: Tx) -> int:
        try:
            async with conn.transaction():
                issued = await clients.rotate(conn, client_id, timedelta(hours=overlap_hours))
                await audit(conn, None, "api_client.rotate", "ok", subject=f"client:{client_id}")
        except clients.ClientProblem as problem:
            print(problem, file=sys.stderr)
            return 1
        print(f"new secret for {client_id}; the previous one stays valid for {overlap_hours:g} hour(s):")
        print(f"client_secret={issued.secret}")
        return 0

    return work


def _load_holidays(path: Path) -> Callable[[Tx], Awaitable[int]]:
    text = path.read_text(encoding="utf-8-sig")

    async def work(conn: Tx) -> int:
        try:
            override = parse_year_override(text)
        except ValueError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 2
        await save_year(conn, override)
        await audit(conn, None, "holidays.load", "ok", subject=str(override.year), actor="cli")
        print(
            f"{override.year}: {len(override.holidays)} holidays and {len(override.workdays)} make-up workdays loaded; "
            "deadlines in that year are now exact"
        )
        return 0

    return work


async def _purge(conn: Tx) -> int:
    """Housekeeping: expired sessions, challenges and failure counts; audit rows past retention; then the personal
    data of cases past their retention and forms never sent (app/purge.py, in batches of their own)."""
    async with conn.transaction():
        removed = await housekeeping.purge(conn, audit_retention_days=AUDIT_RETENTION_DAYS)
        await accounts.forget_old_signup_codes(conn)
        deliveries = await push_housekeeping.purge(conn, retention_days=AUDIT_RETENTION_DAYS)
        # Consent requests past their 3 days, with their tasks moved to 补正 (also done lazily as they are read).
        expired = await consent_flow.sweep_in(conn)
        webhook_deliveries = await hooks_housekeeping.purge(conn, retention_days=AUDIT_RETENTION_DAYS)
        writes = await exchange.forget_old_writes(conn)
        texts = await sms_housekeeping.purge(conn, retention_days=AUDIT_RETENTION_DAYS)
    print(
        f"purged expired sessions and challenges; {removed} audit rows, {deliveries} push and {webhook_deliveries} "
        f"webhook delivery records and {texts} texts older than {AUDIT_RETENTION_DAYS} days; {writes} API answers "
        f"kept for their idempotency keys older than {exchange.IDEMPOTENCY_DAYS} days; "
        f"{expired} consent requests expired"
    )
    report = await purge.purge_past_retention(conn, today_in_china())
    print(_retention_summary(report))
    return 0


def _retention_summary(report: purge.RetentionReport) -> str:
    forms = report.forms
    lines = [
        f"retention: {report.cases} of {report.examined} cases examined were past their retention and purged "
        f"(answers, {report.uploads} files of {_megabytes(report.upload_bytes)}, {report.consultation_files} "
        f"consultation files of {_megabytes(report.consultation_file_bytes)}, the words of "
        f"{report.consultation_words} consultations, {report.notes} step notes, "
        f"{report.consent_requests} consent requests, {report.phones} phone numbers, {report.review_texts} rating "
        "texts; their numbers, items, dates, outcomes and certificates are kept, one audit row each); "
        f"{forms.drafts} drafts and {forms.uploads} files of forms never sent ({_megabytes(forms.upload_bytes)}) "
        f"untouched for {UNSENT_FORM_DAYS} days removed"
    ]
    if report.items_without_retention:
        lines.append(
            "retention: these service items declare no retention, so their completed cases are kept: "
            + ", ".join(report.items_without_retention)
        )
    return "\n".join(lines)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


async def _stats_rebuild(conn: Tx) -> int:
    """Recount the public statistics from the records (after restoring old data, or when a figure is doubted)."""
    started = time.monotonic()
    rows = await rebuild_statistics(conn)
    print(f"statistics recounted: {rows} daily rows in {time.monotonic() - started:.1f} s")
    return 0


def _backup(settings: Settings, path: Path) -> int:
    try:
        asyncio.run(backup.backup(settings, path))
    except (backup.BackupError, DumpError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _restore(settings: Settings, path: Path, *, force: bool, new_vapid_key: bool) -> int:
    try:
        asyncio.run(backup.restore(settings, path, force=force, new_vapid_key=new_vapid_key))
    except (backup.BackupError, DumpError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _compile_templates() -> int:
    from app.main import compile_every_template

    print(f"{compile_every_template()} templates compiled")
    return 0


# What each of granian's workers builds: the app factory, as module:function.
WEB_APP = "app.main:create_web_worker_app"


def _serve(settings: Settings) -> int:
    import multiprocessing

    from granian import Granian
    from granian.constants import Interfaces

    from app.ops.logs import granian_logging
    from app.ops.metrics import use_multiprocess_dir
    from config.logging import configure_process

    # This process's own lines (the migrations, "serving on") in LOG_FORMAT too, so a JSON log is JSON throughout.
    configure_process(settings.log_format, "%(message)s")
    say = logging.getLogger("app.serve").info
    # Start (or find) the database once here, so the workers only connect to it.
    database_url = asyncio.run(resolve_database_url(settings))
    settings = msgspec.structs.replace(settings, database_url=database_url)
    asyncio.run(_with_connection(settings, _migrate(settings, say)))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DATA_DIR", str(settings.data_dir))
    # Every worker writes its metrics into one folder, and /metrics adds them up. prometheus_client picks that
    # mode when it is imported, which this process has done already: the workers are started afresh (spawn)
    # rather than forked from it, so they import it with the folder named.
    use_multiprocess_dir(settings.data_dir, settings.port)
    multiprocessing.set_start_method("spawn", force=True)
    # The templates compiled for this release before any worker starts, in a process that then ends: the workers read
    # them back, which takes a fraction of the memory compiling does (app/main.py: compile_every_template).
    # Its count (what it prints) becomes this process's line, in LOG_FORMAT: a JSON log stays JSON throughout.
    compiled = subprocess.run([sys.executable, "-m", "app", "compile-templates"], check=True, stdout=subprocess.PIPE)
    say(compiled.stdout.decode().strip())
    say(f"serving on {settings.public_url} ({settings.web_workers} workers)")
    Granian(
        WEB_APP,
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.web_workers,
        # Its access log, when turned on, has URLs (?on_behalf_of=…): masked like every other log line.
        log_dictconfig=granian_logging(settings.log_format),
    ).serve()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="常州一网通办")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, then serve the web app with granian")
    commands.add_parser("migrate", help="apply pending database migrations")
    commands.add_parser("compile-templates", help="compile the templates in every language (serve does it first)")
    commands.add_parser("seed", help="load the demo data (idempotent)")
    importer = commands.add_parser("import-population", help="load the population register from CSV")
    importer.add_argument("file", type=Path)
    organisation_importer = commands.add_parser(
        "import-organisations", help="load the legal-person register (法人库) from CSV"
    )
    organisation_importer.add_argument("file", type=Path)
    holidays = commands.add_parser("load-holidays", help="load next year's holidays and make-up workdays")
    holidays.add_argument("file", type=Path, help="lines 'YYYY-MM-DD holiday' or 'YYYY-MM-DD workday'")
    commands.add_parser(
        "purge",
        help="remove expired sessions, audit rows past the 184-day retention, and cases' personal data past theirs",
    )
    commands.add_parser("stats-rebuild", help="recount the public statistics (/stats) from the records")
    saver = commands.add_parser("backup", help="write the whole database (uploads included) to one file")
    saver.add_argument("file", type=Path, help="e.g. /backups/ywtb-2026-11-27.tar (overwritten when it exists)")
    restorer = commands.add_parser("restore", help="restore a backup into an empty database")
    restorer.add_argument("file", type=Path)
    restorer.add_argument("--force", action="store_true", help="drop and re-create a database that is not empty")
    restorer.add_argument(
        "--new-vapid-key",
        action="store_true",
        help="restore although DATA_DIR lacks the backup's VAPID key (every device must subscribe again)",
    )
    code = commands.add_parser("enroll-code", help="issue a one-time enrollment code for a resident")
    code.add_argument("--id-number", required=True)
    staff = commands.add_parser("staff-add", help="create a staff account and print its enrollment code")
    staff.add_argument("--name", required=True)
    staff.add_argument("--role", required=True, choices=sorted(STAFF_ROLES))
    staff.add_argument("--department", help="department code (not for helpers)")
    staff.add_argument("--region", required=True, help="region code of the hall, or the village for helpers")
    staff.add_argument(
        "--window-for",
        default="",
        help="clerks: departments whose 即办件 they may complete on the spot, e.g. hrss,police",
    )
    authorise = commands.add_parser("staff-authorise", help="give or take a clerk's window authorisations (马上办)")
    authorise.add_argument("account_id", type=int)
    authorise.add_argument("--window-for", default="", help="departments to add, e.g. hrss,police")
    authorise.add_argument("--revoke", default="", help="departments to take away")
    capacity = commands.add_parser(
        "hall-capacity", help="set a hall's places per half-day for an appointment group (网上预约)"
    )
    capacity.add_argument("hall", help="the hall's id, e.g. tianning (db/seed/halls.json)")
    capacity.add_argument("group", help="the appointment group, e.g. id_card")
    capacity.add_argument("--am", type=int, help="places each morning")
    capacity.add_argument("--pm", type=int, help="places each afternoon")
    client = commands.add_parser("client-add", help="register a department's or hospital's system as an API client")
    client.add_argument("--name", required=True)
    serves = client.add_mutually_exclusive_group(required=True)
    serves.add_argument("--department", help="department code: the client works on this department's tasks")
    serves.add_argument("--hospital", help="the hospital's name: the client files birth and death records")
    client.add_argument("--region", default="320400", help="region whose residents' tasks it sees (default 常州市)")
    client.add_argument("--scopes", required=True, help=f"comma-separated, of {','.join(clients.SCOPES)}")
    commands.add_parser("client-list", help="list the API clients")
    revoker = commands.add_parser("client-revoke", help="revoke an API client at once")
    revoker.add_argument("client_id")
    rotator = commands.add_parser("client-rotate", help="give an API client a new secret")
    rotator.add_argument("client_id")
    rotator.add_argument(
        "--overlap-hours", type=float, default=24.0, help="how long the current secret keeps working (default 24)"
    )
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
    if args.command == "compile-templates":
        return _compile_templates()
    if args.command == "migrate":
        return asyncio.run(_with_connection(settings, _migrate(settings)))
    if args.command == "seed":
        return asyncio.run(_with_connection(settings, _seed(settings)))
    if args.command == "import-population":
        if not args.file.is_file():
            print(f"no such file: {args.file}", file=sys.stderr)
            return 2
        return asyncio.run(_with_connection(settings, _import_population(settings, args.file)))
    if args.command == "import-organisations":
        if not args.file.is_file():
            print(f"no such file: {args.file}", file=sys.stderr)
            return 2
        return asyncio.run(_with_connection(settings, _import_organisations(settings, args.file)))
    if args.command == "load-holidays":
        if not args.file.is_file():
            print(f"no such file: {args.file}", file=sys.stderr)
            return 2
        return asyncio.run(_with_connection(settings, _load_holidays(args.file)))
    if args.command == "purge":
        return asyncio.run(_with_connection(settings, _purge))
    if args.command == "stats-rebuild":
        return asyncio.run(_with_connection(settings, _stats_rebuild))
    if args.command == "backup":
        if args.file.is_dir():
            print(
                f"FILE: {args.file} is a folder: name the file to write, e.g. {args.file / 'ywtb.tar'}", file=sys.stderr
            )
            return 2
        if not args.file.parent.is_dir():
            print(f"FILE: no such folder: {args.file.parent}", file=sys.stderr)
            return 2
        return _backup(settings, args.file)
    if args.command == "restore":
        if not args.file.is_file():
            print(f"no such file: {args.file}", file=sys.stderr)
            return 2
        return _restore(settings, args.file, force=args.force, new_vapid_key=args.new_vapid_key)
    if args.command == "enroll-code":
        return asyncio.run(_with_connection(settings, _enroll_code(settings, args.id_number)))
    if args.command == "staff-add":
        work = _staff_add(
            settings,
            args.name.strip(),
            args.role,
            args.department,
            args.region,
            accounts.department_list(args.window_for),
        )
        return asyncio.run(_with_connection(settings, work))
    if args.command == "staff-authorise":
        window_for, revoke = accounts.department_list(args.window_for), accounts.department_list(args.revoke)
        if not window_for and not revoke:
            print("staff-authorise: name departments with --window-for and/or --revoke", file=sys.stderr)
            return 2
        return asyncio.run(_with_connection(settings, _staff_authorise(args.account_id, window_for, revoke)))
    if args.command == "hall-capacity":
        places = {half: count for half, count in (("am", args.am), ("pm", args.pm)) if count is not None}
        if not places:
            print("hall-capacity: give --am and/or --pm", file=sys.stderr)
            return 2
        return asyncio.run(_with_connection(settings, _hall_capacity(args.hall, args.group, places)))
    if args.command == "client-add":
        work = _client_add(args.name, args.department, args.hospital, args.region, args.scopes)
        return asyncio.run(_with_connection(settings, work))
    if args.command == "client-list":
        return asyncio.run(_with_connection(settings, _client_list))
    if args.command == "client-revoke":
        return asyncio.run(_with_connection(settings, _client_revoke(args.client_id)))
    if args.command == "client-rotate":
        if not 0 <= args.overlap_hours <= 24 * 30:
            print("--overlap-hours: between 0 and 720", file=sys.stderr)
            return 2
        return asyncio.run(_with_connection(settings, _client_rotate(args.client_id, args.overlap_hours)))
    raise AssertionError(args.command)
