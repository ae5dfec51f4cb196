"""The example templates: golden files for every platform, each within the
ownership rule; and the deploy flow of the routers that cannot run here
(Junos, IOS-XR, EOS) through NAPALM's mock driver, answering with recorded
running configurations."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from napalm.base.mock import MockDriver
from netutils.password import decrypt_juniper_type9, decrypt_type7
from nornir import InitNornir
from pydantic import ValidationError

from nornir_peering.deploy import check_rendered, junos, plan_merge, rpl
from nornir_peering.deploy.tree import Node
from nornir_peering.deploy.tree import parse as parse_cisco
from nornir_peering.inventory import PeeringInventory
from nornir_peering.inventory.intent import DirectSession, IXConnection
from nornir_peering.inventory.plugin import TOOLKIT_DATA, LoadedInventory
from nornir_peering.irr import PrefixEntry
from nornir_peering.rendering import (
    ConfigRejected,
    check_bird,
    context,
    prefix_list_limit,
    render_router,
)
from nornir_peering.settings import PeeringSettings
from nornir_peering.tasks import deploy_config
from nornir_peering.templating import TemplateFailed, environment, render_template
from tests.helpers import run
from tests.test_deploy_plan import (
    EOS_RUNNING,
    EOS_VRF_RUNNING,
    FRR_VRF_RUNNING,
    IOSXR_RUNNING,
    IOSXR_VRF_RUNNING,
    JUNOS_RUNNING,
    JUNOS_VRF_RUNNING,
    assert_operators_vrf_untouched,
)

REPO = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
FIXTURES = Path(__file__).parent / "inventory"
PLATFORMS = ("bird", "frr", "junos", "iosxr", "eos")
# a test that has BIRD itself check what is rendered for it (bird -p) is in the lab tier
BIRD = pytest.mark.lab
CHECKED_PLATFORMS = (pytest.param("bird", marks=BIRD), *PLATFORMS[1:])
# the recorded running configurations, on core1 (AS64501)
# with the VRF core1's lab-ix-2 port is in, which the operator made
RUNNING = {
    "junos": JUNOS_RUNNING.replace(
        "routing-instances { CUST", "routing-instances { peering { instance-type vrf; } CUST"
    ),
    "iosxr": "vrf peering\n!\n"
    + IOSXR_RUNNING.replace(
        "router bgp 64500\n", "router bgp 64501\n vrf peering\n  rd auto\n !\n"
    ),
    # the operator's transit neighbor, at another address than core1's transit session
    "eos": "vrf instance peering\n!\n"
    + EOS_RUNNING.replace("router bgp 64500", "router bgp 64501").replace(
        "192.0.2.1 ", "192.0.2.77 "
    ),
}


@pytest.fixture(scope="module")
def loaded(small_state: Path) -> LoadedInventory:
    return PeeringInventory(
        inventory_dir=str(FIXTURES), state=str(small_state)
    ).load_with_problems()


def rendered(loaded: LoadedInventory, platform: str, router: str, **changes: Any) -> str:
    data = {**context(loaded.inventory.hosts[router]), **changes}
    return render_template(environment(REPO / "templates"), f"{platform}/peering.j2", data)


@pytest.mark.parametrize("platform", CHECKED_PLATFORMS)
@pytest.mark.parametrize("router", ["edge1", "core1"])
def test_golden(loaded: LoadedInventory, platform: str, router: str) -> None:
    """Rendered output is exactly the reviewed golden file (UPDATE_GOLDEN=1 rewrites them),
    deterministic, and within the ownership rule."""
    config = rendered(loaded, platform, router)
    golden = GOLDEN / platform / f"{router}.conf"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(config)
    assert config == golden.read_text()
    assert config == rendered(loaded, platform, router)  # deterministic
    if platform == "bird":
        check_bird(config)  # BIRD itself accepts it
    else:
        check_rendered(platform, config, "NP_")  # nothing but nornir-peering's objects
    for line in config.splitlines():  # the hostile peer never left its quotes
        if "Evil" in line:
            assert "{" not in line.split("Evil")[1] and '"' not in line.split("Evil")[1][:-2]
    assert "AS-EVIL" not in config and "/etc" not in config


def test_every_platform_has_golden_files() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(PLATFORMS)


POLICY_REFERENCES = {
    "bird": (r"import filter NP_IMPORT_\S+;", r"export filter NP_EXPORT_\S+;"),
    "frr": (
        r"neighbor \S+ route-map NP_IMPORT_\S+ in",
        r"neighbor \S+ route-map NP_EXPORT_\S+ out",
    ),
    "junos": (r"import \[ (?:\S+ )?NP_IMPORT_\S+ \];", r"export NP_EXPORT_\S+;"),
    "iosxr": (r"route-policy NP_IMPORT_\S+ in", r"route-policy NP_EXPORT_\S+ out"),
    "eos": (
        r"neighbor \S+ route-map NP_IMPORT_\S+ in",
        r"neighbor \S+ route-map NP_EXPORT_\S+ out",
    ),
}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("router", ["edge1", "core1"])
def test_every_session_has_import_and_export_policy(
    loaded: LoadedInventory, platform: str, router: str
) -> None:
    """No session without both policies: Junos and EOS would otherwise accept and
    announce every route (no RFC 8212), IOS-XR and FRR would exchange nothing."""
    config = rendered(loaded, platform, router)
    count = len(loaded.inventory.hosts[router]["sessions"])
    imports, exports = POLICY_REFERENCES[platform]
    assert (len(re.findall(imports, config)), len(re.findall(exports, config))) == (count, count)


def test_junos_exports_end_in_reject(loaded: LoadedInventory) -> None:
    """A Junos export that matched nothing would fall through to the default: every route."""
    config = rendered(loaded, "junos", "edge1")
    for block in config.split("policy-statement NP_EXPORT_")[1:]:
        body = block.split("\n    }\n", 1)[0]
        assert body.rstrip().endswith("then reject;"), body


# -- sessions in a VRF: core1's port at lab-ix-2 is in VRF peering ---------------------------


def core1_tables(loaded: LoadedInventory) -> tuple[set[str], set[str]]:
    """core1's peers in VRF peering, and in the default table (its transit sessions)."""
    sessions = loaded.inventory.hosts["core1"]["sessions"]
    in_vrf = {s["remote_address"] for s in sessions if s["vrf"] == "peering"}
    default = {s["remote_address"] for s in sessions if s["vrf"] in ("", "global")}
    assert in_vrf and default and len(in_vrf) + len(default) == len(sessions)
    return in_vrf, default


def junos_neighbors(config: str) -> dict[str, set[str]]:
    """Neighbor addresses by where their group is: ``protocols`` or an instance's name."""
    found: dict[str, set[str]] = {}

    def walk(statement: junos.Statement, place: str) -> None:
        for child in statement.children or []:
            if child.words[0] == "neighbor":
                found.setdefault(place, set()).add(child.words[1])
            elif place == "routing-instances":  # an instance's name
                walk(child, child.text)
            else:
                walk(child, place or child.text)

    walk(junos.parse(config), "")
    return found


def cisco_neighbors(config: str) -> dict[str, set[str]]:
    """Neighbor addresses (in blocks or lines) by the VRF of the BGP section they are in."""
    found: dict[str, set[str]] = {}

    def walk(node: Node, vrf: str) -> None:
        for child in node.children:
            words = child.text.split()
            if child.text.startswith("router bgp "):
                walk(child, words[4] if len(words) == 5 else "global")
            elif words[0] == "vrf" and len(words) == 2:
                walk(child, words[1])
            elif words[0] == "neighbor" and re.fullmatch(r"[0-9a-f:.]+", words[1]):
                found.setdefault(vrf, set()).add(words[1])
            else:
                walk(child, vrf)

    walk(parse_cisco(config), "")
    return found


