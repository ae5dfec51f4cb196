"""Background jobs: ``--tasks`` and ``--no-wait`` on the runbook commands, ``worker``,
``jobs`` and ``jobs collect``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from nornir_peering.cli.options import settings_options
from nornir_peering.cli.runlog import Finished, note, recorded
from nornir_peering.jobs.access import Access, redacted
from nornir_peering.jobs.batch import Background, Batch
from nornir_peering.report import out, print_json, print_rows
from nornir_peering.settings import Settings
from nornir_peering.store.runs import RunItem

INSECURE_REDIS = click.option(
    "--insecure-redis",
    is_flag=True,
    help="Reach a Redis on another machine with a redis:// URL and no password (the "
    "queue's traffic in clear, and open to anyone who reaches it).",
)


def tasks_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--tasks``, ``--no-wait`` and ``--insecure-redis``, given to the command as
    ``background`` (None without ``--tasks``); under ``settings_options``."""

    @functools.wraps(func)
    def command(
        *args: Any,
        settings: Settings,
        tasks: bool,
        no_wait: bool,
        insecure_redis: bool,
        **kwargs: Any,
    ) -> Any:
        if (no_wait or insecure_redis) and not tasks:
            raise click.UsageError("--no-wait and --insecure-redis go with --tasks")
        peering = settings.peering
        background = None
        if tasks:
            access = Access.of(peering, insecure=insecure_redis)
            background = Background(
                access, peering.job_timeout, not no_wait, peering.state, peering.lock_wait
            )
        return func(*args, settings=settings, background=background, **kwargs)

    command = INSECURE_REDIS(command)
    command = click.option(
        "--no-wait",
        is_flag=True,
        help="With --tasks: print the job ids and return; 'jobs collect' stores the results.",
    )(command)
    return click.option(
        "--tasks",
        is_flag=True,
        help="Run as background jobs on Redis Queue (redis_url); 'nornir-peering worker' "
        "runs them. The command waits for them and stores their results.",
    )(command)


def enqueued(batch: Batch, as_json: bool) -> Finished:
    """What a ``--no-wait`` run prints and records: its batch and job ids."""
    if as_json:
        print_json({"batch": batch.id, "kind": batch.kind, "jobs": batch.items})
    else:
        print_rows(("item", "job"), sorted(batch.items.items()), title=f"batch {batch.id}")
        out().print(
            f"enqueued {len(batch.items)} jobs as batch {batch.id}; "
            f"'nornir-peering jobs collect {batch.id}' stores their results once they end",
            highlight=False,
        )
    return Finished(
        f"enqueued {len(batch.items)} jobs as batch {batch.id}",
        [RunItem(item, "enqueued", note=f"job {job}") for item, job in sorted(batch.items.items())],
    )


@click.command()
@settings_options
@INSECURE_REDIS
@click.option("-n", "--workers", type=click.IntRange(1, 64), default=1, help="Workers to run (1).")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option(
    "--heartbeat",
    type=click.IntRange(min=1),
    default=30,
    metavar="SECONDS",
    help="How often a busy worker tells Redis it is alive (30); a job whose worker "
    "stopped for this long plus a minute is reported failed.",
)
def worker(
    settings: Settings, insecure_redis: bool, workers: int, burst: bool, heartbeat: int
) -> None:
    """Run RQ workers for the --tasks jobs, on this machine or on any other that
    reaches Redis (redis_url, NORNIR_PEERING_REDIS_URL) and the routers, the IRR server
    or PeeringDB. Workers never open the state file, and run only nornir-peering's own
    jobs, sealed with the job key (job_key) they share with the enqueuers."""
    from nornir_peering.jobs.worker import run_workers  # only workers load RQ's worker

    access = Access.of(settings.peering, insecure=insecure_redis)
    out().print(f"{workers} worker(s) on {redacted(access.redis_url)}", highlight=False)
    run_workers(access, workers=workers, burst=burst, heartbeat=heartbeat)


