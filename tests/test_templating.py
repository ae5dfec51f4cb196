"""The template environment: sandboxed, strict, and safe with strangers' strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.sandbox import SecurityError
from netutils.password import decrypt_juniper_type9, decrypt_type7

from nornir_peering.templating import (
    TemplateFailed,
    cisco_password,
    environment,
    identifier,
    max_prefix,
    policy_communities,
    quote,
    render_string,
    render_template,
    safe_string,
)
from nornir_peering.templating.filters import juniper_password


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ("Peer One Networks", "Peer One Networks"),
        ('Evil "Net" }; protocol bgp x {', "Evil Net protocol bgp x"),
        ("line one\nline two\r\n} include", "line one line two include"),
        (
            "It's [brackets] #comment !bang $var `tick` a|b <x>",
            "It s brackets comment bang var tick a b x",
        ),
        ("Back\\slash", "Back slash"),
        ("Zürich Ünïcode 東京", "Zürich Ünïcode 東京"),
        ("tab\there\x00nul\x1bescape", "tab here nul escape"),
        ("x" * 200, "x" * 80),
        (None, ""),
    ],
)
def test_safe_string(sent: str | None, received: str) -> None:
    assert safe_string(sent) == received


@pytest.mark.parametrize("name", ['a"b', "a\nb", "a}b", "a;b", "a\\b", "a#b"])
def test_quoted_strangers_stay_one_token(name: str) -> None:
    quoted = quote(f"Net {name} end")
    assert quoted.count('"') == 2 and quoted.startswith('"') and quoted.endswith('"')
    assert not any(ch in quoted[1:-1] for ch in '"\n};\\#')


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ("lab-ix", "lab_ix"),
        ("as65001 127.0.0.1", "as65001_127_0_0_1"),
        ("9net", "x9net"),
        ("", "x"),
        ("ok_name", "ok_name"),
    ],
)
def test_identifier(sent: str, received: str) -> None:
    assert identifier(sent) == received


def test_max_prefix_by_family() -> None:
    session = {"family": 6, "max_prefix4": 100, "max_prefix6": None}
    assert (max_prefix(session), max_prefix(session, 4)) == (None, 100)


def test_policy_communities() -> None:
    policies = {"in": {"communities": ["a", "b", "a"]}}
    table = {"a": "64500:1", "b": "64500:0:2"}
    assert policy_communities("in", policies, table) == ["64500:1", "64500:0:2"]
    assert policy_communities(None, policies, table) == []


PASSWORDS = ["cisco", "s3cr3t!", "with space", "x" * 25, "~!@#$%^&*()_+{}|:<>`-=[]"]


def test_cisco_type7_known_value() -> None:
    assert cisco_password("cisco", salt=2) == "02050D480809"


@pytest.mark.parametrize("password", PASSWORDS)
def test_cisco_type7_decodes_to_the_password(password: str) -> None:
    assert decrypt_type7(cisco_password(password)) == password
    assert cisco_password(password) == cisco_password(password)  # same text, no diff


@pytest.mark.parametrize("password", ["x" * 26, "caf\u00e9", "tab\there"])
def test_cisco_type7_refuses_what_it_cannot_encode(password: str) -> None:
    with pytest.raises(ValueError, match="cisco_password: "):
        cisco_password(password)


@pytest.mark.parametrize("password", [*PASSWORDS, "y" * 80])
def test_juniper_type9_is_deterministic_and_decodes_to_the_password(password: str) -> None:
    encoded = juniper_password(password)
    assert encoded.startswith("$9$") and '"' not in encoded and "\\" not in encoded
    assert decrypt_juniper_type9(encoded) == password
    assert juniper_password(password) == encoded


def test_undefined_is_an_error_naming_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "bird").mkdir()
    (tmp_path / "bird" / "x.j2").write_text("line one\n{{ router.nope }}\n")
    with pytest.raises(TemplateFailed, match=r"bird/x\.j2:2: 'dict object' has no attribute"):
        render_template(environment(tmp_path), "bird/x.j2", {"router": {}})


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("ok\n{% for x in %}\n")
    with pytest.raises(TemplateFailed, match=r"t\.j2:2: "):
        render_template(environment(tmp_path), "t.j2", {})


def test_missing_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateFailed, match="template not found"):
        render_template(environment(tmp_path), "nope/peering.j2", {})


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(SecurityError):
        render_string("{{ ''.__class__.__mro__[1].__subclasses__() }}")


def plan_session(address: str, vrf: str, family: int = 6, ix: str = "lab-ix") -> dict[str, object]:
    return {
        "kind": "ix",
        "ix": ix,
        "group": None,
        "family": family,
        "vrf": vrf,
        "relationship": "peer",
        "remote_asn": 65001,
        "remote_address": address,
        "import_policy": None,
        "export_policy": None,
        "prefix_list": None,
    }


PLAN = (
    "{% set plan = sessions | bgp_plan %}"
    "{% for t in plan.tables %}{{ t.vrf }}:{{ t.families | join(',') }}:"
    "{{ t.groups | list | join(',') }}:"
    "{{ t.sessions | map(attribute='remote_address') | join(',') }}"
    "{{ ' ' if not loop.last }}{% endfor %}"
    "|{{ plan.groups | length }}|{{ plan.vrf_families | join(',') }}"
)


def test_bgp_plan_puts_each_session_in_its_table() -> None:
    """A vrf of "" or "global" is the default table; a VRF gets its own groups, even of
    the same name as a group of the default table (one per Junos or FRR instance)."""
    sessions = [
        plan_session("2001:db8::1", "global"),
        plan_session("192.0.2.1", "", family=4),
        plan_session("2001:db8::2", "peering"),
        plan_session("2001:db8::3", "blue"),
    ]
    assert render_string(PLAN, sessions=sessions, local_as={"asn": 64500}) == (
        "None:4,6:NP_LAB_IX_V6,NP_LAB_IX_V4:2001:db8::1,192.0.2.1 "
        "blue:6:NP_LAB_IX_V6:2001:db8::3 peering:6:NP_LAB_IX_V6:2001:db8::2|4|6"
    )
    # a router without sessions still has its (empty) default table
    assert render_string(PLAN, sessions=[], local_as={"asn": 64500}) == "None:::|0|"


@pytest.mark.parametrize("vrf", ['a"b', "a b", "a;b", "a}b", "-a", "default", "MASTER"])
def test_bgp_plan_refuses_a_vrf_that_is_not_a_safe_name(vrf: str) -> None:
    session = plan_session("2001:db8::1", vrf)
    with pytest.raises(ValueError, match=r"AS65001 2001:db8::1: VRF"):
        render_string(PLAN, sessions=[session], local_as={"asn": 64500})