@pytest.mark.parametrize("platform", ["junos", "iosxr", "eos", "frr"])
def test_a_vrf_session_is_in_its_vrf_and_not_the_global_instance(
    loaded: LoadedInventory, platform: str
) -> None:
    """Junos: under routing-instances peering; IOS-XR and EOS: under router bgp's
    vrf peering; FRR: in router bgp 64501 vrf peering. The transit sessions stay
    in the default table."""
    in_vrf, default = core1_tables(loaded)
    config = rendered(loaded, platform, "core1")
    if platform == "junos":
        assert junos_neighbors(config) == {"protocols": default, "peering": in_vrf}
    else:
        assert cisco_neighbors(config) == {"global": default, "peering": in_vrf}
    # where the platform's groups live: Junos and FRR in the instance, IOS-XR and EOS global
    group = {
        "junos": "                group NP_LAB_IX_2_V6 {\n",
        "iosxr": "\n neighbor-group NP_LAB_IX_2_V6\n",
        "eos": "\n   neighbor NP_LAB_IX_2_V6 peer group\n",
        "frr": "router bgp 64501 vrf peering\n neighbor NP_LAB_IX_2_V6 peer-group\n",
    }[platform]
    assert config.count(group) == 1


@BIRD
def test_bird_notes_the_vrf_of_a_session_it_keeps_in_its_one_table(
    loaded: LoadedInventory,
) -> None:
    in_vrf, default = core1_tables(loaded)
    config = rendered(loaded, "bird", "core1")
    note = "# VRF peering: this template keeps one table"
    noted = set()
    for block in config.split("\nprotocol bgp ")[1:]:
        address = re.search(r"\n  neighbor (\S+) port", block)
        assert address is not None
        before = config.split(f"protocol bgp {block.split()[0]} ")[0].splitlines()[-1]
        if before.startswith(note):
            noted.add(address.group(1))
    assert noted == in_vrf and not noted & default
    # the note only: no protocol bound to a VRF, no channel on another table
    assert not [line for line in config.splitlines() if re.match(r"\s*(vrf|table)\b", line)]
    check_bird(config)


UNSAFE_VRFS = ['peering"; }', "peer ing", "peering\n}", "-peering", "x" * 64, "default"]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("vrf", UNSAFE_VRFS)
def test_a_vrf_that_is_not_a_safe_name_is_refused(
    loaded: LoadedInventory, platform: str, vrf: str
) -> None:
    """Written bare into every platform's configuration, a VRF is a safe word; one that
    could leave its line, or that names the default table, fails the router."""
    sessions = [dict(s) for s in context(loaded.inventory.hosts["core1"])["sessions"]]
    sessions[-1]["vrf"] = vrf
    refusal = "names the default table" if vrf == "default" else "is not a safe name"
    with pytest.raises(TemplateFailed, match=refusal):
        rendered(loaded, platform, "core1", sessions=sessions)


@pytest.mark.parametrize("vrf", UNSAFE_VRFS[:-1])
def test_the_inventory_refuses_a_vrf_that_is_not_a_safe_name(vrf: str) -> None:
    with pytest.raises(ValidationError, match="vrf"):
        IXConnection(router="core1", ipv6="fd00:7f8:2::9", vrf=vrf)
    with pytest.raises(ValidationError, match="vrf"):
        DirectSession(router="core1", remote_asn=65001, remote_address="192.0.2.1", vrf=vrf)


VRF_RUNNING = {
    "junos": JUNOS_VRF_RUNNING,
    "iosxr": IOSXR_VRF_RUNNING.replace("router bgp 64500", "router bgp 64501"),
    "eos": EOS_VRF_RUNNING.replace("router bgp 64500", "router bgp 64501"),
    "frr": FRR_VRF_RUNNING.replace("router bgp 64500", "router bgp 64501"),
}


@pytest.mark.parametrize("platform", sorted(VRF_RUNNING))
def test_core1_merges_into_the_operators_vrf(loaded: LoadedInventory, platform: str) -> None:
    """The rendered VRF sessions merge into a router where the operator has VRF peering
    (its RD, route targets, own neighbor): ours go in, the stale one of ours goes, and
    nothing of the operator's is named."""
    in_vrf, _ = core1_tables(loaded)
    plan = plan_merge(platform, rendered(loaded, platform, "core1"), VRF_RUNNING[platform], "NP_")
    assert_operators_vrf_untouched(plan.config)
    if platform == "junos":
        assert plan.removed == ("group NP_OLD_V6",)
        assert junos_neighbors(plan.config)["peering"] == in_vrf
    else:
        assert plan.removed == ("neighbor fd00:7f8:2::99 (vrf peering)",)
        assert in_vrf <= cisco_neighbors(plan.config)["peering"]


def mock_responses(
    directory: Path,
    *,
    diff: str,
    running: str,
    commit: dict[str, Any] | None = None,
    unsaved: str = "",
) -> Path:
    """Recorded NAPALM answers, as the mock driver reads them; ``unsaved``: what EOS's
    ``show running-config diffs`` shows (nothing: a saved router)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cli.1.show_running_config_diffs.0").write_text(unsaved)
    for name, body in (
        ("get_config.1", {"running": running, "candidate": "", "startup": ""}),
        ("load_merge_candidate.1", {}),
        ("load_replace_candidate.1", {}),
        ("compare_config.1", {"diff": diff}),
        ("discard_config.1", {}),
        ("commit_config.1", commit or {}),
        ("confirm_commit.1", {}),
        ("is_alive.1", {"is_alive": True}),
        ("get_facts.1", {"hostname": "core1"}),
    ):
        (directory / name).write_text(json.dumps(body))
    return directory


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every candidate the mock driver is given: (method, config)."""
    seen: list[tuple[str, str]] = []
    for method in ("load_merge_candidate", "load_replace_candidate"):
        original = getattr(MockDriver, method)

        def record(
            self: MockDriver,
            filename: str | None = None,
            config: str | None = None,
            _original: Any = original,
            _method: str = method,
        ) -> None:
            seen.append((_method, config or ""))
            _original(self, filename=filename, config=config)

        monkeypatch.setattr(MockDriver, method, record)
    yield seen


