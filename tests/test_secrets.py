"""Secrets: references resolved at run time, masked everywhere they would be shown.

The unit part is data-driven (sent/received pairs per platform); the rest runs on
the lab: the MD5 peer's password comes from an environment variable, as in the demo.
"""

from __future__ import annotations

import copy
import grp
import importlib
import json
import logging
import os
import stat
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from netutils.password import encrypt_cisco_type7

from nornir_peering.cli import _masked_traceback
from nornir_peering.inventory.plugin import PeeringInventory
from nornir_peering.jobs.payload import one_host, router
from nornir_peering.lab.datagen import read_dataset
from nornir_peering.rendering import context
from nornir_peering.report import print_json
from nornir_peering.secrets import (
    MASK,
    SecretError,
    SecretRef,
    fingerprint,
    hidden,
    mask,
    mask_data,
    remember,
    reveal,
)
from nornir_peering.secrets.logins import Unrevealed, reveal_login
from nornir_peering.secrets.mask import MaskingFilter
from nornir_peering.store import open_state
from nornir_peering.store.migrations import MIGRATIONS, SECRETS_SCRUBBED, migrate, schema_version
from nornir_peering.store.runs import Run, RunItem, one, record
from nornir_peering.templating import environment, render_template
from nornir_peering.templating.filters import cisco_password, juniper_password
from tests.helpers import API_KEY, Datasets, run, visible_rows
from tests.test_templates import FIXTURES, REPO

mask_module = importlib.import_module("nornir_peering.secrets.mask")  # the package's
# name "mask" is the function
SECRET = "Tq9-unit-secret"  # never shown, wherever it goes
FP = fingerprint(SECRET)
FP_MORE = fingerprint(SECRET + " and more")
FP_OPEN, FP_INNER = fingerprint('"Tq9-open'), fingerprint('"ab"Tq9')  # FRR: quotes are text

