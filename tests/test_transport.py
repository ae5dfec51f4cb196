"""How the drivers replace a file on the router, here and through a real sshd: a file
that may hold BGP passwords is never readable by others, and the daemon's group keeps
what it had."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from nornir_peering.drivers.transport import Files, LocalFiles, SshFiles, ssh_command

# (mode before, or None for a new file; private; mode after)
MODES = [
    (None, True, 0o600),
    (None, False, 0o644),
    (0o644, True, 0o640),  # a replaced bird.conf loses only the world's read
    (0o640, True, 0o640),
    (0o600, True, 0o600),
    (0o664, False, 0o664),
]


def files(how: str, sshd: dict[str, object] | None) -> Files:
    if how == "local":
        return LocalFiles()
    assert sshd is not None
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout
    argv = ssh_command(
        "127.0.0.1",
        user.strip(),
        int(str(sshd["ssh_port"])),
        str(sshd["ssh_key"]),
        [str(option) for option in sshd["ssh_options"]],  # type: ignore[attr-defined]
        30,
    )
    return SshFiles(argv, 30)


@pytest.fixture(params=["local", pytest.param("ssh", marks=pytest.mark.lab)])
def how(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def router_files(how: str, request: pytest.FixtureRequest) -> Files:
    return files(how, request.getfixturevalue("sshd") if how == "ssh" else None)


@pytest.mark.parametrize(("before", "private", "after"), MODES)
def test_a_replaced_file_keeps_no_more_than_its_permissions(
    router_files: Files, tmp_path: Path, before: int | None, private: bool, after: int
) -> None:
    path = tmp_path / "bird.conf"
    if before is not None:
        path.write_text("old\n")
        path.chmod(before)
    router_files.write(str(path), 'password "k";\n', private=private)
    assert path.read_text() == 'password "k";\n'
    assert stat.S_IMODE(path.stat().st_mode) == after
    assert [p.name for p in tmp_path.iterdir()] == ["bird.conf"]  # no temporary left


@pytest.mark.lab  # root: it gives files to another group or user
def test_the_daemons_group_is_kept(router_files: Files, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file another group needs root")  # CI runs as root
    group = grp.getgrnam("nogroup").gr_gid
    path = tmp_path / "bird.conf"
    path.write_text("old\n")
    os.chown(path, -1, group)
    path.chmod(0o640)
    router_files.write(str(path), "new\n", private=True)
    assert path.stat().st_gid == group and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_symlink_is_followed_not_replaced(router_files: Files, tmp_path: Path) -> None:
    real = tmp_path / "real" / "bird.conf"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "bird.conf"
    link.symlink_to(real)
    router_files.write(str(link), "new\n", private=True)
    assert link.is_symlink() and real.read_text() == "new\n"


@pytest.mark.lab  # root: it gives files to another group or user
def test_a_group_the_writer_is_not_in_is_given_nothing(tmp_path: Path) -> None:
    # run as nobody: bird.conf's group (root) cannot be kept, so it is not passed on
    # to nobody's own group either
    if os.geteuid() != 0:
        pytest.skip("writing as another user needs root")  # CI runs as root
    nobody = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="np-transport-"))  # tmp_path: root's only
    try:
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        path = folder / "bird.conf"
        path.write_text("old\n")
        os.chown(path, nobody.pw_uid, 0)
        path.chmod(0o640)
        child = os.fork()  # the code is loaded already: nobody need not read it
        if child == 0:
            written = 1
            try:
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                LocalFiles().write(str(path), "new", private=True)
                written = 0
            finally:
                os._exit(written)  # never back into pytest
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        held = path.stat()
        assert path.read_text() == "new" and held.st_gid == nobody.pw_gid
        assert stat.S_IMODE(held.st_mode) == 0o600
    finally:
        shutil.rmtree(folder)