@pytest.fixture
def mock_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """core1 as a router that cannot run here: its platform's semantics, NAPALM's mock
    driver in its place (connection_options napalm platform: mock)."""
    shutil.copytree(FIXTURES, tmp_path / "inventory")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    hosts = tmp_path / "inventory" / "hosts.yaml"
    hosts.write_text(
        hosts.read_text().replace(
            "  platform: junos\n",
            "  platform: junos\n  connection_options:\n    napalm:\n      platform: mock\n"
            f"      extras:\n        optional_args: {{path: {tmp_path / 'mock'}}}\n",
        )
    )
    (tmp_path / "config.yaml").write_text(
        "inventory:\n  plugin: PeeringInventory\n  options:\n    inventory_dir: inventory\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def as_platform(project: Path, platform: str, data: str = "") -> None:
    """core1 is a ``platform`` router rendered with that platform's template."""
    hosts = project / "inventory" / "hosts.yaml"
    hosts.write_text(hosts.read_text().replace("  platform: junos\n", f"  platform: {platform}\n"))
    groups = project / "inventory" / "groups.yaml"
    groups.write_text(groups.read_text().replace("junos/peering.j2", f"{platform}/peering.j2"))
    if data:
        hosts.write_text(
            hosts.read_text().replace("    local_asn: 64501\n", f"    local_asn: 64501\n{data}")
        )


@pytest.mark.parametrize("platform", ["junos", "iosxr", "eos"])
def test_only_merge_with_our_objects_and_removals(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]], platform: str
) -> None:
    """The candidate is a merge of nornir-peering's objects and the removal of its stale
    ones, worked out from the router's running configuration; the diff shown is the
    router's own (compare_config), and only --commit commits it."""
    as_platform(mock_project, platform)
    diff = "[edit protocols bgp group NP_LAB_IX_2_V6]\n+    neighbor fd00:7f8:2::11 { ... }"
    mock_responses(mock_project / "mock", diff=diff, running=RUNNING[platform])
    dry = json.loads(
        run("configure-routers", "--state", str(small_state), "--limit", "core1", "--json").stdout
    )
    # the operator's eBGP neighbors that keep our communities are named, nothing more
    exposed = {"junos": "", "iosxr": "10.0.0.2 (AS64500)", "eos": "192.0.2.77 (AS65100)"}
    [core1] = dry["routers"]
    assert core1.pop("note").endswith(exposed[platform])
    assert core1 == {
        "router": "core1",
        "status": "changed",
        "committed": False,
        "added": 1,
        "removed": 0,
        "diff": diff,
    }
    [(method, candidate)] = loads
    assert method == "load_merge_candidate"
    # its stale objects go; nothing of the operator's is named
    stale = {
        "junos": [
            "delete:\n        group NP_OLD_IX_V4;",
            "delete:\n    policy-statement NP_STALE;",
        ],
        "iosxr": ["no neighbor 127.0.1.11", "no prefix-set NP_IRR_AS65009_V4"],
        "eos": ["no neighbor 127.0.1.11", "no neighbor 127.0.1.12"],
    }[platform]
    for removal in stale:
        assert removal in candidate, removal
    for foreign in ("IBGP", "RR-CLIENTS", "TRANSIT", "CUSTOMERS", "10.0.0.2", "192.0.2.77"):
        assert not re.search(rf"(?<![\w.]){re.escape(foreign)}(?![\w.])", candidate), foreign
    result = run(
        "configure-routers", "--state", str(small_state), "--limit", "core1", "--commit", "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["routers"][0]["committed"] is True
    assert [method for method, _ in loads] == ["load_merge_candidate"] * 2


# a whole configuration, for deploy: replace: the platform's base stanzas, then the example
# template's BGP and policy
WHOLE = {
    "junos": "system {\n    host-name core1;\n}\ninterfaces {\n    ge-0/0/0 {\n"
    "        unit 0;\n    }\n}\n",
    "iosxr": "hostname core1\ninterface GigabitEthernet0/0/0/0\n ipv4 address 192.0.2.9 "
    "255.255.255.0\n!\n",
    "eos": "hostname core1\ninterface Ethernet1\n   no switchport\n!\n",
}


def whole_template(project: Path, platform: str) -> None:
    """core1's group renders a whole configuration: WHOLE, then the example template."""
    (project / "templates" / platform / "whole.j2").write_text(
        WHOLE[platform] + f'{{% include "{platform}/peering.j2" %}}\n'
    )
    groups = project / "inventory" / "groups.yaml"
    groups.write_text(groups.read_text().replace("/peering.j2", "/whole.j2"))


def configure(small_state: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``configure-routers --limit core1 --json ARGS``: the exit code and core1's outcome."""
    result = run(
        "configure-routers", "--state", str(small_state), "--limit", "core1", "--json", *args
    )
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)["routers"][0]


@pytest.mark.parametrize("platform", ["junos", "iosxr", "eos"])
def test_replace_only_when_the_router_says_so_and_the_command_line_too(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]], platform: str
) -> None:
    """A router whose own data says deploy: replace gets NAPALM's replace: a dry run shows
    its diff, a commit needs --replace."""
    as_platform(mock_project, platform, "    deploy: replace\n")
    whole_template(mock_project, platform)
    mock_responses(mock_project / "mock", diff="+ x", running=WHOLE[platform])
    code, dry = configure(small_state)
    assert code == 0 and dry["status"] == "changed", dry
    assert "a commit needs --replace" in dry["note"]
    [(method, candidate)] = loads
    assert method == "load_replace_candidate"
    assert candidate == rendered_for(mock_project, small_state, platform)
    code, refused = configure(small_state, "--commit")
    assert code == 1 and refused["status"] == "failed" and not refused["committed"]
    assert "give --replace" in refused["note"]
    assert len(loads) == 1  # nothing loaded for the refused commit
    code, committed = configure(small_state, "--commit", "--replace")
    assert code == 0 and committed["committed"] is True, committed
    assert [method for method, _ in loads] == ["load_replace_candidate"] * 2


@pytest.mark.parametrize("platform", ["junos", "iosxr", "eos"])
def test_replace_with_a_template_written_for_merge_is_refused_before_any_router(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]], platform: str
) -> None:
    """The example templates render only BGP and policy: as a replace candidate they
    would wipe interfaces and management. Refused at render, whatever the command line."""
    as_platform(mock_project, platform, "    deploy: replace\n")
    mock_responses(mock_project / "mock", diff="+ x", running=WHOLE[platform])
    for args in ((), ("--commit", "--replace", "--force")):
        code, core1 = configure(small_state, *args)
        assert code == 1 and core1["status"] == "failed"
        assert "which every whole" in core1["note"] and "nothing was loaded" in core1["note"]
    assert loads == []
    rendered_text = run("render", "--state", str(small_state), "--limit", "core1")
    assert rendered_text.exit_code == 1 and "which every whole" in rendered_text.stderr


@pytest.mark.parametrize("platform", ["junos", "iosxr", "eos"])
def test_a_replace_that_removes_an_interface_is_refused_unless_forced(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]], platform: str
) -> None:
    """The guard counts what a replace removes of the router's own stanzas: an interface
    the template does not render is refused with the diff, --force commits it."""
    as_platform(mock_project, platform, "    deploy: replace\n")
    whole_template(mock_project, platform)
    extra = {
        "junos": WHOLE["junos"].replace(
            "interfaces {\n", "interfaces {\n    ge-0/0/9 {\n        unit 0;\n    }\n"
        ),
        "iosxr": WHOLE["iosxr"] + "interface GigabitEthernet0/0/0/9\n shutdown\n!\n",
        "eos": WHOLE["eos"] + "interface Ethernet9\n   no switchport\n!\n",
    }[platform]
    mock_responses(mock_project / "mock", diff="- x", running=extra)
    code, refused = configure(small_state, "--commit", "--replace")
    assert code == 1 and refused["status"] == "failed" and not refused["committed"]
    interface = {
        "junos": "interfaces ge-0/0/9",
        "iosxr": "interface GigabitEthernet0/0/0/9",
        "eos": "interface Ethernet9",
    }[platform]
    assert (
        f"the replace would remove 1 stanza of the router's configuration ('{interface}')"
        in (refused["note"])
    )
    assert refused["diff"] == "- x"
    code, forced = configure(small_state, "--commit", "--replace", "--force")
    assert code == 0 and forced["committed"] is True


@pytest.mark.parametrize("where", ["groups.yaml", "defaults.yaml"])
def test_replace_is_never_inherited(mock_project: Path, small_state: Path, where: str) -> None:
    """One line in a group or the defaults would switch every router below it to replace:
    refused with the file, the line and the key."""
    path = mock_project / "inventory" / where
    text = path.read_text()
    if where == "groups.yaml":
        text = text.replace(
            "core-routers:\n  data:\n", "core-routers:\n  data:\n    deploy: replace\n"
        )
    else:
        text = text.replace("data:\n", "data:\n  deploy: replace\n")
    path.write_text(text)
    result = run("configure-routers", "--state", str(small_state), "--limit", "core1")
    assert result.exit_code == 2
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "deploy: replace" in t)
    assert f"inventory/{where}:{line}: " in result.stderr
    assert "data.deploy: 'replace' is set on a router in hosts.yaml" in result.stderr


def rendered_for(project: Path, small_state: Path, platform: str) -> str:
    result = run("render", "--state", str(small_state), "--limit", "core1")
    assert result.exit_code == 0, result.stderr
    return result.stdout.split("\n", 1)[1]