MASKED = [
    # BIRD and Junos quote it; the fingerprint is the decoded secret's, whatever the form
    {"sent": f'+  password "{SECRET}";', "received": f'+  password "{MASK}" (secret {FP});'},
    {
        "sent": f'-        authentication-key "{juniper_password(SECRET)}"; ## SECRET-DATA',
        "received": f'-        authentication-key "{MASK}" (secret {FP}); ## SECRET-DATA',
    },
    {
        "sent": f"set protocols bgp group X neighbor 192.0.2.1 authentication-key {SECRET}",
        "received": f"set protocols bgp group X neighbor 192.0.2.1 authentication-key {MASK} "
        f"(secret {FP})",
    },
    # IOS-XR: type 7 under "encrypted", or clear; "inheritance-disable" is no value
    {
        "sent": f"+  password encrypted {cisco_password(SECRET)}",
        "received": f"+  password encrypted {MASK} (secret {FP})",
    },
    {"sent": f" password clear {SECRET}", "received": f" password clear {MASK} (secret {FP})"},
    {"sent": "  password inheritance-disable", "received": "  password inheritance-disable"},
    # EOS: 0 (clear) or 7 with any salt; FRR: the word after the neighbor
    {
        "sent": f"+   neighbor 192.0.2.1 password 0 {SECRET}",
        "received": f"+   neighbor 192.0.2.1 password 0 {MASK} (secret {FP})",
    },
    {
        "sent": f"-   neighbor 192.0.2.1 password 7 {encrypt_cisco_type7(SECRET, 11)}",
        "received": f"-   neighbor 192.0.2.1 password 7 {MASK} (secret {FP})",
    },
    {
        "sent": f" neighbor 2001:db8::1 password {SECRET}",
        "received": f" neighbor 2001:db8::1 password {MASK} (secret {FP})",
    },
    {"sent": f"password {SECRET}", "received": f"password {MASK} (secret {FP})"},
    {"sent": f"enable password {SECRET}", "received": f"enable password {MASK} (secret {FP})"},
    # EOS and IOS-XR take ";{}" in a password: the value runs to the blank
    {
        "sent": " neighbor 192.0.2.1 password 0 Tq9;x{y}",
        "received": f" neighbor 192.0.2.1 password 0 {MASK} (secret {fingerprint('Tq9;x{y}')})",
    },
    # a keyword at a line's end is not followed into the next line
    {"sent": "  password\n  peer-as 65005;", "received": None},
    # FRR takes a quote as any other character; a quoted value may follow a type
    {
        "sent": '- neighbor 192.0.2.1 password "Tq9-open',
        "received": f"- neighbor 192.0.2.1 password {MASK} (secret {FP_OPEN})",
    },
    {
        "sent": '- neighbor 192.0.2.1 password "ab"Tq9',
        "received": f"- neighbor 192.0.2.1 password {MASK} (secret {FP_INNER})",
    },
    {
        "sent": f'neighbor 10.0.0.1 password 0 "{SECRET} x"',
        "received": f'neighbor 10.0.0.1 password 0 "{MASK}" (secret {fingerprint(SECRET + " x")})',
    },
    {
        "sent": f' password clear "{SECRET}"',
        "received": f' password clear "{MASK}" (secret {FP})',
    },
    # a line end of CRLF; IOS's OSPF key after its type; blanks after a clear type
    {"sent": f"password {SECRET}\r", "received": f"password {MASK} (secret {FP})\r"},
    {"sent": f'+password "{SECRET}"\r', "received": f'+password "{MASK}" (secret {FP})\r'},
    {
        "sent": f"ip ospf authentication-key 7 {cisco_password(SECRET)}",
        "received": f"ip ospf authentication-key 7 {MASK} (secret {FP})",
    },
    {
        "sent": f"neighbor 192.0.2.1 password 0 {SECRET} and more",
        "received": f"neighbor 192.0.2.1 password 0 {MASK} (secret {FP_MORE})",
    },
    # text that starts like the mask is no masked value; a placeholder's characters
    # in the input are never taken for one
    {
        "sent": f"password {MASK}{SECRET}",
        "received": f"password {MASK} (secret {fingerprint(MASK + SECRET)})",
    },
    {
        "sent": "password \ue0003\ue001",
        "received": f"password {MASK} (secret {fingerprint(chr(0xFFFD) + '3' + chr(0xFFFD))})",
    },
    # prose is left alone; a masked line is not masked again
    {"sent": "the password of AS65005: written in clear", "received": None},
    {"sent": f'password "{MASK}" (secret {FP});', "received": None},
]


def case_id(case: dict[str, str]) -> str:
    """What is sent, the fingerprint (drawn anew in each process) left out: every pytest
    process (xdist workers) must name the cases alike."""
    return case["sent"].replace(FP, "FP")[:40]


@pytest.mark.parametrize("case", MASKED, ids=case_id)
def test_masked_in_each_platforms_syntax(case: dict[str, str]) -> None:
    assert mask(case["sent"]) == (case["received"] or case["sent"])


def test_a_remembered_secret_is_masked_anywhere_and_in_its_encodings() -> None:
    text = (
        f"BIRD: syntax error near {SECRET}x, {juniper_password(SECRET)}, {cisco_password(SECRET)}"
    )
    remember(SECRET)
    shown = mask(text)
    assert shown == f"BIRD: syntax error near {MASK}x, {MASK}, {MASK}"
    data = mask_data({"password": SECRET, "ref": {"env": "X"}, "lines": [text]})
    assert data == {"password": f"{MASK} (secret {FP})", "ref": {"env": "X"}, "lines": [shown]}


def test_a_remembered_secret_leaves_no_tail_and_keeps_its_fingerprint() -> None:
    spaced = "Tq9 spaced secret"  # the syntax rule alone would mask its first word only
    remember(spaced)
    assert mask(f"+   neighbor 192.0.2.1 password 0 {spaced}") == (
        f"+   neighbor 192.0.2.1 password 0 {MASK} (secret {fingerprint(spaced)})"
    )
    long_key = "Tq9-" + "k" * 80  # too long for type 7, still encoded by Junos
    remember(long_key)
    assert mask(f"key {juniper_password(long_key)};") == f"key {MASK};"
    assert mask(f'authentication-key "{juniper_password(long_key)}";') == (
        f'authentication-key "{MASK}" (secret {fingerprint(long_key)});'
    )


