"""A run's record as it goes: one JSON-lines file per running command, beside the state
file (``<state folder>/journal/``), the run's first line, then a line as each router's
task starts and ends.

The run log (:mod:`.runs`) is written once a run ends; the journal is what is left of a
run that never got there (killed by SIGKILL, its machine stopped): its process holds an
``flock`` on its journal while it runs, so a journal nobody holds is an orphan, and the
next command that records a run, or ``runs``, stores it in the run log as interrupted,
with every router it had finished and those it was working on. Diffs and notes are
written masked: like the state file, the journal never holds a secret.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from nornir_peering.secrets import mask, mask_data
from nornir_peering.store.connection import open_state
from nornir_peering.store.runs import Run, RunItem, record

IN_FLIGHT = "interrupted"  # the status of a router whose task was under way
NOT_STARTED = "not started"
_current: Journal | None = None  # the journal of the command running in this process

log = logging.getLogger(__name__)


class Journal:
    """The journal of one run, held (``flock``) until :meth:`close`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._lock = threading.Lock()  # routers end in the runner's threads

    @classmethod
    def start(cls, state: Path, run: Run) -> Journal:
        """A journal for ``run`` (its command, options, start, pid and user)."""
        folder = journal_folder(state)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{run.started_at:%Y%m%dT%H%M%S}-{run.pid}-{uuid.uuid4().hex[:8]}"
        # made under another name, held, its first line written, and only then put where
        # others look for orphans: none ever finds it unheld
        making = folder / f".{name}.making"
        fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        journal = cls(folder / f"{name}.jsonl", fd)
        journal._write({"run": _header(run)})
        os.rename(making, journal.path)
        return journal

    def planned(self, items: list[str]) -> None:
        """The task is to run on ``items`` (those never started: :data:`NOT_STARTED`)."""
        self._write({"planned": items})

    def started(self, item: str) -> None:
        """``item``'s task has started."""
        self._write({"started": item})

    def ended(self, item: RunItem) -> None:
        """``item``'s task has ended as it says."""
        self._write({"ended": _masked(item)})

    def stopping(self, by: str) -> None:
        """The run was told to stop (by Ctrl-C, SIGTERM): it waits for the routers under
        way."""
        self._write({"stopping": by})

    def finished(self, run: Run) -> None:
        """The run has ended as ``run`` says (its exit code, summary and items): what the
        run log gets, from the journal should writing it fail."""
        header = _header(run)
        header["items"] = [_masked(item) for item in run.items]
        self._write({"finished": header})

    def items(self) -> list[RunItem]:
        """What the run did so far: the items that ended, then those under way
        (:data:`IN_FLIGHT`)."""
        return read(self.path)[1]

    def close(self) -> None:
        """The run is in the run log: the journal goes (what threads left behind would
        still write is dropped)."""
        with self._lock:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = -1

    def _write(self, entry: dict[str, Any]) -> None:
        """Append one line. A journal that cannot be written (a full disk) is given up,
        once said in the log: the run goes on, and records itself at its end as usual."""
        data = (json.dumps(entry, default=str) + "\n").encode()
        with self._lock:
            if self._fd < 0:
                return
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
                os.fdatasync(self._fd)
            except OSError as exc:
                log.warning("the run's journal %s is given up: %s", self.path, exc)
                os.close(self._fd)
                self._fd = -1


def _header(run: Run) -> dict[str, Any]:
    header = asdict(run)
    header.pop("items")
    header["options"] = mask_data(header["options"])
    header["summary"] = mask(run.summary)
    return header


def _masked(item: RunItem) -> dict[str, Any]:
    return {**asdict(item), "diff": mask(item.diff), "note": mask(item.note)}


def journal_folder(state: Path) -> Path:
    """Where the journals of runs on ``state`` are."""
    return state.parent / "journal"