def test_confirm_is_refused_before_anything_is_loaded(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]]
) -> None:
    as_platform(mock_project, "iosxr")
    mock_responses(mock_project / "mock", diff="+ x", running=IOSXR_RUNNING)
    result = run(
        "configure-routers",
        "--state",
        str(small_state),
        "--limit",
        "core1",
        "--commit",
        "--confirm",
        "120",
        "--json",
    )
    assert result.exit_code == 1
    [core1] = json.loads(result.stdout)["routers"]
    assert "NAPALM's IOS-XR driver cannot commit with an automatic revert" in core1["note"]
    assert loads == []


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Every call the mock driver answers, in order: (method, its optional_args for open)."""
    seen: list[tuple[str, Any]] = []
    for method in ("open", "close", "commit_config", "confirm_commit", "discard_config"):
        original = getattr(MockDriver, method)

        def record(
            self: MockDriver,
            *args: Any,
            _original: Any = original,
            _method: str = method,
            **kwargs: Any,
        ) -> Any:
            seen.append((_method, getattr(self, "optional_args", None)))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(MockDriver, method, record)
    original_init = MockDriver.__init__

    def init(self: MockDriver, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.optional_args = dict(kwargs.get("optional_args") or {})

    monkeypatch.setattr(MockDriver, "__init__", init)
    return seen


def test_eos_refuses_a_commit_that_would_save_unsaved_changes(
    mock_project: Path, small_state: Path, calls: list[tuple[str, Any]]
) -> None:
    """NAPALM's EOS commit ends in write memory: while the running configuration holds
    changes not saved to startup (EOS's own 'show running-config diffs'), a commit would
    save them too. Refused with the diff; --force commits (and saves) anyway."""
    as_platform(mock_project, "eos")
    mock_responses(
        mock_project / "mock",
        diff="+ x",
        running=RUNNING["eos"],
        unsaved="--- flash:/startup-config\n+++ system:/running-config\n@@ -10,0 +11 @@\n"
        "+route-map TRANSIT-OUT permit 10\n",
    )
    code, dry = configure(small_state)
    assert code == 0 and "a commit would be refused" in dry["note"]
    assert "'+route-map TRANSIT-OUT permit 10'" in dry["note"]
    code, refused = configure(small_state, "--commit")
    assert code == 1 and refused["status"] == "failed" and refused["diff"] == "+ x"
    assert "1 line(s) not saved to startup-config" in refused["note"]
    assert "commit_config" not in [method for method, _ in calls]
    code, forced = configure(small_state, "--commit", "--force")
    assert code == 0 and forced["committed"] is True


def test_eos_confirm_of_a_day_or_more_is_refused(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]]
) -> None:
    """NAPALM writes EOS's commit timer as a time of day: 86400 s would be 00:00:00."""
    as_platform(mock_project, "eos")
    mock_responses(mock_project / "mock", diff="+ x", running=RUNNING["eos"])
    code, refused = configure(small_state, "--commit", "--confirm", "86400")
    assert code == 1 and "wraps at 24 hours" in refused["note"] and loads == []
    code, confirmed = configure(small_state, "--commit", "--confirm", "86399")
    assert code == 0 and confirmed["committed"] is True


def test_iosxr_never_commits_an_empty_candidate(
    mock_project: Path, small_state: Path, calls: list[tuple[str, Any]]
) -> None:
    """pyIOSXR fails a commit of nothing ("The target configuration buffer is empty."):
    with --no-commit-check an unchanged IOS-XR router is left alone, not failed."""
    as_platform(mock_project, "iosxr")
    empty = {
        "exception": "napalm.base.exceptions.CommitError",
        "args": ["The target configuration buffer is empty."],
        "kwargs": {},
    }
    mock_responses(
        mock_project / "mock",
        diff="",
        running=RUNNING["iosxr"],
        commit=empty,
    )
    code, core1 = configure(small_state, "--commit", "--no-commit-check")
    assert code == 0, core1
    assert (core1["status"], core1["committed"]) == ("unchanged", False)
    assert "commit_config" not in [method for method, _ in calls]


def test_junos_deploys_under_the_configuration_lock(
    mock_project: Path, small_state: Path, calls: list[tuple[str, Any]]
) -> None:
    """A Junos deploy opens its connection with config_lock (the lock from open to close:
    no discard or confirm ever runs on a candidate someone else may be editing), closes
    it once done, and confirms a commit even under an engineer's global dry run."""
    mock_responses(mock_project / "mock", diff="+ x", running=RUNNING["junos"])
    config = mock_project / "config.yaml"
    config.write_text(config.read_text() + f"    state: {small_state}\n")
    nr = InitNornir(config_file=str(config), dry_run=True, logging={"enabled": False})
    core1 = nr.filter(name="core1")
    result = core1.run(task=deploy_config, dry_run=False, revert_in=120)
    assert not result.failed, result["core1"][0].exception
    assert result["core1"][0].committed is True
    methods = [method for method, _ in calls]
    assert methods == ["open", "commit_config", "confirm_commit", "close"]
    opened = calls[0][1]
    assert (opened["config_lock"], opened["lock_disable"]) == (True, False)
    assert "napalm" not in nr.inventory.hosts["core1"].connections


def test_iosxr_deploys_under_the_configuration_lock(
    mock_project: Path, small_state: Path, calls: list[tuple[str, Any]]
) -> None:
    """pyIOSXR retries a commit another session got in before by committing 'show
    configuration merge' whole, which loses our removals: an IOS-XR deploy holds the lock
    from open to close, so no other session commits in between."""
    as_platform(mock_project, "iosxr")
    running = RUNNING["iosxr"]
    mock_responses(mock_project / "mock", diff="+ x", running=running)
    code, core1 = configure(small_state, "--commit")
    assert code == 0 and core1["committed"] is True
    assert [method for method, _ in calls] == ["open", "commit_config", "close"]
    assert calls[0][1]["config_lock"] is True


def test_junos_reverts_after_whole_minutes(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]]
) -> None:
    mock_responses(mock_project / "mock", diff="+ x", running=RUNNING["junos"])
    args = (
        "configure-routers",
        "--state",
        str(small_state),
        "--limit",
        "core1",
        "--commit",
        "--json",
    )
    refused = run(*args, "--confirm", "90")
    assert refused.exit_code == 1 and loads == []
    assert "whole minutes" in json.loads(refused.stdout)["routers"][0]["note"]
    confirmed = run(*args, "--confirm", "120")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert json.loads(confirmed.stdout)["routers"][0]["committed"] is True


def test_junos_rejecting_its_config_fails_that_router(
    mock_project: Path, small_state: Path
) -> None:
    mock_responses(
        mock_project / "mock",
        diff="+ x",
        running=RUNNING["junos"],
        commit={
            "exception": "napalm.base.exceptions.CommitError",
            "args": ["error: configuration check-out failed"],
            "kwargs": {},
        },
    )
    result = run(
        "configure-routers", "--state", str(small_state), "--limit", "core1", "--commit", "--json"
    )
    assert result.exit_code == 1
    [core1] = json.loads(result.stdout)["routers"]
    assert core1["status"] == "failed"
    assert "configuration check-out failed" in core1["note"]


def test_a_collision_with_the_operators_neighbor_fails_before_loading(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]]
) -> None:
    """core1's transit session 192.0.2.1 is already on the router, in the operator's group."""
    as_platform(mock_project, "eos")
    running = EOS_RUNNING.replace("router bgp 64500", "router bgp 64501")
    mock_responses(mock_project / "mock", diff="+ x", running=running)
    result = run("configure-routers", "--state", str(small_state), "--limit", "core1", "--json")
    assert result.exit_code == 1
    [core1] = json.loads(result.stdout)["routers"]
    assert (
        "neighbor 192.0.2.1 (vrf global) is already on the router in its group TRANSIT"
        in (core1["note"])
    )
    assert "router bgp" not in core1["note"]
    assert loads == []


def test_router_without_template_is_skipped(mock_project: Path, small_state: Path) -> None:
    result = run(
        "configure-routers", "--state", str(small_state), "--limit", "edge2", "--commit", "--json"
    )
    assert result.exit_code == 0, result.stderr
    [edge2] = json.loads(result.stdout)["routers"]
    assert (edge2["status"], edge2["committed"], edge2["note"]) == ("skipped", False, "no template")
    rendered_text = run("render", "--state", str(small_state), "--limit", "edge2")
    assert rendered_text.exit_code == 0 and "edge2: skipped, no template" in rendered_text.stderr


IRR = {"prefixes": ["12.9.0.0/16", "12.9.1.128/25", "13.9.1.128/25"], "asns": [65001]}


