"""How the FRR driver talks to FRR: ``vtysh`` and ``frr-reload.py``, here or over SSH.

``vtysh -c`` runs show commands; ``vtysh -f FILE`` applies configuration
commands, going on past a failing line (FRR 8.4: the failures are reported
as ``line N: ...`` on stderr, daemon messages starting with ``%`` on
stdout, and the exit code is the last failure's), so every such line is
collected and the caller decides. ``frr-reload.py`` is FRR's own tool for
replacing the whole configuration: it works out the lines to delete and to
add between the running configuration and a file.

Over SSH each call is one ``ssh host -- command``; files the router needs
(a candidate, a configuration to reload) are streamed on stdin into a
temporary file there.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class VtyshError(Exception):
    """vtysh could not be run, or FRR refused what it was given."""


class VtyshTimeout(VtyshError):
    """FRR did not finish in time: it may still be applying what it was given."""


@dataclass(frozen=True)
class FrrTools:
    """How to run FRR's vtysh and frr-reload.py for one router: where, over what, how long."""

    vtysh: str = "vtysh"
    vty_socket: str | None = None  # the folder of the daemons' vty sockets
    config_dir: str | None = None  # the folder with vtysh.conf
    frr_reload: str = "/usr/lib/frr/frr-reload.py"
    ssh: tuple[str, ...] = ()  # the ssh argv up to and including "--"; empty: this machine
    timeout: float = 60.0  # a show command
    apply_timeout: float = 600.0  # applying a configuration: FRR takes long over big lists

    def vtysh_argv(self) -> list[str]:
        """The vtysh command with the router's socket and config folders, without the ssh part."""
        argv = [self.vtysh]
        if self.vty_socket:
            argv += ["--vty_socket", self.vty_socket]
        if self.config_dir:
            argv += ["--config_dir", self.config_dir]
        return argv

    def show(self, command: str) -> str:
        """The output of one show command; a failure is a :class:`VtyshError`."""
        done = self._run([*self.vtysh_argv(), "-c", command])
        problems = _problems(done)
        if done.returncode != 0 or problems:
            raise VtyshError(f"{command}: {'; '.join(problems) or done.stderr.strip() or 'failed'}")
        return done.stdout

    def apply(self, commands: str) -> list[str]:
        """Apply configuration commands; what FRR refused, one line each (empty: all taken)."""
        done = self._with_file(
            commands, lambda folder: [*self.vtysh_argv(), "-f", f"{folder}/in"], self.apply_timeout
        )
        problems = _problems(done)
        if done.returncode != 0 and not problems:
            problems = [done.stderr.strip() or f"vtysh exited with {done.returncode}"]
        return problems

    def reload(self, config: str, *, apply: bool) -> str:
        """``frr-reload.py --test`` (or ``--reload``) of the whole configuration ``config``."""
        bindir = str(Path(self.vtysh).parent) if "/" in self.vtysh else "/usr/bin"
        options = ["--confdir", self.config_dir] if self.config_dir else []
        options += ["--vty_socket", self.vty_socket] if self.vty_socket else []

        def argv(folder: str) -> list[str]:
            action = "--reload" if apply else "--test"
            return [
                "python3", self.frr_reload, action, "--stdout", "--bindir", bindir,
                "--rundir", folder, *options, f"{folder}/in",
            ]  # fmt: skip

        done = self._with_file(config, argv, self.apply_timeout if apply else self.timeout)
        errors = [line for line in done.stdout.splitlines() if " ERROR" in line]
        if done.returncode != 0 or errors:
            raise VtyshError(
                "frr-reload.py: "
                + ("; ".join(errors) or done.stderr.strip() or f"exit code {done.returncode}")
            )
        return done.stdout

    def _with_file(
        self, text: str, argv: Callable[[str], list[str]], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv(folder)`` with ``text`` in ``folder/in``, a temporary folder on the
        router, readable by its owner only (a configuration may hold passwords); over SSH
        the router's own ``timeout`` stops the command when we stop waiting for it."""
        if not self.ssh:
            with tempfile.TemporaryDirectory(prefix="nornir-peering-frr-") as folder:
                (Path(folder) / "in").write_text(text)
                return self._call(argv(folder), None, timeout)
        placeholder = "/nornir-peering-folder"
        command = shlex.join(["timeout", str(int(timeout)), *argv(placeholder)])
        command = command.replace(placeholder, '"$d"')
        script = (
            'umask 077 && d=$(mktemp -d) && cat > "$d"/in && '
            f'{{ {command}; rc=$?; rm -rf "$d"; exit $rc; }}'
        )
        return self._call([*self.ssh, script], text, timeout + 30)

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return self._call([*self.ssh, shlex.join(argv)] if self.ssh else argv, None, self.timeout)

    def _call(
        self, argv: list[str], stdin: str | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        try:
            done = subprocess.run(
                argv, input=stdin, capture_output=True, text=True, timeout=timeout
            )
        except FileNotFoundError:
            raise VtyshError(f"{argv[0]} is not installed (Debian package frr)") from None
        except subprocess.TimeoutExpired:
            raise VtyshTimeout(f"FRR did not finish in {timeout:g}s") from None
        if self.ssh and done.returncode == 124:  # the router's own `timeout` stopped it
            raise VtyshTimeout(f"FRR did not finish in {timeout:g}s")
        return done


def _problems(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines in which vtysh or a daemon refused something."""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    lines += [line.strip() for line in done.stdout.splitlines() if line.lstrip().startswith("%")]
    return [line for line in lines if not line.startswith("Note:")]