@click.group(invoke_without_command=True)
@settings_options
@INSECURE_REDIS
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs(ctx: click.Context, settings: Settings, insecure_redis: bool, as_json: bool) -> None:
    """The background jobs of the last seven days, batch by batch: queued, started,
    finished or failed, and whether their results were stored (collected)."""
    ctx.obj = (settings, insecure_redis)
    if ctx.invoked_subcommand:
        return
    from nornir_peering.jobs.queue import JobQueue  # rq only for jobs

    access = Access.of(settings.peering, insecure=insecure_redis)
    queued = JobQueue(access.connect(), access.sealer())
    rows = []
    for batch in queued.recent():
        for item, (status, ended_at) in queued.listed(batch).items():
            rows.append(
                {
                    "batch": batch.id,
                    "kind": batch.kind,
                    "item": item,
                    "job": batch.items[item],
                    "status": status,
                    "enqueued_at": batch.enqueued_at,
                    "ended_at": ended_at,
                    "collected": batch.collected,
                }
            )
    if as_json:
        print_json(rows)
        return
    print_rows(
        ("batch", "kind", "item", "status", "job", "enqueued", "ended", "collected"),
        [
            (
                r["batch"],
                r["kind"],
                r["item"],
                r["status"],
                r["job"],
                r["enqueued_at"],
                r["ended_at"] or "",
                "yes" if r["collected"] else "no",
            )
            for r in rows
        ],
        title="jobs",
    )


@jobs.command()
@click.argument("batch_id", required=False, metavar="[BATCH]")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def collect(obj: tuple[Settings, bool], batch_id: str | None, as_json: bool) -> None:
    """Store the results of a batch enqueued with --no-wait (of every ended batch not
    collected yet, without BATCH), as the waiting command would have; recorded in the
    run log. A result not sealed with the job key fails its job. Exit code 1 if a job,
    router or list failed."""
    settings, insecure = obj
    access = Access.of(settings.peering, insecure=insecure)
    _collect(settings=settings, access=access, batch_id=batch_id, as_json=as_json)


@jobs.command("key")
def key() -> None:
    """Print a new random job key (32 bytes, base64): put it in a file readable by the
    user that runs nornir-peering, on every enqueuing and worker machine, and name the
    file in config.yaml (job_key: {file: PATH})."""
    from nornir_peering.jobs.seal import new_key

    click.echo(new_key())


@recorded
def _collect(settings: Settings, access: Access, batch_id: str | None, as_json: bool) -> None:
    from nornir_peering.cli.configure import configure_finished
    from nornir_peering.cli.peeringdb import sync_finished
    from nornir_peering.cli.poll import poll_finished
    from nornir_peering.cli.prefixes import grab_finished
    from nornir_peering.runbooks.background import collect as collect_batches

    collected = collect_batches(settings, access, batch_id)
    finishers: dict[str, Callable[[Any, bool], Finished]] = {
        "configure": configure_finished,
        "poll": poll_finished,
        "prefixes": grab_finished,
        "peeringdb": sync_finished,
    }
    summaries: list[str] = []
    items: list[RunItem] = []
    code = 0
    for batch, report in collected.reports:
        if not as_json:
            out().print(f"batch {batch.id} ({batch.kind}):", highlight=False)
        done = finishers[batch.kind](report, as_json)
        summaries.append(f"batch {batch.id} ({batch.kind}): {done.summary}")
        items.extend(
            RunItem(f"{batch.id} {i.item}", i.status, i.committed, i.diff, i.note)
            for i in done.items
        )
        code = max(code, done.exit_code)
    for batch in collected.pending:
        out().print(f"batch {batch.id} ({batch.kind}): not ended yet", highlight=False)
    note("; ".join(summaries) or "nothing to collect", items)
    if code:
        raise click.exceptions.Exit(code)
