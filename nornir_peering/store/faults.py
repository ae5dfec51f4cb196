"""What went wrong with the state file, in one line that says what to do.

DuckDB reports a damaged file and a full disk as errors among others (``IO Error: Could
not write file ...: No space left on device``, ``Corrupt database file: computed checksum
... in block at location 3944448``); :func:`state_error` turns those into
:class:`~nornir_peering.errors.StateDamaged` and :class:`~nornir_peering.errors.DiskFull`,
and leaves any other error as it is (a bug shows its traceback).

For example::

    state_error(Path("state/peering.duckdb"), exc)
    # StateDamaged("the state file state/peering.duckdb is damaged (a block at byte
    # 3944448 fails its checksum): run 'nornir-peering state check', ...")
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import duckdb

from nornir_peering.errors import DiskFull, PeeringError, StateDamaged

# the C library's words for a write that found no room, as DuckDB quotes them
_NO_ROOM = {code: os.strerror(code) for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)}
_NOT_DUCKDB = "not a valid DuckDB database file"
NOT_DUCKDB = "not a DuckDB database"
_CHECKSUM = re.compile(r"Corrupt database file: .*? in block at location (\d+)")
_SHORT = re.compile(r"Could not read enough bytes from file .*? from location (\d+)")
# DuckDB's words for a commit that reached the log, whose checkpoint then failed
_DURABLE = "COMMIT succeeded and is durable"
WHAT_TO_DO = "run 'nornir-peering state check', then 'nornir-peering state rebuild'"


def no_room(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that found the disk full (or a file size limit), as an
    OS error or quoted by DuckDB or a download."""
    if isinstance(exc, OSError) and exc.errno in _NO_ROOM:
        return True
    return any(text in str(exc) for text in _NO_ROOM.values())


def damage(exc: BaseException) -> str | None:
    """What is damaged, if ``exc`` is DuckDB finding a damaged file: ``a block at byte N
    fails its checksum``, ``cut short: nothing at byte N``, ``not a DuckDB database``."""
    if not isinstance(exc, duckdb.Error):
        return None
    text = str(exc)
    if found := _CHECKSUM.search(text):
        return f"a block at byte {found.group(1)} fails its checksum"
    if found := _SHORT.search(text):
        return f"cut short: nothing at byte {found.group(1)}"
    if _NOT_DUCKDB in text:
        return NOT_DUCKDB
    return None


def state_error(path: Path, exc: BaseException, *, logged: bool = False) -> PeeringError | None:
    """The one-line error for ``exc``, met reading or writing the state file ``path``;
    None if it is neither damage nor a full disk. ``logged``: the write had committed (to
    the file's write-ahead log) and failed merging it into the file, a checkpoint."""
    if no_room(exc):
        if logged or _DURABLE in str(exc):
            return DiskFull(
                f"no space left on the disk of {path}: committed changes wait in its "
                f"write-ahead log ({path.name}.wal), not merged into the file; free space "
                "there, then run 'nornir-peering state check'"
            )
        return DiskFull(
            f"no space left on the disk of {path}: nothing was written, the state file is "
            "as it was; free space there and run again"
        )
    found = damage(exc)
    if found == NOT_DUCKDB:  # its header damaged, or another file named
        return StateDamaged(
            f"{path}: cannot open the state file: not a DuckDB database (damaged, or not a "
            "state file): run 'nornir-peering state check'"
        )
    if found is not None:
        return StateDamaged(f"the state file {path} is damaged ({found}): {WHAT_TO_DO}")
    return None
