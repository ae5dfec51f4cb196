"""The lab's network namespace: made without root where the kernel allows it, addresses on
its own loopback only, and one clear line where it cannot be made."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import nornir_peering
from nornir_peering.lab.netns import Namespace, NamespaceError
from tests.helpers import free_ports, run

pytestmark = pytest.mark.lab  # every test makes a namespace, or runs ip, unshare or nsenter

NOBODY = 65534
ADDRESS = "fd00:7f8:99::1"


def addresses(argv: list[str]) -> str:
    """What ``ip -6 addr show dev lo`` says, run as ``argv`` prefixes it."""
    return subprocess.run(
        [*argv, "ip", "-6", "addr", "show", "dev", "lo"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def test_addresses_live_inside_only(tmp_path: Path) -> None:
    space = Namespace(tmp_path)
    try:
        assert space.ensure([ADDRESS, "127.0.1.1"]) is True
        assert (tmp_path / "netns.mode").read_text().strip() == "user"  # no root used
        assert ADDRESS in addresses(space.command([]))
        assert ADDRESS not in addresses([])  # the machine's own loopback is untouched
        assert space.ensure([ADDRESS]) is False  # there already: nothing made again
        holder = space.pid
        assert holder is not None
        inside = os.readlink(f"/proc/{holder}/ns/net")
        assert inside != os.readlink("/proc/self/ns/net")
    finally:
        space.stop()
    assert space.pid is None and not space.pid_file.exists()
    with pytest.raises(NamespaceError, match="not running"):
        space.command(["true"])


def test_made_by_an_unprivileged_user() -> None:
    """As nobody, with no capability at all: a user namespace, no root needed.

    Runs as nobody where the tests run as root; otherwise as this user. The module and
    what it imports (the standard library only) are copied where nobody can read them:
    the clone may live in root's home."""
    with tempfile.TemporaryDirectory() as top:  # pytest's tmp_path is root's alone
        os.chmod(top, 0o755)
        root = Path(top)
        package = Path(nornir_peering.__file__).parent
        shutil.copytree(
            package, root / "src" / "nornir_peering", ignore=shutil.ignore_patterns("__pycache__")
        )
        folder = root / "lab"
        folder.mkdir()
        script = (
            f"import sys; sys.path.insert(0, {str(root / 'src')!r})\n"
            "import subprocess; from pathlib import Path\n"
            "from nornir_peering.lab.netns import Namespace\n"
            f"space = Namespace(Path({str(folder)!r}))\n"
            f"space.ensure([{ADDRESS!r}])\n"
            "print(subprocess.run(space.command(['ip', '-6', 'addr', 'show', 'dev', 'lo']),"
            " capture_output=True, text=True, check=True).stdout)\n"
            "space.stop()\n"
        )
        python = [os.path.realpath(sys.executable), "-I", "-c", script]
        if os.geteuid() == 0:
            os.chown(folder, NOBODY, NOBODY)
            python = [
                "setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                "--inh-caps=-all",
                "--",
                *python,
            ]
        done = subprocess.run(python, capture_output=True, text=True, timeout=60, cwd=folder)
        assert done.returncode == 0, done.stderr
        assert ADDRESS in done.stdout
        assert (folder / "netns.mode").read_text().strip() == "user"


def refused(inner: str, *, caps: bool) -> list[str]:
    """``inner`` (a shell command) in a user namespace of its own where the kernel refuses
    new user namespaces (``user.max_user_namespaces`` 0 there), as its root, and without
    ``CAP_SYS_ADMIN`` unless ``caps``: a machine that allows no namespace at all."""
    drop = "" if caps else "setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin -- "
    return [
        "unshare",
        "--user",
        "--map-root-user",
        "sh",
        "-c",
        f"echo 0 > /proc/sys/user/max_user_namespaces && exec {drop}{inner}",
    ]


def test_as_root_where_user_namespaces_are_refused(tmp_path: Path) -> None:
    script = (
        "from pathlib import Path; import subprocess\n"
        "from nornir_peering.lab.netns import Namespace\n"
        f"space = Namespace(Path({str(tmp_path)!r}))\n"
        f"space.ensure([{ADDRESS!r}])\n"
        "print(subprocess.run(space.command(['ip', '-6', 'addr', 'show', 'dev', 'lo']),"
        " capture_output=True, text=True, check=True).stdout)\n"
        "space.stop()\n"
    )
    inner = f"{sys.executable} -c {shlex.quote(script)}"
    done = subprocess.run(refused(inner, caps=True), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ADDRESS in done.stdout
    assert (tmp_path / "netns.mode").read_text().strip() == "root"


def test_lab_up_says_why_no_namespace_can_be_made(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Exit 2, one line with what the kernel said and what to do, and nothing started."""
    tmp_path = tmp_path_factory.mktemp("ns")  # short: BIRD's control sockets fit below it
    state = tmp_path / "state" / "peering.duckdb"
    command = [sys.executable, "-m", "nornir_peering", "lab", "up", "--state", str(state)]
    inner = " ".join(map(shlex.quote, [*command, "--port", str(free_ports(3))]))
    done = subprocess.run(
        refused(inner, caps=False), capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot create the lab's network namespace (")
    assert "No space left on device" in line  # the user namespace, refused
    assert "Operation not permitted" in line  # the network namespace as root, refused
    assert "allow unprivileged user namespaces" in line and "or run as root" in line
    assert not list((tmp_path / "state").rglob("*.pid"))


def test_lab_up_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without iproute2's ``ip`` (nor BIRD, FRR's vtysh or Redis): exit 2, one line naming
    the packages, nothing started."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("unshare", "nsenter", "sleep"):
        found = shutil.which(name)
        assert found is not None
        (tools / name).symlink_to(found)
    monkeypatch.setenv("PATH", str(tools))
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state" / "peering.duckdb"
    result = run("lab", "up", "--state", str(state), "--port", str(free_ports(3)))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: lab up: missing ip (Debian package iproute2), ")
    assert "bird (Debian package bird2)" in line and "redis-server (Debian" in line
    assert not list((tmp_path / "state").rglob("*.pid"))
