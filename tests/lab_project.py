"""The lab as a project: its config, inventory and templates as ``lab init`` writes
them, its BIRD routers and PeeringDB running, its cache synced.
Fixtures and helpers for the end-to-end tests (configure, poll)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from nornir_peering.drivers.bird import BirdDriver
from nornir_peering.lab.control import Lab
from nornir_peering.project.scaffold import write_lab_project
from tests.helpers import free_ports, lab_fixture, run


@pytest.fixture(scope="module")
@lab_fixture
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The lab's project (``lab init``) on free ports, its lab running and its
    PeeringDB cache synced from the lab."""
    root = tmp_path_factory.mktemp("project")
    port = free_ports(3)  # PeeringDB, IRR, Redis
    write_lab_project(root, port)
    lab = Lab(root / "state" / "lab", port=port)
    lab.up()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("HOME", str(root))
        assert run("peeringdb-sync").exit_code == 0
        yield root
    lab.down()


@pytest.fixture
def lab(project: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    """The project's lab, its BIRD edges back on an empty peering file and its FRR edge
    on its starting configuration, cwd in the project."""
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(project))
    lab = Lab(project / "state" / "lab")
    for name in lab.frr.routers:
        lab.frr.reset(name)
    for name in ("edge1", "edge2"):
        if not lab.bird.running(name):
            lab.bird.start(name)
        device = BirdDriver(
            name,
            optional_args={
                "socket": str(lab.bird.socket(name)),
                "config_file": str(lab.bird.config_file(name)),
            },
        )
        device.open()
        device.load_replace_candidate(config="# managed by nornir-peering\n")
        if device.compare_config():
            device.commit_config()
        device.close()
    return lab


ROUTER_IDS = {"edge1": "127.0.1.1", "edge2": "127.0.1.2"}  # the lab project's BIRD edges


@contextlib.contextmanager
def router_data(project: Path, router: str, **data: object) -> Iterator[None]:
    """``router``'s data in the project's ``hosts.yaml`` with ``data`` added, for a while."""
    hosts = project / "inventory" / "hosts.yaml"
    original = hosts.read_text()
    anchor = f"    router_id: {ROUTER_IDS[router]}\n"
    assert anchor in original, anchor
    added = "".join(f"    {key}: {value}\n" for key, value in data.items())
    hosts.write_text(original.replace(anchor, anchor + added))
    try:
        yield
    finally:
        hosts.write_text(original)


@contextlib.contextmanager
def template_for(project: Path, router: str, name: str, text: str) -> Iterator[None]:
    """``router`` rendered with the template ``bird/<name>.j2`` (``text``) for a while."""
    (project / "templates" / "bird" / f"{name}.j2").write_text(text)
    with router_data(project, router, template=f"bird/{name}.j2"):
        yield
