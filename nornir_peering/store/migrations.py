"""Schema of the state file, as numbered migrations.

A migration runs once, in a transaction, and records itself in
``schema_version``. Later issues append migrations; an existing state file is
brought forward when it is next opened for writing, never rebuilt.

Migration 1 creates the ``pdb_*`` tables from :mod:`nornir_peering.peeringdb.schema`;
a later change to those columns must come as a new migration using
``ADD COLUMN IF NOT EXISTS``, so that old and new files end up alike.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from nornir_peering.peeringdb import schema as pdb_schema

Migration = Callable[[duckdb.DuckDBPyConnection], None]


def _v1_peeringdb_cache(db: duckdb.DuckDBPyConnection) -> None:
    for tag in pdb_schema.TAGS:
        db.execute(pdb_schema.create_table_sql(tag))
    db.execute(
        """
        CREATE TABLE pdb_sync_cursor (
            tag VARCHAR PRIMARY KEY,
            updated TIMESTAMP,          -- newest 'updated' received; next sync asks since this
            authenticated BOOLEAN NOT NULL,  -- fetched with an API key (private objects visible)
            synced_at TIMESTAMP NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE sync_runs (
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP NOT NULL,
            source VARCHAR NOT NULL,
            summary JSON NOT NULL
        )
        """
    )


def _v2_netixlan_log(db: duckdb.DuckDBPyConnection) -> None:
    """What each sync changed at IXes: ports that appeared, moved or went away.

    The inventory reports from it that a wanted peer changed address or left."""
    db.execute(
        """
        CREATE TABLE pdb_netixlan_log (
            logged_at TIMESTAMP NOT NULL,
            netixlan_id BIGINT NOT NULL,
            asn BIGINT,
            ixlan_id BIGINT,
            change VARCHAR NOT NULL,   -- created, moved or deleted
            ipaddr4_old VARCHAR,
            ipaddr4_new VARCHAR,
            ipaddr6_old VARCHAR,
            ipaddr6_new VARCHAR
        )
        """
    )


def _v3_bgp_state(db: duckdb.DuckDBPyConnection) -> None:
    """Polled BGP sessions: the last known state of each, and every change."""
    db.execute(
        """
        CREATE TABLE bgp_sessions (
            router VARCHAR NOT NULL,
            vrf VARCHAR NOT NULL,
            remote_address VARCHAR NOT NULL,
            remote_asn BIGINT,
            wanted BOOLEAN NOT NULL,      -- the inventory asks for it
            configured BOOLEAN NOT NULL,  -- the router has it
            state VARCHAR NOT NULL,       -- BGP state, or 'not configured'
            received_prefixes BIGINT,
            accepted_prefixes BIGINT,
            advertised_prefixes BIGINT,
            max_prefix BIGINT,
            uptime BIGINT,
            last_established TIMESTAMP,
            polled_at TIMESTAMP NOT NULL,
            stale BOOLEAN NOT NULL,       -- the router could not be polled since
            PRIMARY KEY (router, vrf, remote_address)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE bgp_session_history (
            changed_at TIMESTAMP NOT NULL,
            router VARCHAR NOT NULL,
            vrf VARCHAR NOT NULL,
            remote_address VARCHAR NOT NULL,
            remote_asn BIGINT,
            old_state VARCHAR,
            new_state VARCHAR NOT NULL
        )
        """
    )


def _v4_irr_lists(db: duckdb.DuckDBPyConnection) -> None:
    """IRR lists (``grab-prefixes``): per AS and family, where the list came from
    (``irr_list``), its prefixes (``irr_prefix``) and its member ASNs (``irr_asn``).

    Written and read only by :mod:`nornir_peering.store.irr`, which documents them."""
    db.execute(
        """
        CREATE TABLE irr_list (
            asn BIGINT NOT NULL,
            family TINYINT NOT NULL CHECK (family IN (0, 4, 6)),  -- 0: the AS-path list
            objects VARCHAR[] NOT NULL,   -- what was expanded: RIPE::AS-FOO, AS65001
            host VARCHAR NOT NULL,        -- the IRR server, host[:port]
            sources VARCHAR[] NOT NULL,   -- the IRR sources asked; empty: the server's
            program VARCHAR NOT NULL,     -- program and version: bgpq4 1.9
            commands VARCHAR[] NOT NULL,  -- each run's command line
            count BIGINT NOT NULL,        -- prefixes, or member ASNs; 0: the IRR has none
            fetched_at TIMESTAMP NOT NULL,  -- the IRR last answered this list (UTC)
            changed_at TIMESTAMP NOT NULL,  -- the list last changed
            checked_at TIMESTAMP NOT NULL,  -- the last attempt, whatever came of it
            status VARCHAR NOT NULL,      -- what came of it: new, updated, unchanged,
                                          -- failed, held or skipped
            message VARCHAR,              -- why the list was kept, if it was
            PRIMARY KEY (asn, family)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE irr_prefix (
            asn BIGINT NOT NULL,
            family TINYINT NOT NULL,      -- 4 or 6
            seq INTEGER NOT NULL,         -- the list's order, ascending
            prefix VARCHAR NOT NULL,
            exact BOOLEAN NOT NULL,       -- only this prefix; else its more-specifics
            greater_equal SMALLINT,       -- from this length
            less_equal SMALLINT           -- to this one
        )
        """
    )
    db.execute("CREATE TABLE irr_asn (asn BIGINT NOT NULL, member_asn BIGINT NOT NULL)")


def _v5_ixf_exports(db: duckdb.DuckDBPyConnection) -> None:
    """The IXes' IX-F member exports (``check-ix-sessions``): the last good one's members
    per IX LAN (``ixf_member``), and each fetch's outcome (``ixf_export``).

    Written and read only by :mod:`nornir_peering.store.ixf`, which documents them."""
    db.execute(
        """
        CREATE TABLE ixf_export (
            ixlan_id BIGINT PRIMARY KEY,
            url VARCHAR NOT NULL,
            fetched_at TIMESTAMP,         -- the last good export (UTC); NULL: never
            checked_at TIMESTAMP NOT NULL,  -- the last attempt
            error VARCHAR                 -- why the last attempt failed; NULL: it did not
        )
        """
    )
    db.execute(
        """
        CREATE TABLE ixf_member (
            ixlan_id BIGINT NOT NULL,
            asn BIGINT NOT NULL,
            name VARCHAR NOT NULL,
            ipaddr4 VARCHAR,
            ipaddr6 VARCHAR,
            is_rs_peer BOOLEAN NOT NULL,
            operational BOOLEAN NOT NULL  -- the connection's state is active (or none given)
        )
        """
    )


def _v6_run_log(db: duckdb.DuckDBPyConnection) -> None:
    """The run log: every run of a runbook (``runs``), and what it did to each router or
    AS (``run_items``), diffs included.

    Written and read only by :mod:`nornir_peering.store.runs`, which documents them."""
    db.execute("CREATE SEQUENCE run_ids START 1")
    db.execute(
        """
        CREATE TABLE runs (
            id BIGINT PRIMARY KEY DEFAULT nextval('run_ids'),
            command VARCHAR NOT NULL,     -- as typed: configure_routers, poll-bgp-sessions...
            options JSON NOT NULL,        -- the options given, by name
            started_at TIMESTAMP NOT NULL,  -- UTC
            finished_at TIMESTAMP NOT NULL,
            exit_code INTEGER NOT NULL,
            summary VARCHAR NOT NULL,     -- one line: what the run did
            pid INTEGER NOT NULL,
            user_name VARCHAR NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE run_items (
            run_id BIGINT NOT NULL,
            item VARCHAR NOT NULL,        -- a router, or an AS for grab-prefixes
            status VARCHAR NOT NULL,
            committed BOOLEAN NOT NULL,
            diff VARCHAR NOT NULL,        -- the router's diff, committed or not
            note VARCHAR NOT NULL
        )
        """
    )


def _v7_scrub_secrets(db: duckdb.DuckDBPyConnection) -> None:
    """Mask the secrets that runs recorded before secrets were masked kept in their diffs,
    notes and summaries (BGP passwords in a committed diff)."""
    from nornir_peering.secrets import mask

    items = db.execute(
        "SELECT rowid, diff, note FROM run_items "
        "WHERE regexp_matches(diff || note, 'password|authentication-key')"
    ).fetchall()
    if items:
        db.executemany(
            "UPDATE run_items SET diff = ?, note = ? WHERE rowid = ?",
            [[mask(diff), mask(note), rowid] for rowid, diff, note in items],
        )
    runs = db.execute(
        "SELECT id, summary FROM runs WHERE regexp_matches(summary, 'password|authentication-key')"
    ).fetchall()
    if runs:
        db.executemany("UPDATE runs SET summary = ? WHERE id = ?", [[mask(s), i] for i, s in runs])


def _v8_collected_batches(db: duckdb.DuckDBPyConnection) -> None:
    """The batches of background jobs whose results this state stored
    (:mod:`nornir_peering.store.jobs`): kept here, not only in Redis, where anyone with
    access could mark one not collected again."""
    db.execute(
        """
        CREATE TABLE collected_batches (
            batch VARCHAR PRIMARY KEY,
            kind VARCHAR NOT NULL,          -- configure, poll, prefixes, peeringdb
            collected_at TIMESTAMP NOT NULL -- UTC
        )
        """
    )


MIGRATIONS: tuple[Migration, ...] = (
    _v1_peeringdb_cache,
    _v2_netixlan_log,
    _v3_bgp_state,
    _v4_irr_lists,
    _v5_ixf_exports,
    _v6_run_log,
    _v7_scrub_secrets,
    _v8_collected_batches,
)
SCHEMA_VERSION = len(MIGRATIONS)

KEPT = "kept"
#: Every table of the schema (``schema_version`` aside) and what ``state rebuild`` does
#: with it. ``KEPT``: history that only this file has, copied table by table wherever it
#: still reads. Any other: the command whose next runs fill the table again; the tables
#: one command fills are copied together when all of them read, else left for it to fill
#: (a sync cursor that outlived its rows would keep them from ever coming back).
TABLES: dict[str, str] = {
    **{pdb_schema.table(tag): "peeringdb-sync" for tag in pdb_schema.TAGS},
    "pdb_sync_cursor": "peeringdb-sync",
    "sync_runs": KEPT,
    "pdb_netixlan_log": KEPT,
    "bgp_sessions": "poll-bgp-sessions",
    "bgp_session_history": KEPT,
    "irr_list": "grab-prefixes",
    "irr_prefix": "grab-prefixes",
    "irr_asn": "grab-prefixes",
    "ixf_export": "check-ix-sessions",
    "ixf_member": "check-ix-sessions",
    "runs": KEPT,
    "run_items": KEPT,
    "collected_batches": KEPT,
}
# the version from which no secret is stored: a file with a run log from before it is
# copied anew once migrated (store.connection), so that no masked secret lingers in it
SECRETS_SCRUBBED = 7


def schema_version(db: duckdb.DuckDBPyConnection) -> int:
    """The version a state file is at; 0 for a new file."""
    [(exists,)] = db.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()
    if not exists:
        return 0
    [(version,)] = db.execute("SELECT max(version) FROM schema_version").fetchall()
    return int(version) if version is not None else 0


def migrate(db: duckdb.DuckDBPyConnection, to: int | None = None) -> int:
    """Apply the migrations the file lacks, up to version ``to`` (the current one when
    None); return the version."""
    to = SCHEMA_VERSION if to is None else to
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        from nornir_peering.errors import PeeringError

        raise PeeringError(
            f"the state file is at schema version {current}, newer than this "
            f"nornir-peering ({SCHEMA_VERSION}); upgrade nornir-peering"
        )
    for version in range(current + 1, to + 1):
        db.execute("BEGIN TRANSACTION")
        try:
            if version == 1:
                db.execute(
                    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                    "applied_at TIMESTAMP NOT NULL)"
                )
            MIGRATIONS[version - 1](db)
            db.execute("INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)", [version])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return max(current, to)