def rendered_with_irr(
    loaded: LoadedInventory, platform: str, lists: dict[str, Any], family: int | None = 4
) -> str:
    """edge1's configuration where AS65001's sessions (of ``family``; None: both) carry
    the IRR ``lists``, checked by BIRD itself or by the ownership rule."""
    sessions = [dict(s) for s in context(loaded.inventory.hosts["edge1"])["sessions"]]
    for session in sessions:
        if session["remote_asn"] == 65001 and family in (None, session["family"]):
            session["prefix_list"] = lists
    config = rendered(loaded, platform, "edge1", sessions=sessions)
    if platform == "bird":
        check_bird(config)
    else:
        check_rendered(platform, config, "NP_")
    return config


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        pytest.param(
            "bird", ["[ 12.9.0.0/16{16,24} ];", "if net !~ NP_IRR_AS65001_V4"], marks=BIRD
        ),
        (
            "frr",
            [
                "seq 5 permit 12.9.0.0/16 le 24",
                "match ip address prefix-list NP_IRR_AS65001_V4",
            ],
        ),
        (
            "junos",
            [
                "route-filter 12.9.0.0/16 upto /24;",
                "import [ NP_IRR_AS65001_V4 NP_IMPORT_IX_IN_V4_AS65001 ];",
            ],
        ),
        (
            "iosxr",
            [
                "12.9.0.0/16 le 24\nend-set",
                "if not destination in NP_IRR_AS65001_V4 then",
            ],
        ),
        (
            "eos",
            [
                "seq 10 permit 12.9.0.0/16 le 24",
                "match ip address prefix-list NP_IRR_AS65001_V4",
            ],
        ),
    ],
)
def test_irr_prefix_lists_become_filters(
    loaded: LoadedInventory, platform: str, expected: list[str]
) -> None:
    """Once the IRR tables fill a session's prefix_list, every template filters on it.
    An entry longer than /24 is left out, inside a shorter one or not: every import
    rejects its routes anyway, and on Junos, which judges a route by its longest
    route-filter alone, the /25 inside the /16 would reject the /16's own /24s."""
    config = rendered_with_irr(loaded, platform, IRR)
    for text in expected:
        assert text in config, text
    assert "12.9.1.128" not in config and "13.9.1.128" not in config
    assert "12.9.0.0" not in rendered(loaded, platform, "edge1")


AGGREGATED = {
    "prefixes": [
        PrefixEntry("12.1.0.0/23", False, 24, 24),
        PrefixEntry("12.9.0.0/16", False, 16, 20),
    ],
    "asns": [65001],
}


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        pytest.param(
            "bird",
            [
                "define NP_ASPATH_AS65001 = [ 65001, 65200 ];",
                "if bgp_path.last !~ NP_ASPATH_AS65001 then reject;",
            ],
            marks=BIRD,
        ),
        (
            "frr",
            [
                "bgp as-path access-list NP_ASPATH_AS65001 seq 5 permit _65001$\n"
                "bgp as-path access-list NP_ASPATH_AS65001 seq 10 permit _65200$\n",
                " match ip address prefix-list NP_IRR_AS65001_V4\n"
                " match as-path NP_ASPATH_AS65001\n",
            ],
        ),
        (
            "eos",
            [
                "ip as-path access-list NP_ASPATH_AS65001 permit _65001$ any\n"
                "ip as-path access-list NP_ASPATH_AS65001 permit _65200$ any\n",
                "   match as-path NP_ASPATH_AS65001\n",
            ],
        ),
        (
            "iosxr",
            [
                "as-path-set NP_ASPATH_AS65001\n  ios-regex '_65001$',\n"
                "  ios-regex '_65200$'\nend-set",
                "  if not as-path in NP_ASPATH_AS65001 then\n    drop\n  endif",
            ],
        ),
        (
            "junos",
            [
                'as-path-group NP_ASPATH_AS65001 {\n        as-path AS65001 ".* 65001";\n'
                '        as-path AS65200 ".* 65200";\n    }',
                "                as-path-group NP_ASPATH_AS65001;\n            }\n"
                "            then next policy;",
            ],
        ),
    ],
)
def test_the_as_path_list_filters_the_origin(
    loaded: LoadedInventory, platform: str, expected: list[str]
) -> None:
    """The ASNs of the peer's AS-SET (the AS-path list): a route whose origin AS is not
    among them is rejected, whatever its prefix; both families share the one list."""
    lists = {"prefixes": ["12.9.0.0/16"], "asns": [65001, 65200]}
    config = rendered_with_irr(loaded, platform, lists, family=None)
    for text in expected:
        assert text in config, text
    assert config.count(expected[0]) == 1  # one list for both families' sessions


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        pytest.param("bird", ["12.1.0.0/23{24,24}, 12.9.0.0/16{16,24}"], marks=BIRD),
        ("frr", ["permit 12.1.0.0/23 ge 24 le 24", "permit 12.9.0.0/16 le 24"]),
        ("eos", ["permit 12.1.0.0/23 ge 24 le 24", "permit 12.9.0.0/16 le 24"]),
        ("iosxr", ["12.1.0.0/23 ge 24 le 24,", "12.9.0.0/16 le 24\nend-set"]),
        (
            "junos",
            [
                "route-filter 12.1.0.0/23 prefix-length-range /24-/24;",
                "route-filter 12.9.0.0/16 upto /24;",
            ],
        ),
    ],
)
def test_aggregated_irr_entries_keep_their_lower_bound(
    loaded: LoadedInventory, platform: str, expected: list[str]
) -> None:
    """bgpq4 -A turns two registered /24s into 12.1.0.0/23 ge 24 le 24: the /23 itself,
    which no route object registers, must not be accepted (and more-specifics of a
    registered route are, up to /24)."""
    config = rendered_with_irr(loaded, platform, AGGREGATED)
    for text in expected:
        assert text in config, text


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        pytest.param(
            "bird",
            ["define NP_IRR_AS65001_V4 = [  ];", "if net !~ NP_IRR_AS65001_V4 then reject;"],
            marks=BIRD,
        ),
        (
            "frr",
            [
                "ip prefix-list NP_IRR_AS65001_V4 seq 5 deny 0.0.0.0/0 le 32",
                "match ip address prefix-list NP_IRR_AS65001_V4",
            ],
        ),
        ("eos", ["ip prefix-list NP_IRR_AS65001_V4\n   seq 10 deny 0.0.0.0/0 le 32\n"]),
        # nothing after the drop: the policy is the drop alone
        ("iosxr", ["route-policy NP_IMPORT_IX_IN_V4_AS65001\n  drop\nend-policy\n"]),
        ("junos", ["policy-statement NP_IRR_AS65001_V4 {\n        then reject;\n    }"]),
    ],
)
def test_an_empty_irr_list_rejects_every_route(
    loaded: LoadedInventory, platform: str, expected: list[str]
) -> None:
    """The IRR holds nothing for the peer in this family (fetched, empty): every route of
    it is rejected, on every platform; Junos's route-filter-less term would accept all."""
    config = rendered_with_irr(loaded, platform, {"prefixes": [], "asns": []})
    for text in expected:
        assert text in config, text
    assert "term irr" not in config.split("NP_IRR_AS65001_V4 {")[-1][:60]
    assert "prefix-set NP_IRR_AS65001_V4" not in config


@BIRD
def test_a_list_longer_than_the_platform_holds_fails_the_router(small_state: Path) -> None:
    """Before the template runs: the router's own prefix_list_limit, else the setting's
    limit for its platform; a list at the limit renders."""
    loaded = PeeringInventory(
        inventory_dir=str(FIXTURES), state=str(small_state)
    ).load_with_problems()
    edge1 = loaded.inventory.hosts["edge1"]  # bird
    three = {"prefixes": ["12.9.0.0/24", "12.9.1.0/24", "12.9.2.0/24"], "asns": [65001]}
    for session in edge1["sessions"]:
        if session["remote_asn"] == 65001 and session["family"] == 4:
            session["prefix_list"] = three
    env = environment(REPO / "templates")
    edge1.data["prefix_list_limit"] = 2
    with pytest.raises(ConfigRejected) as failed:
        render_router(env, edge1)
    assert str(failed.value) == (
        "AS65001's IPv4 IRR list has 3 entries, more than the 2 one list may have on bird "
        "(prefix_list_limit in the router's data, prefix_list_limits in config.yaml); "
        "nothing was deployed"
    )
    edge1.data["prefix_list_limit"] = 3
    assert "12.9.2.0/24{24,24}" in render_router(env, edge1).config
    del edge1.data["prefix_list_limit"]
    loaded.inventory.defaults.data[TOOLKIT_DATA]["prefix_list_limits"] = {"bird": 1}
    with pytest.raises(ConfigRejected, match="more than the 1 one list may have on bird"):
        render_router(env, edge1)
    assert prefix_list_limit(edge1) == 1


