"""How the worker runs a pgqueuer job that raised something unexpected (the database gone for a moment, a bug): tried
again with backoff, and after TRIES such failures kept as `failed` in the queue table (on_failure="hold") for someone
to look at, never run again. The outcomes each job expects (a push service's, a gateway's, a receiver's answer) are
handled by the job itself (push.delivery, sms.delivery, hooks.delivery), not here.

A job given up on has not ended for whoever waits on its outcome: a notice that must arrive (push.arrival) would wait
for its push or its text for ever. So the job's unit is told (`gave_up`), and ends what the job was doing as failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta

from pgqueuer import DatabaseRetryEntrypointExecutor, Job
from pgqueuer.domain.errors import retry_request
from pgqueuer.executors import EntrypointExecutorParameters
from pgqueuer.models import Context

# Tries at a job that keeps raising something unexpected, 2 s apart at first, then doubling up to 5 minutes: about
# 18 minutes in all, enough to ride out a database restart or fail-over.
TRIES = 10

GaveUp = Callable[[Job], Awaitable[None]]
# The error a push or a text given up on ends with: what the clerk who is to phone reads (push.arrival.failure_of).
GIVEN_UP = "发送程序多次出错，已停止重试"


@dataclasses.dataclass
class RetryingExecutor(DatabaseRetryEntrypointExecutor):
    gave_up: GaveUp | None = None

    async def execute(self, job: Job, context: Context) -> None:
        try:
            await super().execute(job, context)
        except Exception as error:
            # Not turned into a retry by the executor: its tries are spent and pgqueuer gives the job up.
            if retry_request(error) is None and self.gave_up is not None:
                await self.gave_up(job)
            raise


def retrying(gave_up: GaveUp | None = None) -> Callable[[EntrypointExecutorParameters], RetryingExecutor]:
    """The executor factory of an entrypoint (`executor_factory=`); `gave_up`: told of a job given up on."""

    def executor(parameters: EntrypointExecutorParameters) -> RetryingExecutor:
        return RetryingExecutor(
            parameters=parameters,
            max_attempts=TRIES,
            initial_delay=timedelta(seconds=2),
            max_delay=timedelta(minutes=5),
            gave_up=gave_up,
        )

    return executor