@pytest.fixture
def own_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a test remembers is forgotten after it."""
    monkeypatch.setattr(mask_module, "_forms", dict(mask_module._forms))
    monkeypatch.setattr(mask_module, "_known", mask_module._known)


@pytest.mark.usefixtures("own_memory")
def test_a_secret_that_is_a_word_of_the_syntax_leaves_the_syntax_working() -> None:
    remember("password")
    remember("clear")
    shown = mask('-  password "Tq9-old-secret";')
    assert "Tq9-old-secret" not in shown and "password" not in shown
    assert shown.endswith(f'"{MASK}" (secret {fingerprint("Tq9-old-secret")});')
    assert "Tq9-old" not in mask(" password clear Tq9-old-secret")


@pytest.mark.usefixtures("own_memory")
def test_masking_twice_changes_nothing_and_escaped_forms_are_masked() -> None:
    remember("secret")  # the word before every fingerprint
    once = mask(f'password "{SECRET}";')
    assert once == f'password "{MASK}" (secret {FP});' and mask(once) == once
    escaped = 'Tq9\\x"y'
    remember(escaped)
    assert mask(json.dumps(escaped)) == f'"{MASK}"'
    assert mask(repr(escaped)) == f"'{MASK}'"


def test_a_short_remembered_secret_is_masked_as_a_word_only() -> None:
    remember("Tq9s")
    assert mask("near Tq9s; and Tq9s_") == f"near {MASK}; and Tq9s_"
    assert mask("router Tq9s2 and xTq9s") == "router Tq9s2 and xTq9s"


def test_references_resolve_or_fail_naming_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NP_TEST_SECRET", SECRET)
    assert reveal({"env": "NP_TEST_SECRET"}, "x") == SECRET
    (tmp_path / "key").write_text(SECRET + "\n")  # the line end an editor adds is not in it
    ref = SecretRef(file="key").as_data(tmp_path)
    assert ref == {"file": str(tmp_path / "key")} and reveal(ref, "x") == SECRET
    monkeypatch.setenv("NP_TEST_EMPTY", "")
    (tmp_path / "empty").write_text("\n")
    failures = {
        "{env: NP_TEST_UNSET}: the environment variable is not set": {"env": "NP_TEST_UNSET"},
        "{env: NP_TEST_EMPTY}: it is empty": {"env": "NP_TEST_EMPTY"},
        f"{{file: {tmp_path}/nope}}: cannot read it: No such file or directory": {
            "file": str(tmp_path / "nope")
        },
        f"{{file: {tmp_path}/empty}}: it is empty": {"file": str(tmp_path / "empty")},
    }
    for message, value in failures.items():
        with pytest.raises(SecretError) as raised:
            reveal(value, "AS65005's password")
        assert str(raised.value) == f"AS65005's password {message}"


def test_data_under_a_secret_key_is_hidden_whatever_its_type() -> None:
    data = {"password": 12345678, "api_key": ["Tq9-k1"], "ref": {"password": {"env": "X"}}}
    assert mask_data(data) == {
        "password": hidden("12345678"),
        "api_key": hidden("['Tq9-k1']"),
        "ref": {"password": {"env": "X"}},  # a reference is no secret
    }


def test_a_log_record_with_a_bad_format_is_still_masked() -> None:
    record = logging.LogRecord("np", logging.WARNING, "x.py", 1, "%d %s", ("x", SECRET), None)
    remember(SECRET)
    assert MaskingFilter().filter(record) and SECRET not in record.getMessage()


def test_json_output_is_masked_value_by_value(capsys: pytest.CaptureFixture[str]) -> None:
    # in JSON text the quotes of password "x" are escaped: masking decides on the values
    secret = "Tq9-json-only"  # never remembered: only the syntax rule can find it
    note = f'bird: syntax error in: password "{secret}";'
    print_json({"notes": [note], "when": datetime(2026, 1, 1)})
    shown = json.loads(capsys.readouterr().out)
    assert secret not in json.dumps(shown)
    assert shown == {"notes": [mask(note)], "when": "2026-01-01 00:00:00"}
    print_json({"nested": {"api_key": "k3y"}})
    assert "k3y" not in capsys.readouterr().out


def intent_with_password(tmp_path: Path, written: str) -> Path:
    """The test inventory in ``tmp_path/inventory``, its MD5 peer's password (line 36 of
    peering.yaml) written as ``written``."""
    folder = tmp_path / "inventory"
    folder.mkdir()
    for name in ("hosts.yaml", "groups.yaml", "defaults.yaml", "peering.yaml"):
        (folder / name).write_text((FIXTURES / name).read_text())
    peering = folder / "peering.yaml"
    peering.write_text(peering.read_text().replace("password: s3cret", f"password: {written}"))
    return folder


@pytest.mark.parametrize(
    ("written", "error"),
    [
        ("{env: 1BAD}", "ixes.lab-ix.peers[2].password"),
        ("{env: A, file: b}", "one of them"),
        ("{vault: x}", "ixes.lab-ix.peers[2].password"),
        ('""', "ixes.lab-ix.peers[2].password"),
    ],
)
def test_a_bad_reference_is_an_error_naming_the_line(
    written: str, error: str, tmp_path: Path
) -> None:
    peering = intent_with_password(tmp_path, written) / "peering.yaml"
    (tmp_path / "config.yaml").write_text("inventory:\n  plugin: PeeringInventory\n")
    result = run("inventory", "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code == 2
    shown = result.stderr.replace("\n", "")
    assert shown.startswith(f"error: {peering}:36: ") and error in shown


@pytest.mark.parametrize("written", ["12345678", "Tq9-" + "x" * 80, "[Tq9-in-a-list]"])
def test_an_invalid_password_is_never_shown_in_its_error(written: str, tmp_path: Path) -> None:
    # a number, an over-long key, a list: the error names the key, never the value
    peering = intent_with_password(tmp_path, written) / "peering.yaml"
    (tmp_path / "config.yaml").write_text("inventory:\n  plugin: PeeringInventory\n")
    result = run("inventory", "--config", str(tmp_path / "config.yaml"))
    assert result.exit_code == 2
    shown = result.stderr.replace("\n", "")
    assert shown.startswith(f"error: {peering}:36: ixes.lab-ix.peers[2].password")
    assert written.strip("[]")[:8] not in shown


@pytest.mark.parametrize("platform", ["bird", "frr", "junos", "iosxr", "eos"])
def test_every_platforms_template_is_masked(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_state: Path
) -> None:
    """The session's password from a variable reaches the configuration in the platform's
    form, and masking the configuration leaves nothing of it, in any form."""
    folder = intent_with_password(tmp_path, "{env: NP_TEST_BGP}")
    monkeypatch.setenv("NP_TEST_BGP", SECRET)
    host = PeeringInventory(inventory_dir=str(folder), state=str(small_state)).load().hosts["edge1"]
    # the inventory holds the reference, never the text
    assert {json.dumps(s["password"]) for s in host["sessions"]} == {
        "null",
        '{"env": "NP_TEST_BGP"}',
    }
    config = render_template(
        environment(REPO / "templates"), f"{platform}/peering.j2", context(host)
    )
    forms = {SECRET, juniper_password(SECRET), cisco_password(SECRET)}
    assert forms & {word.strip('";') for word in config.split()}, "the password is in the config"
    shown = mask(config)
    assert not any(form in shown for form in forms)
    assert f"{MASK}" in shown and f"(secret {FP})" in shown
    # only the password lines differ
    changed = [
        (a, b) for a, b in zip(config.splitlines(), shown.splitlines(), strict=True) if a != b
    ]
    assert changed and all(("password" in a or "authentication-key" in a) for a, _ in changed)


def test_a_login_password_reference_is_revealed_for_the_router_run_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_state: Path
) -> None:
    folder = tmp_path / "inventory"
    folder.mkdir()
    for name in ("groups.yaml", "defaults.yaml", "peering.yaml"):
        (folder / name).write_text((FIXTURES / name).read_text())
    hosts = (FIXTURES / "hosts.yaml").read_text()
    (folder / "hosts.yaml").write_text(
        hosts.replace("edge1:\n", "edge1:\n  password: {env: NP_TEST_LOGIN}\n", 1).replace(
            "edge2:\n", "edge2:\n  password: {file: secrets/edge2}\n", 1
        )
    )
    (tmp_path / "config.yaml").write_text("inventory:\n  plugin: PeeringInventory\n")
    inventory = PeeringInventory(
        inventory_dir=str(folder),
        state=str(small_state),
        config_file=str(tmp_path / "config.yaml"),
    ).load()
    edge1, edge2 = inventory.hosts["edge1"], inventory.hosts["edge2"]
    unrevealed = edge1.get_connection_parameters("napalm").password
    assert isinstance(unrevealed, Unrevealed) and unrevealed == "{env: NP_TEST_LOGIN}"
    assert copy.deepcopy(unrevealed).ref == {"env": "NP_TEST_LOGIN"}  # copied as a reference
    # a job carries the reference, never the text; the worker reveals it
    carried = router(edge1)
    assert carried["password"] is None and carried["password_ref"] == {"env": "NP_TEST_LOGIN"}
    with pytest.raises(SecretError, match=r"edge1's login password \{env: NP_TEST_LOGIN\}"):
        reveal_login(edge1)
    monkeypatch.setenv("NP_TEST_LOGIN", SECRET)
    on_worker = one_host(json.loads(json.dumps(carried))).inventory.hosts["edge1"]
    reveal_login(on_worker)
    assert on_worker.get_connection_parameters("napalm").password == SECRET
    reveal_login(edge1)
    assert edge1.get_connection_parameters("napalm").password == SECRET
    # edge2's file, relative to config.yaml's folder, is read only when edge2 is run
    assert (
        edge2.get_connection_parameters("napalm").password == f"{{file: {tmp_path}/secrets/edge2}}"
    )
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "edge2").write_text("edge2-login\n")
    reveal_login(edge2)
    assert edge2.get_connection_parameters("napalm").password == "edge2-login"
    # a login written in clear travels as it is, and the worker masks it from then on
    in_clear = {**carried, "password": "Tq9-clear-login", "password_ref": None}
    assert mask("login Tq9-clear-login failed") != f"login {MASK} failed"
    one_host(in_clear)
    assert mask("login Tq9-clear-login failed") == f"login {MASK} failed"


def old_state(path: Path) -> Path:
    """A state file at schema 6 whose run log holds a password in two diffs."""
    db = duckdb.connect(str(path))
    db.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
    )
    for version, migration in enumerate(MIGRATIONS[: SECRETS_SCRUBBED - 1], 1):
        migration(db)
        db.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [version])
    db.execute(
        "INSERT INTO runs (command, options, started_at, finished_at, exit_code, summary, pid, "
        "user_name) VALUES ('configure-routers', '{}', now(), now(), 0, 'commit', 1, 'np')"
    )
    db.execute(
        "INSERT INTO run_items VALUES (1, 'edge1', 'changed', true, ?, ''), "
        "(1, 'edge3', 'changed', true, ?, '')",
        [f'+  password "{SECRET}";\n+  import all;', f" neighbor 127.0.2.15 password {SECRET}"],
    )
    db.close()
    assert SECRET.encode() in path.read_bytes()
    return path


def test_the_migration_masks_what_old_runs_stored(tmp_path: Path) -> None:
    """Migrated, the text is masked, and the file is copied anew so that not one of
    its bytes is left."""
    path = old_state(tmp_path / "old.duckdb")
    with open_state(path, write=True) as migrated:
        assert schema_version(migrated) == len(MIGRATIONS)
        stored = one(migrated, 1)
        assert stored is not None
        diffs = {item.item: item.diff for item in stored.items}
        assert diffs == {
            "edge1": f'+  password "{MASK}" (secret {FP});\n+  import all;',
            "edge3": f" neighbor 127.0.2.15 password {MASK} (secret {FP})",
        }
        # the copy keeps the run ids going
        now = datetime(2026, 12, 7)
        assert record(migrated, Run("runs", {}, now, now, 0, "", 1, "np")) == 2
    assert SECRET.encode() not in path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.duckdb", "old.duckdb.lock"]


def test_an_interrupted_copy_is_made_at_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = old_state(tmp_path / "old.duckdb")

    def killed(*args: object) -> None:
        raise OSError("killed before the swap")

    with monkeypatch.context() as patched:
        patched.setattr("nornir_peering.store.connection.os.replace", killed)
        with pytest.raises(OSError, match="killed"), open_state(path, write=True):
            pass
    marker = tmp_path / "old.duckdb.rewrite-pending"
    assert marker.exists() and SECRET.encode() in path.read_bytes()  # masked, not yet gone
    with open_state(path, write=True) as reopened:
        assert schema_version(reopened) == len(MIGRATIONS)
    assert not marker.exists() and SECRET.encode() not in path.read_bytes()


def test_the_copy_keeps_the_files_permissions_owner_and_symlink(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    real = old_state(tmp_path / "data" / "peering.duckdb")
    real.chmod(0o640)
    group = grp.getgrnam("nogroup").gr_gid if os.geteuid() == 0 else real.stat().st_gid
    os.chown(real, -1, group)
    link = tmp_path / "peering.duckdb"
    link.symlink_to(real)
    with open_state(link, write=True):
        pass
    assert link.is_symlink() and SECRET.encode() not in real.read_bytes()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640 and real.stat().st_gid == group


def test_the_run_log_stores_no_secret(tmp_path: Path) -> None:
    db = duckdb.connect(str(tmp_path / "state.duckdb"))
    migrate(db)
    remember(SECRET)
    now = datetime(2026, 12, 7)
    run_id = record(
        db,
        Run(
            "configure-routers",
            {"commit": True},
            now,
            now,
            1,
            f"failed near {SECRET}",
            1,
            "np",
            items=[RunItem("edge1", "failed", False, f'+ password "{SECRET}";', f"at {SECRET}")],
        ),
    )
    stored = one(db, run_id)
    assert stored is not None and SECRET not in json.dumps(stored.as_dict(), default=str)
    assert MASK in stored.items[0].diff and MASK in stored.summary


def test_the_api_key_comes_from_a_file_and_is_never_shown(
    env: Path, tmp_path: Path, datasets: Datasets, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``api_key: {file: ...}`` in config.yaml, relative to it: the sync is authenticated
    (it stores the private contacts), and the key is nowhere in what it prints or stores;
    a wrong key fails the sync without showing it either."""
    (tmp_path / "pdb-key").write_text(API_KEY + "\n")
    config = tmp_path / "config.yaml"
    config.write_text("user_defined:\n  peering:\n    api_key: {file: pdb-key}\n")
    monkeypatch.chdir(tmp_path / "home")  # the file is config.yaml's, not the cwd's
    result = run("peeringdb-sync", "--json", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    db = duckdb.connect(str(env), read_only=True)
    [(contacts,)] = db.execute("SELECT count(*) FROM pdb_poc").fetchall()
    db.close()
    assert contacts == len(visible_rows(read_dataset(datasets.day1), "poc", True))
    wrong = "wrong-key-" + "q" * 20
    (tmp_path / "pdb-key").write_text(wrong)
    failed = run("peeringdb-sync", "--full", "--json", "--config", str(config))
    assert failed.exit_code == 1 and "401" in failed.stdout + failed.stderr
    logged = run("runs", "--json", "--config", str(config))
    for text in (result.stdout, result.stderr, failed.stdout, failed.stderr, logged.stdout):
        assert API_KEY not in text and wrong not in text
    for path in (p for p in env.parent.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert API_KEY.encode() not in data and wrong.encode() not in data, path


def test_a_bugs_traceback_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """The console script's excepthook: what a bug's exception quotes is masked too."""
    try:
        raise RuntimeError(f'unexpected line: password "{SECRET}";')
    except RuntimeError as exc:
        _masked_traceback(RuntimeError, exc, exc.__traceback__)
    shown = capsys.readouterr().err
    assert "Traceback" in shown and f'password "{MASK}" (secret {FP});' in shown
    assert SECRET not in shown
