"""How the BIRD and FRR drivers reach a router: on this machine, or over SSH.

Over SSH, the system's OpenSSH client does the work: a stream-local
forward (``ssh -L local.sock:/run/bird/bird.ctl``) carries BIRD's control
protocol unchanged, and the managed file is read and replaced with ``cat``
and ``mv`` on the router. The user's ``~/.ssh/config``, agent and known
hosts apply as they do for ``ssh`` itself.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol


class TransportError(Exception):
    """The router could not be reached, or a file operation on it failed."""


class Files(Protocol):
    """The file operations a driver needs on its router, here or over SSH."""

    def read(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""

    def write(self, path: str, text: str, *, private: bool = False) -> None:
        """Replace the file atomically (write beside it, then rename; through a symlink,
        the file it points to). ``private`` (it may hold passwords): a new file is
        readable by its owner only, and a replaced one keeps its group and its owner's
        and group's permissions, never anyone else's (so the daemon that reads it, as
        BIRD reads ``bird.conf`` through its group, still can)."""

    def remove(self, path: str) -> None:
        """Remove the file if it exists."""


class LocalFiles:
    """File operations on this machine, for a router that runs here."""

    def read(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        try:
            return Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write(self, path: str, text: str, *, private: bool = False) -> None:
        """Replace the file atomically, making its folder if need be (see :class:`Files`)."""
        target = Path(path).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
                os.fchmod(file.fileno(), _replacing(target, file.fileno(), private))
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def remove(self, path: str) -> None:
        """Remove the file if it exists."""
        Path(path).unlink(missing_ok=True)


class SshFiles:
    """File operations on the router, each one ``ssh host sh -c ...``."""

    def __init__(self, ssh: list[str], timeout: float) -> None:
        self.ssh = ssh
        self.timeout = timeout

    def _run(self, script: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [*self.ssh, script],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired:
            raise TransportError(f"ssh timed out after {self.timeout:g}s") from None

    def read(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        quoted = shlex.quote(path)
        done = self._run(f"if [ -e {quoted} ]; then cat {quoted}; else exit 3; fi")
        if done.returncode == 3:
            return None
        if done.returncode != 0:
            raise TransportError(f"cannot read {path} over ssh: {done.stderr.strip()}")
        return done.stdout

    def write(self, path: str, text: str, *, private: bool = False) -> None:
        """Replace the file: ``cat`` into a file beside it, then ``mv`` (see :class:`Files`;
        GNU coreutils' ``--reference`` keeps a replaced file's group and permissions)."""
        if private:  # the group kept, or else no permission but the owner's
            keep = (
                'if chgrp --reference="$p" "$t" 2>/dev/null; then '
                'chmod --reference="$p" "$t" && chmod o= "$t"; else chmod 600 "$t"; fi'
            )
        else:  # best kept: BusyBox has no --reference
            keep = 'chmod --reference="$p" "$t" 2>/dev/null || :'
        script = (
            f'p=$(readlink -f {shlex.quote(path)}) && t="$p.nornir-peering.$$.tmp" && '
            f"trap 'rm -f \"$t\"' EXIT && "
            f'{"umask 077" if private else "umask 022"} && cat > "$t" && '
            f'{{ [ ! -e "$p" ] || {{ {keep}; }}; }} && mv "$t" "$p"'
        )
        done = self._run(script, stdin=text)
        if done.returncode != 0:
            raise TransportError(f"cannot write {path} over ssh: {done.stderr.strip()}")

    def remove(self, path: str) -> None:
        """Remove the file if it exists (``rm -f``)."""
        done = self._run(f"rm -f {shlex.quote(path)}")
        if done.returncode != 0:
            raise TransportError(f"cannot remove {path} over ssh: {done.stderr.strip()}")


def _replacing(target: Path, descriptor: int, private: bool) -> int:
    """The permissions of the new file (``descriptor``) that replaces ``target``: its
    own, less anyone else's when ``private``; then the new file takes ``target``'s group
    if we may (we must be a member of it), or else has no group permissions either. A
    new file is its owner's only when ``private``."""
    try:
        held = target.stat()
    except FileNotFoundError:
        return 0o600 if private else 0o644
    mode = stat.S_IMODE(held.st_mode)
    if not private:
        return mode
    try:
        os.fchown(descriptor, -1, held.st_gid)
    except PermissionError:
        return mode & 0o700  # the group is the writer's own now, not the daemon's
    return mode & 0o770


def ssh_command(
    host: str, username: str, port: int | None, key: str | None, options: list[str], timeout: float
) -> list[str]:
    """The ``ssh`` argv that runs one remote command on the router."""
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(timeout))}"]
    if port:
        argv += ["-p", str(port)]
    if key:
        argv += ["-i", key]
    for option in options:
        argv += ["-o", option]
    return [*argv, f"{username}@{host}" if username else host, "--"]


class SshTunnel:
    """A local socket forwarded to the router's BIRD control socket."""

    def __init__(self, ssh: list[str], remote_socket: str, timeout: float) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="nornir-peering-ssh-")
        self.local_socket = str(Path(self._folder.name) / "bird.ctl")
        # ssh [options] destination -- : put -N -L before the destination
        *options, destination, _ = ssh
        self._argv = [
            *options,
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-o",
            "StreamLocalBindUnlink=yes",
            "-L",
            f"{self.local_socket}:{remote_socket}",
            destination,
        ]
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        """Start ssh and wait until the local socket appears; returns its path.

        ssh exiting, or no socket within ``timeout``, is a :class:`TransportError`.
        """
        self._process = subprocess.Popen(
            self._argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self.timeout
        while not Path(self.local_socket).exists():
            if self._process.poll() is not None:
                error = (self._process.stderr.read() if self._process.stderr else b"").decode()
                self.stop()
                raise TransportError(f"ssh failed: {error.strip() or 'no reason given'}")
            if time.monotonic() > deadline:
                self.stop()
                raise TransportError(f"ssh did not connect within {self.timeout:g}s")
            time.sleep(0.02)
        return self.local_socket

    def stop(self) -> None:
        """Stop ssh, if it runs, and remove the local socket's folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._process is not None and self._process.stderr:
            self._process.stderr.close()
        self._process = None
        self._folder.cleanup()


def read_candidate(filename: str | None, config: str | None, error: type[Exception]) -> str:
    """A NAPALM candidate: ``config`` itself, or the file ``filename`` on this machine."""
    if config is not None:
        return config
    if filename is None:
        raise error("give a filename or a config")
    try:
        return Path(filename).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{filename}: {exc.strerror}") from None