def test_iosxr_counts_every_line_of_routing_policy_together(small_state: Path) -> None:
    """IOS-XR's limit is the total of routing-policy lines, every set and policy together
    (rpl maximum lines), not one list's length: three lists of 40 entries each fit a
    per-list limit of 100, and not a total of 100 lines."""
    loaded = PeeringInventory(
        inventory_dir=str(FIXTURES), state=str(small_state)
    ).load_with_problems()
    core1 = loaded.inventory.hosts["core1"]
    core1.platform = "iosxr"
    core1.data["template"] = "iosxr/peering.j2"
    forty = {"prefixes": [f"12.{i}.0.0/16" for i in range(40)], "asns": [65001]}
    for session in core1["sessions"]:
        session["prefix_list"] = forty
    env = environment(REPO / "templates")
    total = rpl.count(render_router(env, core1).config).lines
    assert total > 3 * 40
    core1.data["prefix_list_limit"] = total - 1
    with pytest.raises(ConfigRejected) as failed:
        render_router(env, core1)
    assert str(failed.value).startswith(
        f"the rendered routing policy has {total} lines, more than the {total - 1} lines of "
        "routing policy iosxr holds in all (rpl maximum;"
    )
    core1.data["prefix_list_limit"] = total
    assert render_router(env, core1).config
    assert PeeringSettings().prefix_list_limit("iosxr_netconf") == 131_072


def test_iosxr_operators_policy_shares_the_budget(
    mock_project: Path, small_state: Path, loads: list[tuple[str, str]]
) -> None:
    """At deploy, the operator's own routing policy counts too: ours fits alone, not
    with theirs, and nothing is loaded."""
    as_platform(mock_project, "iosxr")
    rendered_text = rendered_for(mock_project, small_state, "iosxr")
    ours = rpl.count(rendered_text).lines
    theirs = "".join(f"prefix-set OPERATOR_{i}\n  192.0.2.0/24\nend-set\n" for i in range(10))
    running = RUNNING["iosxr"]
    hosts = mock_project / "inventory" / "hosts.yaml"
    limit = ours + rpl.count(running, skip_prefix="NP_").lines + 15
    hosts.write_text(
        hosts.read_text().replace(
            "    local_asn: 64501\n", f"    local_asn: 64501\n    prefix_list_limit: {limit}\n"
        )
    )
    mock_responses(mock_project / "mock", diff="+ x", running=running + theirs)
    code, core1 = configure(small_state)
    assert code == 1 and "the router's routing policy with ours has" in core1["note"]
    assert loads == []
    mock_responses(mock_project / "mock", diff="+ x", running=running)
    code, core1 = configure(small_state)
    assert code == 0, core1
    # the router's own rpl maximum is what counts where it sets one
    raised = f"rpl maximum lines {limit + 100}\n"
    mock_responses(mock_project / "mock", diff="+ x", running=raised + running + theirs)
    code, core1 = configure(small_state)
    assert code == 0, core1
    few = "rpl maximum policies 3\n"
    mock_responses(mock_project / "mock", diff="+ x", running=few + raised + running)
    code, core1 = configure(small_state)
    assert (
        code == 1 and "route-policies, more than the 3 iosxr holds (the router's" in (core1["note"])
    )


def test_prefix_list_limits_setting() -> None:
    assert PeeringSettings().prefix_list_limit("junos") == 85_000
    from_env = PeeringSettings(prefix_list_limits="junos=10, eos = 20")  # type: ignore[arg-type]
    assert (from_env.prefix_list_limit("junos"), from_env.prefix_list_limit("eos")) == (10, 20)
    assert from_env.prefix_list_limit("bird") == 500_000
    with pytest.raises(ValidationError, match="'junos' is not platform=number"):
        PeeringSettings(prefix_list_limits="junos")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="a list holds at least 1 entry, not 0"):
        PeeringSettings(prefix_list_limits={"eos": 0})


def with_policy(loaded: LoadedInventory, value: str) -> dict[str, Any]:
    """edge1's context where the ix-in policy also sets the community ``value``."""
    data = context(loaded.inventory.hosts["edge1"])
    policies = {**data["policies"], "ix-in": {**data["policies"]["ix-in"], "communities": ["x"]}}
    return {"policies": policies, "communities": {**data["communities"], "x": value}}


@pytest.mark.parametrize(
    ("platform", "value", "expected"),
    [
        pytest.param("bird", "rt 64500:7", "bgp_ext_community.add((rt, 64500, 7));", marks=BIRD),
        pytest.param("bird", "ro 64500:7", "bgp_ext_community.add((ro, 64500, 7));", marks=BIRD),
        ("junos", "rt 64500:7", "members [ target:64500:7 ];"),
        ("junos", "soo 64500:7", "members [ origin:64500:7 ];"),
        ("iosxr", "rt 64500:7", "set extcommunity rt (64500:7) additive"),
        ("eos", "rt 64500:7", "set extcommunity rt 64500:7 additive"),
        ("junos", "64500:0:7", "members [ large:64500:0:7 ];"),
        ("frr", "64500:0:7", "set large-community 64500:0:7 additive"),
    ],
)
def test_communities_rendered_by_type(
    loaded: LoadedInventory, platform: str, value: str, expected: str
) -> None:
    config = rendered(loaded, platform, "edge1", **with_policy(loaded, value))
    assert expected in config
    if platform == "bird":
        check_bird(config)


@pytest.mark.parametrize(
    ("platform", "value", "refusal"),
    [
        ("frr", "rt 64500:7", "FRR 8.4 cannot add an extended community"),
        ("iosxr", "soo 64500:7", "IOS-XR sets a site-of-origin on a neighbor"),
    ],
)
def test_communities_a_platform_cannot_set_are_refused(
    loaded: LoadedInventory, platform: str, value: str, refusal: str
) -> None:
    with pytest.raises(TemplateFailed, match=refusal):
        rendered(loaded, platform, "edge1", **with_policy(loaded, value))


@pytest.mark.parametrize(
    ("platform", "password", "refusal"),
    [
        ("junos", 'a"b', "junos cannot carry '\"'"),
        ("bird", "a\\b", "bird cannot carry '\\\\\\\\'"),
        ("frr", "a b", "frr cannot carry a space"),
        ("eos", "a?b", "eos cannot carry '?'"),
        ("iosxr", "a b", "iosxr cannot carry a space"),
        ("junos", "x" * 81, "81 characters, at most 80"),
        ("frr", "tab\there", "only printable ASCII"),
    ],
)
def test_passwords_are_refused_never_changed(
    loaded: LoadedInventory, platform: str, password: str, refusal: str
) -> None:
    sessions = [dict(s) for s in context(loaded.inventory.hosts["edge1"])["sessions"]]
    sessions[0]["password"] = password
    with pytest.raises(TemplateFailed) as error:
        rendered(loaded, platform, "edge1", sessions=sessions)
    assert refusal.replace("\\\\\\\\", "\\\\") in str(error.value)


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("bird", 'description "AS65001";'),
        ("frr", "description AS65001\n"),
        ("junos", 'description "AS65001";'),
        ("iosxr", "description AS65001\n"),
        ("eos", "description AS65001\n"),
    ],
)
def test_a_name_nothing_is_left_of_still_describes_the_session(
    loaded: LoadedInventory, platform: str, expected: str
) -> None:
    """A PeeringDB name of only forbidden characters must not leave a bare `description`
    (FRR, EOS and IOS-XR refuse it, and every commit of that router would fail)."""
    sessions = [dict(s) for s in context(loaded.inventory.hosts["edge1"])["sessions"]]
    for session in sessions:
        if session["remote_asn"] == 65001:
            session["name"] = '!!! "}" ;;'
    assert expected in rendered(loaded, platform, "edge1", sessions=sessions)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_password_reaches_the_config_unchanged(loaded: LoadedInventory, platform: str) -> None:
    sessions = [dict(s) for s in context(loaded.inventory.hosts["edge1"])["sessions"]]
    sessions[0]["password"] = "s3cr3t!&$#"
    config = rendered(loaded, platform, "edge1", sessions=sessions)
    # IOS-XR and Junos get it encoded (type 7, $9$), as they show it back
    if platform == "iosxr":
        found = re.findall(r"password encrypted (\S+)", config)
        assert "s3cr3t!&$#" in map(decrypt_type7, found) and "s3cr3t" not in config
    elif platform == "junos":
        found = re.findall(r'authentication-key "(\$9\$[^"]+)";', config)
        assert "s3cr3t!&$#" in map(decrypt_juniper_type9, found) and "s3cr3t" not in config
    else:
        assert "s3cr3t!&$#" in config


