"""pgqueuer's INSERT of jobs, as text: the stores (push, sms, hooks) run it on the caller's connection so that the jobs
commit or roll back with what they carry out. pgqueuer's Queries.enqueue is not used there because it passes job
headers as JSON text, which our connections' jsonb codec (db/pool.py) would encode a second time.

It is the text of pgqueuer's `QueryQueueBuilder().build_enqueue_query("raise")` (pgqueuer 1.6.0), written out so that
a web worker, which enqueues but never runs a job, does not import pgqueuer (about 10 MB per worker).
tests/test_web_worker_imports.py checks it is still pgqueuer's after an upgrade.

`enqueue_jobs_after` makes of it a statement that writes a row and queues its job at once (a text and its sending).
"""

import re

ENQUEUE_JOBS = """
WITH input AS MATERIALIZED (
    -- MATERIALIZED: nextval is volatile and `input` is referenced twice,
    -- so pin single evaluation -- each input row gets exactly one id.
    -- The scalar sub-select resolves the sequence name once (InitPlan)
    -- rather than a catalog lookup per row.
    -- Skipped ON CONFLICT rows leave harmless id gaps; a pre-count CTE
    -- could avoid them but isn't worth the extra pass.
    SELECT
        nextval(
            (SELECT pg_get_serial_sequence('pgqueuer', 'id'))
        ) AS id,
        priority, entrypoint, payload, execute_after, dedupe_key, headers, ord
    FROM UNNEST(
        $1::int[], $2::text[], $3::bytea[],
        $4::interval[], $5::text[], $6::jsonb[]
    ) WITH ORDINALITY AS
        t(priority, entrypoint, payload, execute_after, dedupe_key, headers, ord)
),
inserted AS (
    INSERT INTO pgqueuer AS job
    (id, priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
    SELECT id, priority, entrypoint, payload, execute_after + NOW(),
        dedupe_key, headers, 'queued'
    FROM input

    RETURNING id, entrypoint, priority, dedupe_key
),
logged AS (
    INSERT INTO pgqueuer_log
    (job_id, status, entrypoint, priority)
    SELECT id, 'queued', entrypoint, priority
    FROM inserted
    -- A job whose priority was updated was queued before; log new jobs only.
    WHERE id IN (SELECT id FROM input)
)
-- Join maps each surviving id back to its input ordinal. Rows skipped by
-- ON CONFLICT are absent from `inserted`, so their positions never appear.
SELECT i.ord AS ord, ins.id AS id
FROM inserted ins
JOIN input i ON i.id = ins.id
ORDER BY i.ord

"""


# The jobs' arrays in ENQUEUE_JOBS, and the names of their columns (`t`, with `ord`: a job's place in the result).
_JOBS_FROM_ARRAYS = re.compile(r"FROM UNNEST\([^)]*\) WITH ORDINALITY AS\s+t\((?P<columns>[^)]*)\)")


def enqueue_jobs_after(rows: str, jobs: str) -> str:
    """ENQUEUE_JOBS with its jobs selected by `jobs` (priority, entrypoint, payload, execute_after, dedupe_key, headers,
    ord) from the rows the CTE `rows` (`name AS (INSERT … RETURNING …)`) writes, instead of from arrays: the row and
    its job in one statement, committed or rolled back together. Its result, as ENQUEUE_JOBS': (ord, id) of each job
    queued (none when `rows` wrote none)."""
    query, found = _JOBS_FROM_ARRAYS.subn(lambda m: f"FROM ({jobs}) AS t({m['columns']})", ENQUEUE_JOBS)
    if found != 1 or not query.lstrip().startswith("WITH input AS"):
        raise RuntimeError("pgqueuer's enqueue statement changed: db/enqueue.py no longer composes it")
    return query.replace("WITH input AS", f"WITH {rows},\ninput AS", 1)
