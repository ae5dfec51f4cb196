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

import fcntl
import json
import os
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nornir_peering.secrets import mask, mask_data
from nornir_peering.store.connection import open_state
from nornir_peering.store.runs import Run, RunItem, record

IN_FLIGHT = "interrupted"  # the status of a router whose task was under way
NOT_STARTED = "not started"
_current: Journal | None = None  # the journal of the command running in this process


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
        path = folder / f"{run.started_at:%Y%m%dT%H%M%S}-{run.pid}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        journal = cls(path, fd)
        journal._write({"run": _header(run)})
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
        line = json.dumps(entry, default=str) + "\n"
        with self._lock:
            if self._fd < 0:
                return
            os.write(self._fd, line.encode())
            os.fdatasync(self._fd)


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
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # closed meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            found.append(path)
        except BlockingIOError:
            pass  # its run is still going
        finally:
            os.close(fd)
    return found


def settle(state: Path, wait: float) -> list[int]:
    """Store every orphaned journal on ``state`` in the run log as an interrupted run
    (exit code -1: it never exited), then remove it; the ids of those runs."""
    found = orphans(state)
    if not found:
        return []
    ids = []
    with open_state(state, write=True, wait=wait) as db:
        for path in found:
            header, items = read(path)
            if header:
                ids.append(record(db, _recorded(header, items, path)))
            path.unlink(missing_ok=True)
    return ids


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