def test_poll_falls_back_to_get_bgp_neighbors(mock_project: Path, small_state: Path) -> None:
    """A driver without get_bgp_neighbors_detail (here: no recorded answer for it,
    so NAPALM's mock raises NotImplementedError) is polled with get_bgp_neighbors."""
    mock = mock_project / "mock"
    mock.mkdir()
    peers = {
        "192.0.2.1": {
            "local_as": 64501,
            "remote_as": 65001,
            "remote_id": "192.0.2.1",
            "is_up": True,
            "is_enabled": True,
            "description": "",
            "uptime": 10,
            "address_family": {
                "ipv4": {"received_prefixes": 12, "accepted_prefixes": 11, "sent_prefixes": 3}
            },
        },
        "198.51.100.9": {
            "local_as": 64501,
            "remote_as": 65077,
            "remote_id": "0.0.0.0",
            "is_up": False,
            "is_enabled": True,
            "description": "",
            "uptime": -1,
            "address_family": {},
        },
    }
    (mock / "get_bgp_neighbors.1").write_text(
        json.dumps({"global": {"router_id": "192.0.2.2", "peers": peers}})
    )
    result = run("poll-bgp-sessions", "--state", str(small_state), "--limit", "core1", "--json")
    assert result.exit_code == 0, result.stderr
    found = {s["remote_address"]: s for s in json.loads(result.stdout)["routers"][0]["sessions"]}
    transit = found["192.0.2.1"]
    assert (
        transit["state"],
        transit["received_prefixes"],
        transit["accepted_prefixes"],
        transit["advertised_prefixes"],
        transit["attention"],
    ) == ("Established", 12, 11, 3, "1 of 12 received prefixes filtered")
    assert found["198.51.100.9"]["attention"] == "unknown: on the router, not in the inventory"
    assert found["2001:db8::1"]["state"] == "not configured"


