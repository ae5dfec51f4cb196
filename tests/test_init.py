"""``init`` against the lab PeeringDB server, and ``lab init``: the files a new project
gets, valid and loadable, never an existing file overwritten, and one line when PeeringDB
does not know the AS or cannot be reached."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

import pytest
import yaml

from nornir_peering.cli.lab import configured_port
from nornir_peering.inventory.load import read_intent
from nornir_peering.lab.datagen import Dataset, generate, read_dataset
from nornir_peering.lab.pdbserver import LabServer
from nornir_peering.lab.topology import LAB_ID, LOCAL_ASN, add_lab
from nornir_peering.project.files import packaged
from nornir_peering.project.network import Network, Port
from nornir_peering.project.scaffold import render_hosts, render_peering
from nornir_peering.settings import PeeringSettings, load_settings
from tests.helpers import Datasets, cache_rows, free_port, run

PLATFORMS = ("bird", "eos", "frr", "iosxr", "junos")
COMMANDS = (
    "nornir-peering inventory",
    "nornir-peering check-ix-sessions --emit-yaml",
    "nornir-peering configure-routers",
)


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def ports_of(dataset: Dataset, asn: int) -> dict[int, list[dict[str, Any]]]:
    """Our ports in the dataset, by IX LAN, as init lists them: by address."""
    net = next(row for row in dataset.rows["net"] if row["asn"] == asn)
    lans: dict[int, list[dict[str, Any]]] = {}
    for row in dataset.rows["netixlan"]:
        if row["net_id"] == net["id"] and row["status"] == "ok":
            lans.setdefault(row["ixlan_id"], []).append(row)
    return lans


@pytest.fixture
def day1(datasets: Datasets) -> Dataset:
    return read_dataset(datasets.day1)


def test_init_writes_a_project_that_loads(env: Path, day1: Dataset) -> None:
    result = run("init", "peering", "--asn", f"AS{LOCAL_ASN}")
    assert result.exit_code == 0, result.stderr
    project = Path("peering")
    assert sorted(name for name in files_of(project) if not name.startswith("state/")) == sorted(
        [
            ".gitignore",
            "README.md",
            "config.yaml",
            "inventory/hosts.yaml",
            "inventory/peering.yaml",
            *(f"templates/{platform}/peering.j2" for platform in PLATFORMS),
        ]
    )
    for platform in PLATFORMS:
        shipped = packaged("templates", platform, "peering.j2").read_text(encoding="utf-8")
        assert (project / "templates" / platform / "peering.j2").read_text() == shipped
    assert "state/" in (project / ".gitignore").read_text().splitlines()
    readme = (project / "README.md").read_text()
    assert all(command in readme for command in COMMANDS)
    assert all(f"  {command}" in result.stdout for command in COMMANDS)

    # local_as from the net object, one ixes: entry per IX LAN with our addresses
    net = next(row for row in day1.rows["net"] if row["asn"] == LOCAL_ASN)
    peering = yaml.safe_load((project / "inventory" / "peering.yaml").read_text())
    assert peering["local_as"] == {
        "asn": LOCAL_ASN,
        "name": net["name"],
        "as_set": net["irr_as_set"],
        "max_prefix_headroom": 10,
        "prefixes4": [],
        "prefixes6": [],
    }
    counts = f"IPv4 {net['info_prefixes4']}, IPv6 {net['info_prefixes6']}"
    assert counts in (project / "inventory" / "peering.yaml").read_text()
    lans = ports_of(day1, LOCAL_ASN)
    assert {ix["ix_id"] for ix in peering["ixes"].values()} == {
        ports[0]["ix_id"] for ports in lans.values()
    }
    for ix in peering["ixes"].values():
        ports = sorted(lans[ix["ix_id"]], key=lambda row: ip_address(row["ipaddr4"]))
        assert ix["peers"] == []
        assert ix["connections"] == [
            {"router": f"router{n}", "ipv4": row["ipaddr4"], "ipv6": row["ipaddr6"]}
            for n, row in enumerate(ports, start=1)
        ]
    assert set(peering["ixes"]) == {"lab-ix-loopback", "lab-ix-second"}

    # the real PeeringDB unless told (the environment points this test at the lab's)
    config = yaml.safe_load((project / "config.yaml").read_text())
    assert config["user_defined"]["peering"]["peeringdb_url"] == "https://www.peeringdb.com/api"
    assert cache_rows(project / "state" / "peering.duckdb", "net")  # the first sync ran

    # the placeholders validate, and the commands a user runs next work
    intent = read_intent(project / "inventory")
    assert sorted(intent.hosts) == ["router1", "router2", "router3"]
    assert all(host.data.poll is False for host in intent.hosts.values())
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        shown = run("inventory", "--json")
        assert shown.exit_code == 0, shown.stderr
        assert {r["name"] for r in json.loads(shown.stdout)["hosts"]} == set(intent.hosts)
        dry = run("configure-routers", "--json")
        assert dry.exit_code == 0, dry.stderr
        assert {(r["router"], r["status"]) for r in json.loads(dry.stdout)["routers"]} == {
            (name, "skipped") for name in intent.hosts
        }


def test_init_with_another_peeringdb_writes_its_url(
    env: Path, pdb: LabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEERINGDB_URL")
    monkeypatch.delenv("PEERINGDB_CACHE_URL")
    result = run("init", ".", "--asn", str(LOCAL_ASN), "--peeringdb-url", pdb.api_url, "--no-sync")
    assert result.exit_code == 0, result.stderr
    settings = load_settings(Path("config.yaml")).peering
    assert (settings.peeringdb_url, settings.cache_url) == (pdb.api_url, "")
    assert "# api_key:" in Path("config.yaml").read_text()  # the comments are kept
    assert not Path("state/peering.duckdb").exists()
    assert "  nornir-peering peeringdb-sync" in result.stdout  # named first, as it did not run
    synced = run("peeringdb-sync")
    assert synced.exit_code == 0, synced.stderr
    assert run("inventory").exit_code == 0


def test_init_never_overwrites(env: Path) -> None:
    project = Path("peering")
    (project / "inventory").mkdir(parents=True)
    (project / "inventory" / "hosts.yaml").write_text("mine: {}\n")
    (project / "README.md").write_text("# mine\n")
    first = run("init", "peering", "--asn", str(LOCAL_ASN), "--no-sync")
    assert first.exit_code == 0, first.stderr
    assert (project / "inventory" / "hosts.yaml").read_text() == "mine: {}\n"
    assert (project / "README.md").read_text() == "# mine\n"
    assert "left alone, as they exist: inventory/hosts.yaml, README.md" in first.stderr
    assert (project / "inventory" / "peering.yaml").exists()

    (project / "templates" / "bird" / "peering.j2").write_text("# my template\n")
    before = files_of(project)
    again = run("init", "peering", "--asn", str(LOCAL_ASN), "--no-sync")
    assert again.exit_code == 0, again.stderr
    assert files_of(project) == before
    assert "created" not in again.stdout
    assert "templates/ (5 files)" in again.stderr


def test_an_as_peeringdb_does_not_know(env: Path) -> None:
    result = run("init", "peering", "--asn", "64999")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "AS64999" in result.stderr and "no such network" in result.stderr
    assert not Path("peering").exists()


def test_peeringdb_unreachable(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERINGDB_URL", f"http://127.0.0.1:{free_port()}/api")
    monkeypatch.setenv("NORNIR_PEERING_RETRIES", "1")
    result = run("init", "peering", "--asn", str(LOCAL_ASN))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "cannot reach" in result.stderr and "nothing was written" in result.stderr
    assert not Path("peering").exists()


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (("--asn", "AS-FOO"), "'AS-FOO' is not an AS number"),
        (("--asn", "64500,64501"), "'64500,64501': one AS number, the project's own"),
        (("--asn", "1", "--peeringdb-url", "ftp://x/api"), "'ftp://x/api' is not an http(s) URL"),
        (("--asn", "1", "--cache-url", "x"), "'x' is not an http(s) URL"),
    ],
)
def test_bad_options_are_usage_errors(env: Path, options: tuple[str, ...], said: str) -> None:
    result = run("init", "peering", *options)
    assert result.exit_code == 2
    assert said in result.stderr
    assert not Path("peering").exists()


# a stranger's name in every place init writes one: quotes, a line break, YAML's own
# characters, a comment sign, an anchor, a flow collection, a document marker
HOSTILE_NAME = "Evil: \"Net\" 'x' }; #c\n---\n- &a [b, *a] {c: d} %TAG ! |\n  > ?"
HOSTILE_AS_SET = 'AS-EVIL\n}; include "/etc" # \\ \t'
HOSTILE_IX = 'IX: "{{ x }}"\n#- evil'


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[LabServer]:
    """A lab PeeringDB where our network, and one of our IXes, have hostile names, and
    one of our ports a bad address."""
    data = add_lab(generate(scale=0.001, seed=7))
    ours = LAB_ID + 1
    for row in data.rows["net"]:
        if row["asn"] == LOCAL_ASN:
            row.update(name=HOSTILE_NAME, irr_as_set=HOSTILE_AS_SET)
    for row in data.rows["ix"]:
        if row["id"] == LAB_ID + 1:
            row["name"] = HOSTILE_IX
    for row in data.rows["netixlan"]:
        if row["net_id"] == ours and row["ix_id"] == LAB_ID + 1:
            row["name"] = HOSTILE_IX
        if row["net_id"] == ours and row["ipaddr4"] == "127.0.2.3":
            row.update(ipaddr4="127.0.2.3\nrouter: x", ipaddr6=None)  # no address left
    with LabServer(data) as server:
        yield server


def test_names_from_peeringdb_are_data_not_yaml(
    env: Path, hostile: LabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEERINGDB_URL", hostile.api_url)
    monkeypatch.setenv("PEERINGDB_CACHE_URL", hostile.url)
    result = run("init", "peering", "--asn", str(LOCAL_ASN))
    assert result.exit_code == 0, result.stderr
    assert "left out 1 port(s)" in result.stderr
    assert "\n---" not in result.stdout  # the name printed on one line
    inventory = Path("peering") / "inventory"
    peering = yaml.safe_load((inventory / "peering.yaml").read_text())
    assert peering["local_as"]["name"] == HOSTILE_NAME
    assert peering["local_as"]["as_set"] == HOSTILE_AS_SET.strip()  # ends trimmed
    assert list(peering["ixes"]) == ["ix-x-evil", "lab-ix-second"]
    assert peering["ixes"]["lab-ix-second"]["connections"] == [
        {"router": "router1", "ipv4": "127.0.2.1", "ipv6": "fd00:7f8:2::1"}
    ]
    intent = read_intent(inventory)
    assert intent.peering.local_as.name == HOSTILE_NAME
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir("peering")
        assert run("inventory").exit_code == 0


def test_the_config_skeleton_names_real_settings() -> None:
    text = packaged("project", "skeleton", "config.yaml").read_text(encoding="utf-8")
    commented = re.findall(r"^    # (\w+): ", text, re.MULTILINE)
    assert len(commented) > 10
    assert set(commented) <= set(PeeringSettings.model_fields)
    assert yaml.safe_load(text)["inventory"]["plugin"] == "PeeringInventory"


def test_lab_init_writes_the_labs_project_on_its_ports(tmp_path: Path) -> None:
    result = run("lab", "init", str(tmp_path / "lab"), "--port", "9100")
    assert result.exit_code == 0, result.stderr
    assert "nornir-peering lab up," in result.stdout  # no --port: lab up reads config.yaml's
    loaded = load_settings(tmp_path / "lab" / "config.yaml")
    assert configured_port(loaded) == 9100
    settings = loaded.peering
    assert settings.peeringdb_url == "http://127.0.0.1:9100/api"
    assert settings.irr_host == "127.0.0.1:9101"
    assert "@127.0.0.1:9102/" in settings.redis_url
    shipped = packaged("lab", "project", "inventory")
    for name in ("hosts.yaml", "peering.yaml", "groups.yaml", "defaults.yaml"):
        written = (tmp_path / "lab" / "inventory" / name).read_text()
        assert written == shipped.joinpath(name).read_text(encoding="utf-8")
    assert sorted(p.name for p in (tmp_path / "lab" / "templates").iterdir()) == sorted(PLATFORMS)
    again = run("lab", "init", str(tmp_path / "lab"), "--port", "9100")
    assert again.exit_code == 0 and "left alone" in again.stderr and "wrote" not in again.stdout


def write_inventory(folder: Path, network: Network) -> dict[str, Any]:
    peering, _, routers, _ = render_peering(network)
    folder.mkdir()
    (folder / "peering.yaml").write_text(peering)
    (folder / "hosts.yaml").write_text(render_hosts(routers))
    read_intent(folder)  # valid, placeholders and all
    data: dict[str, Any] = yaml.safe_load(peering)
    return data


def test_ix_lans_are_told_apart(tmp_path: Path) -> None:
    v4 = [IPv4Address(f"192.0.2.{n}") for n in range(4)]
    network = Network(
        asn=4200000000,
        name="Four Bytes",
        as_set="",
        prefixes4=None,
        prefixes6=3,
        ports=(
            Port(1, 11, "Big IX", v4[1], None),
            Port(1, 12, "Big IX", v4[2], IPv6Address("2001:db8::2")),
            Port(2, 2, "Big-IX", v4[3], None),
            Port(3, 3, "No Address IX", None, None),
        ),
    )
    data = write_inventory(tmp_path / "inventory", network)
    assert data["local_as"] == {
        "asn": 4200000000,
        "name": "Four Bytes",
        "max_prefix_headroom": 10,
        "prefixes4": [],
        "prefixes6": [],
    }
    # two LANs of one IX are named by their LAN, the name they share made unique
    assert {
        key: {k: ix.get(k) for k in ("ix_id", "ixlan_id")} for key, ix in data["ixes"].items()
    } == {
        "big-ix": {"ix_id": None, "ixlan_id": 11},
        "big-ix-12": {"ix_id": None, "ixlan_id": 12},
        "big-ix-2": {"ix_id": 2, "ixlan_id": None},
    }
    assert data["ixes"]["big-ix-12"]["connections"] == [
        {"router": "router1", "ipv4": "192.0.2.2", "ipv6": "2001:db8::2"}
    ]
    assert render_peering(network)[3] == 1  # the port with no address, left out
    assert "IPv4 none given, IPv6 3" in render_peering(network)[0]


def test_a_network_with_no_ports(tmp_path: Path) -> None:
    network = Network(64500, "Nowhere Yet", "AS-NOWHERE", 1, 1, ports=())
    data = write_inventory(tmp_path / "inventory", network)
    assert data["ixes"] == {}
    assert render_peering(network)[2] == []