def read(path: Path) -> tuple[dict[str, Any], list[RunItem]]:
    """A journal's run (its first line, or its last if it ended) and its items: those
    that ended, then those started and not ended (:data:`IN_FLIGHT`), then those never
    started (:data:`NOT_STARTED`). A line cut short by the kill is skipped."""
    header: dict[str, Any] = {}
    ended: dict[str, RunItem] = {}
    started: list[str] = []
    planned: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "finished" in entry:
            header = entry["finished"]
            return header, [RunItem(**item) for item in header.pop("items")]
        if "run" in entry:
            header = entry["run"]
        elif "planned" in entry:
            planned.extend(str(name) for name in entry["planned"])
        elif "started" in entry:
            started.append(str(entry["started"]))
        elif "ended" in entry:
            item = RunItem(**entry["ended"])
            ended[item.item] = item
    under_way = [
        RunItem(
            name,
            IN_FLIGHT,
            note="the run ended while working on this router: what it did is unknown "
            "(the next run's diff shows what is still to do)",
        )
        for name in dict.fromkeys(started)
        if name not in ended
    ]
    never = [
        RunItem(name, NOT_STARTED, note="not started: the run ended first")
        for name in dict.fromkeys(planned)
        if name not in ended and name not in started
    ]
    return header, [*ended.values(), *under_way, *never]


def set_current(journal: Journal | None) -> None:
    """The journal of the command now running in this process (None: no more)."""
    global _current
    _current = journal


def current() -> Journal | None:
    """The journal of the command running in this process, if it keeps one."""
    return _current


def orphans(state: Path) -> list[Path]:
    """The journals whose run ended without closing them (nobody holds them)."""
    folder = journal_folder(state)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.jsonl")):
        with _held(path) as held:
            if held:
                found.append(path)
    for making in folder.glob(".*.making"):  # a command killed as it started its journal
        with _held(making) as held:
            if held:
                making.unlink(missing_ok=True)
    return found


@contextlib.contextmanager
def _held(path: Path) -> Iterator[bool]:
    """Hold ``path``'s lock, if nobody does and it is still there: whether it is held."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # recorded and removed meanwhile
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its run still goes, or another command records it
            yield False
            return
        yield os.fstat(fd).st_nlink > 0  # not removed between the open and the lock
    finally:
        os.close(fd)


def settle(state: Path, wait: float) -> list[int]:
    """Store every orphaned journal on ``state`` in the run log (as an interrupted run,
    exit code -1, if it never ended), then remove it; the ids of those runs. Each journal
    is held from when it is found until it is removed, so that two commands starting
    together record it once; one the run log has already (its run was killed after
    recording itself) is only removed; one that does not read is set aside
    (``.bad``)."""
    ids = []
    with contextlib.ExitStack() as holding:
        found = [path for path in orphans(state) if holding.enter_context(_held(path))]
        if not found:
            return []
        with open_state(state, write=True, wait=wait) as db:
            for path in found:
                try:
                    header, items = read(path)
                    run = _recorded(header, items, path)
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning("journal %s does not read, set aside: %s", path, exc)
                    path.rename(path.with_suffix(".bad"))
                    continue
                if not _in_log(db, run):
                    ids.append(record(db, run))
                path.unlink(missing_ok=True)
    return ids


def _in_log(db: duckdb.DuckDBPyConnection, run: Run) -> bool:
    """Whether the run log has ``run`` already (same command, pid and start)."""
    [(count,)] = db.execute(
        "SELECT count(*) FROM runs WHERE command = ? AND pid = ? AND started_at = ?",
        [run.command, run.pid, run.started_at],
    ).fetchall()
    return bool(count)


def _recorded(header: dict[str, Any], items: list[RunItem], path: Path) -> Run:
    """The run a journal tells of, as the run log keeps it: as it ended, or, if it never
    did, interrupted, ended when its journal was last written."""
    started = datetime.fromisoformat(str(header["started_at"]))
    if header.get("summary"):  # it ended; writing the run log did not
        finished = datetime.fromisoformat(str(header["finished_at"]))
        return Run(
            command=str(header["command"]),
            options=dict(header["options"]),
            started_at=started,
            finished_at=finished,
            exit_code=int(header["exit_code"]),
            summary=str(header["summary"]),
            pid=int(header["pid"]),
            user_name=str(header["user_name"]),
            items=items,
        )
    ended = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).replace(tzinfo=None)
    done = sum(1 for i in items if i.status not in (IN_FLIGHT, NOT_STARTED))
    under_way = sum(1 for i in items if i.status == IN_FLIGHT)
    return Run(
        command=str(header["command"]),
        options=dict(header["options"]),
        started_at=started,
        finished_at=max(ended, started),
        exit_code=-1,
        summary=f"interrupted: it ended without closing its record (killed, or its machine "
        f"stopped); {done} done, {under_way} under way",
        pid=int(header["pid"]),
        user_name=str(header["user_name"]),
        items=items,
    )