def test_routers_with_polling_off_are_not_polled(mock_project: Path, small_state: Path) -> None:
    """edge2's data says poll: false; edge1 is left out by --exclude."""
    mock = mock_project / "mock"
    mock.mkdir()
    (mock / "get_bgp_neighbors.1").write_text(
        json.dumps({"global": {"router_id": "x", "peers": {}}})
    )
    result = run("poll-bgp-sessions", "--state", str(small_state), "--exclude", "edge1", "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["router"] for r in json.loads(result.stdout)["routers"]] == ["core1"]


# -- the second vendor review: default route, customer origin, update-source, EOS families ---


def core1_rendered(
    loaded: LoadedInventory,
    platform: str,
    customer_lists: list[dict[str, Any]] | None = None,
    **session_changes: Any,
) -> str:
    """core1's configuration for ``platform``, its sessions changed by address first:
    ``{"192.0.2.1": {"accept_default": True}}``, and the inventory's customer lists if
    given. Checked by BIRD itself, or within the ownership rule."""
    sessions = [dict(s) for s in context(loaded.inventory.hosts["core1"])["sessions"]]
    for session in sessions:
        session.update(session_changes.get(session["remote_address"], {}))
    extra = {"customer_lists": customer_lists} if customer_lists is not None else {}
    config = rendered(loaded, platform, "core1", sessions=sessions, **extra)
    if platform == "bird":
        check_bird(config)
    else:
        check_rendered(platform, config, "NP_")
    return config


def block(config: str, start: str, end: str) -> str:
    """The text from the line that starts with ``start`` to the next line ``end``."""
    begin = config.index(start)
    return config[begin : config.index(end, begin + len(start))]


# what a platform writes for "shorter than /8, the default route too" and "shorter than
# /8 but not the default route", and where an import policy of that name starts and ends
SHORT_FORMS = {
    "bird": ("if net.len < 8 then reject;", "if net.len > 0 && net.len < 8 then reject;"),
    "frr": (
        "match ip address prefix-list NP_TOO_SHORT_V4",
        "match ip address prefix-list NP_SHORT_V4",
    ),
    "eos": (
        "match ip address prefix-list NP_TOO_SHORT_V4",
        "match ip address prefix-list NP_SHORT_V4",
    ),
    "iosxr": ("destination in NP_TOO_SHORT_V4", "destination in NP_SHORT_V4"),
    "junos": (
        "route-filter 0.0.0.0/0 upto /7;",
        "route-filter 0.0.0.0/0 prefix-length-range /1-/7;",
    ),
}
LISTS = {
    "frr": (
        "ip prefix-list NP_TOO_SHORT_V4 seq 5 permit 0.0.0.0/0 le 7",
        "ip prefix-list NP_SHORT_V4 seq 5 permit 0.0.0.0/0 ge 1 le 7",
    ),
    "eos": (
        "ip prefix-list NP_TOO_SHORT_V4\n   seq 10 permit 0.0.0.0/0 le 7",
        "ip prefix-list NP_SHORT_V4\n   seq 10 permit 0.0.0.0/0 ge 1 le 7",
    ),
    "iosxr": (
        "prefix-set NP_TOO_SHORT_V4\n  0.0.0.0/0 le 7\nend-set",
        "prefix-set NP_SHORT_V4\n  0.0.0.0/0 ge 1 le 7\nend-set",
    ),
}
POLICY_BLOCK = {
    "bird": ("filter {name}\n", "\n}}"),
    "frr": ("route-map {name} deny 10", "route-map {name} permit 50"),
    "eos": ("route-map {name} deny 10", "route-map {name} permit 50"),
    "iosxr": ("route-policy {name}\n", "end-policy"),
    "junos": ("    policy-statement {name} {{", "\n    }}\n"),
}


@pytest.mark.parametrize("platform", CHECKED_PLATFORMS)
def test_every_ebgp_import_rejects_the_default_and_too_short_prefixes(
    loaded: LoadedInventory, platform: str
) -> None:
    """0.0.0.0/0, ::/0 and anything shorter than /8 or /16 are rejected on every eBGP
    import (a bogon list of 0.0.0.0/8 and longer does not cover them); a transit session
    that asks for it takes the default route, and still nothing else that short."""
    plain = core1_rendered(loaded, platform)
    with_default = core1_rendered(loaded, platform, **{"192.0.2.1": {"accept_default": True}})
    too_short, short = SHORT_FORMS[platform]
    start, end = POLICY_BLOCK[platform]
    imports = re.findall(r"NP_IMPORT_[A-Z0-9_]+_V4(?:_[A-Z0-9_]+)?", plain)
    for name in set(imports) - {n for n in imports if n.endswith("IBGP")}:
        body = block(plain, start.format(name=name), end.format(name=name))
        assert too_short in body and short not in body, (name, body)
    transit = "NP_IMPORT_TRANSIT_IN_V4_DEFAULT"
    body = block(with_default, start.format(name=transit), end.format(name=transit))
    assert short in body and too_short not in body, body
    assert "_DEFAULT" not in plain and short not in plain
    if platform in LISTS:
        assert LISTS[platform][0] in plain and LISTS[platform][1] in with_default
        assert LISTS[platform][1] not in plain
    six = {
        "bird": "if net.len < 16 then reject;",
        "frr": "::/0 le 15",
        "eos": "::/0 le 15",
        "iosxr": "::/0 le 15",
        "junos": "route-filter ::/0 upto /15;",
    }[platform]
    assert six in plain


CUSTOMER_LIST = {"prefixes": ["2a0f:9900::/32", "2a0f:9900:8000::/33"], "asns": [65100]}
CUSTOMER_EXPORT = {
    "bird": "return (64500, 0, 1) ~ bgp_large_community && net ~ NP_CUSTOMER_PREFIXES_V6;",
    "frr": " match large-community NP_CUSTOMER_ROUTES\n match ipv6 address prefix-list "
    "NP_CUSTOMER_PREFIXES_V6\n",
    "eos": "   match large-community NP_CUSTOMER_ROUTES\n   match ipv6 address prefix-list "
    "NP_CUSTOMER_PREFIXES_V6\n",
    "iosxr": "(large-community matches-any NP_CUSTOMER_ROUTES and destination in "
    "NP_CUSTOMER_PREFIXES_V6)",
    "junos": "                community NP_CUSTOMER_ROUTES;\n"
    "                route-filter 2a0f:9900::/32 upto /48;\n            }",
}


@pytest.mark.parametrize("platform", CHECKED_PLATFORMS)
def test_exports_take_a_customer_tag_only_with_the_customers_prefixes(
    loaded: LoadedInventory, platform: str
) -> None:
    """The customer tag alone could come from any eBGP session the operator runs outside
    nornir-peering: an export takes a tagged route only if it is also in a customer's
    IRR list. Without any customer list, no tagged route is exported at all."""
    plain = core1_rendered(loaded, platform)
    assert "NP_CUSTOMER_PREFIXES" not in plain
    assert "matches-any" not in plain and "match large-community" not in plain
    config = core1_rendered(
        loaded,
        platform,
        [{"asn": 65100, "family": 6, **CUSTOMER_LIST}],
        **{"2001:db8::1": {"prefix_list": CUSTOMER_LIST}},
    )
    assert CUSTOMER_EXPORT[platform] in config
    assert "2a0f:9900:8000::/33" not in config  # the /32's range covers it


@pytest.mark.parametrize("platform", PLATFORMS)
def test_update_source_is_a_sessions_own(loaded: LoadedInventory, platform: str) -> None:
    """update-source comes from the session (or its BGP group) in peering.yaml, never the
    router: IX and single-hop sessions keep their own address. Junos and BIRD source a
    session from an address only: an interface without local_address fails the router."""
    changes = {"2001:db8::1": {"update_source": "Loopback0"}}
    if platform in ("bird", "junos"):
        with pytest.raises(TemplateFailed, match="give local_address"):
            core1_rendered(loaded, platform, **changes)
        return
    config = core1_rendered(loaded, platform, **changes)
    lines = [
        line.strip()
        for line in config.splitlines()
        if "update-source" in line and "fd00:" not in line  # FRR: an IX session's address
    ]
    expected = {
        "frr": [
            "neighbor 192.0.2.1 update-source 192.0.2.2",
            "neighbor 2001:db8::1 update-source Loopback0",
        ],
        "eos": ["neighbor 2001:db8::1 update-source Loopback0"],
        "iosxr": ["update-source Loopback0"],
    }[platform]
    assert lines == expected
    # an eBGP session sourced from an interface is multihop, or it never comes up
    multihop = [line.strip() for line in config.splitlines() if "ebgp-multihop" in line]
    assert (
        multihop
        == {
            "frr": ["neighbor 2001:db8::1 ebgp-multihop 2"],
            "eos": ["neighbor 2001:db8::1 ebgp-multihop 2"],
            "iosxr": ["ebgp-multihop 2"],
        }[platform]
    )
    if platform == "iosxr":
        assert "update-source Loopback0" in block(config, "neighbor 2001:db8::1\n", " !\n!")


def test_eos_activates_each_neighbor_in_its_own_family_only(loaded: LoadedInventory) -> None:
    """A route-map on an EOS neighbor applies in every family it is active in, and
    'bgp default ipv4-unicast transport ipv6' activates IPv6 neighbors for IPv4: every
    neighbor is activated in its family and explicitly deactivated in the other."""
    config = rendered(loaded, "eos", "edge1")
    families = {
        4: block(config, "   address-family ipv4\n", "   !"),
        6: block(config, "   address-family ipv6\n", "router bgp")
        if False
        else config[config.index("   address-family ipv6\n") :],
    }
    sessions = context(loaded.inventory.hosts["edge1"])["sessions"]
    for session in sessions:
        address, family = session["remote_address"], session["family"]
        other = 6 if family == 4 else 4
        assert f"      neighbor {address} activate\n" in families[family]
        assert f"      no neighbor {address} activate\n" in families[other]


RESTARTS = {
    "bird": "receive limit 110 action restart;",
    "frr": "maximum-prefix 110 90 restart 30",
    "iosxr": "maximum-prefix 110 90 restart 30",
    "junos": "teardown 90 idle-timeout 30;",
    "eos": "neighbor 192.0.2.1 maximum-routes 110 warning-limit 90 percent\n"
    "   neighbor 192.0.2.1 idle-restart-timer 1800",
}


@pytest.mark.parametrize("platform", CHECKED_PLATFORMS)
def test_a_session_over_its_limit_comes_back_by_itself(
    loaded: LoadedInventory, platform: str
) -> None:
    """Past its max-prefix a session is torn down and restarts by itself on every platform
    (EOS stays idle for good without idle-restart-timer)."""
    config = core1_rendered(
        loaded, platform, **{"192.0.2.1": {"max_prefix": 110, "max_prefix4": 110}}
    )
    assert RESTARTS[platform] in config


@pytest.mark.parametrize("platform", CHECKED_PLATFORMS)
def test_a_question_mark_never_reaches_a_description(
    loaded: LoadedInventory, platform: str
) -> None:
    """The EOS and IOS-XR command lines take '?' for a call for help: a stranger's name
    with one loses it, on every platform."""
    config = core1_rendered(loaded, platform, **{"192.0.2.1": {"name": "Why? Net??"}})
    assert "?" not in config
    assert "Why Net" in config


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_router_exports_every_customers_routes(
    loaded: LoadedInventory, platform: str
) -> None:
    """A customer's routes reach the other routers over iBGP, tagged: each router exports
    them inside every customer's IRR list (the inventory's customer_lists), not only the
    lists of its own customer sessions. edge1 has no customer session."""
    lists = [{"asn": 65100, "family": 6, **CUSTOMER_LIST}]
    config = rendered(loaded, platform, "edge1", customer_lists=lists)
    assert CUSTOMER_EXPORT[platform] in config
    assert "NP_CUSTOMER_PREFIXES" not in rendered(loaded, platform, "edge1", customer_lists=[])


@pytest.mark.parametrize(
    ("platform", "strip"),
    [
        (
            "eos",
            "route-map {name} permit 45\n"
            "   set large-community large-community-list NP_CUSTOMER_ROUTES delete\n"
            "   continue 50\n",
        ),
        (
            "junos",
            "    policy-statement {name} {{\n(?:(?!\n    }}\n).)*term strip-tag {{\n"
            "            then {{\n                community delete NP_CUSTOMER_ROUTES;",
        ),
    ],
)
def test_every_ebgp_import_strips_the_customer_tag_by_itself(
    loaded: LoadedInventory, platform: str, strip: str
) -> None:
    """Where the documentation leaves a wildcard or regexp strip of our communities in
    doubt (EOS regexp lists in 'set ... delete', Junos large members with '*'), the
    customer tag is stripped again by itself, in the form documented without doubt."""
    config = rendered(loaded, platform, "edge1")
    ebgp = {n for n in re.findall(r"NP_IMPORT_\w+", config) if not n.endswith("IBGP")}
    assert ebgp
    for name in ebgp:
        text = strip.format(name=name)
        assert re.search(text, config, re.S) if platform == "junos" else text in config, name
