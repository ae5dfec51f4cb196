"""Column types of the ``pdb_<tag>`` tables: the API's field names, real types.

The sync reads each API reply with exactly these columns: fields PeeringDB
adds later are ignored, fields a reply lacks are NULL, and a value of the
wrong type is an error naming the object type.

>>> columns("ixpfx")["prefix"]
'VARCHAR'
"""

from __future__ import annotations

TYPES = {
    "int": "BIGINT",
    "str": "VARCHAR",
    "bool": "BOOLEAN",
    "time": "TIMESTAMP",
    "float": "DOUBLE",
    "strs": "VARCHAR[]",
    "social": "STRUCT(service VARCHAR, identifier VARCHAR)[]",
}

_COMMON = "id:int status:str created:time updated:time version:int"
_ADDRESS = (
    "address1:str address2:str city:str state:str zipcode:str country:str "
    "suite:str floor:str latitude:float longitude:float"
)

# Field lists follow the API (and django-peeringdb's models, which peeringdb-py
# syncs into); the order is the table's column order.
_FIELDS: dict[str, str] = {
    "org": f"{_COMMON} name:str aka:str name_long:str website:str social_media:social "
    f"notes:str logo:str {_ADDRESS}",
    "campus": f"{_COMMON} org_id:int org_name:str name:str name_long:str aka:str website:str "
    "social_media:social notes:str country:str city:str zipcode:str state:str logo:str",
    "fac": f"{_COMMON} org_id:int org_name:str campus_id:int name:str aka:str name_long:str "
    "website:str social_media:social clli:str rencode:str npanxx:str tech_email:str "
    "tech_phone:str sales_email:str sales_phone:str property:str "
    "diverse_serving_substations:bool available_voltage_services:strs notes:str "
    "region_continent:str status_dashboard:str net_count:int ix_count:int carrier_count:int "
    f"logo:str {_ADDRESS}",
    "carrier": f"{_COMMON} org_id:int org_name:str name:str aka:str name_long:str website:str "
    "social_media:social notes:str fac_count:int logo:str",
    "carrierfac": f"{_COMMON} carrier_id:int fac_id:int name:str",
    "net": f"{_COMMON} org_id:int name:str aka:str name_long:str website:str "
    "social_media:social asn:int looking_glass:str route_server:str irr_as_set:str "
    "info_type:str info_types:strs info_prefixes4:int info_prefixes6:int info_traffic:str "
    "info_ratio:str info_scope:str info_unicast:bool info_multicast:bool info_ipv6:bool "
    "info_never_via_route_servers:bool ix_count:int fac_count:int notes:str "
    "netixlan_updated:time netfac_updated:time poc_updated:time policy_url:str "
    "policy_general:str policy_locations:str policy_ratio:bool policy_contracts:str "
    "allow_ixp_update:bool status_dashboard:str rir_status:str rir_status_updated:time logo:str",
    "ix": f"{_COMMON} org_id:int name:str aka:str name_long:str city:str country:str "
    "region_continent:str media:str notes:str proto_unicast:bool proto_multicast:bool "
    "proto_ipv6:bool website:str social_media:social url_stats:str tech_email:str "
    "tech_phone:str policy_email:str policy_phone:str sales_email:str sales_phone:str "
    "net_count:int fac_count:int ixf_net_count:int ixf_last_import:time "
    "ixf_import_request:time ixf_import_request_status:str service_level:str terms:str "
    "status_dashboard:str logo:str",
    "ixfac": f"{_COMMON} ix_id:int fac_id:int name:str city:str country:str",
    "ixlan": f"{_COMMON} ix_id:int name:str descr:str mtu:int dot1q_support:bool rs_asn:int "
    "arp_sponge:str ixf_ixp_member_list_url:str ixf_ixp_member_list_url_visible:str "
    "ixf_ixp_import_enabled:bool",
    "ixpfx": f"{_COMMON} ixlan_id:int protocol:str prefix:str in_dfz:bool notes:str",
    "netfac": f"{_COMMON} net_id:int fac_id:int name:str city:str country:str local_asn:int",
    "netixlan": f"{_COMMON} net_id:int ix_id:int ixlan_id:int name:str notes:str speed:int "
    "asn:int ipaddr4:str ipaddr6:str is_rs_peer:bool bfd_support:bool operational:bool "
    "net_side_id:int ix_side_id:int",
    "poc": f"{_COMMON} net_id:int role:str visible:str name:str phone:str email:str url:str",
}

#: PeeringDB object types in peeringdb-py's sync order (parents before children), as
#: ``peeringdb.resource.RESOURCES_BY_TAG`` has them (a test checks that they agree):
#: written out, because importing peeringdb-py loads Django and requests, ~18 MB and
#: 0.2 s of a sync that needs neither.
TAGS: tuple[str, ...] = (
    "org",
    "campus",
    "fac",
    "net",
    "ix",
    "carrier",
    "carrierfac",
    "ixfac",
    "ixlan",
    "ixpfx",
    "netfac",
    "netixlan",
    "poc",
)
assert set(TAGS) == set(_FIELDS), "the object types and their fields disagree"
#: the types with private data a key may see, always fetched from the API then
#: (``peeringdb.private.PRIVATE_OBJECTS``)
PRIVATE_TAGS: tuple[str, ...] = ("poc", "ixlan")


#: The table peeringdb-py's own Django backend keeps each type in
#: (django_peeringdb.models: ``db_table``), for comparing our cache with its database.
PEERINGDB_PY_TABLES: dict[str, str] = {
    "org": "peeringdb_organization",
    "campus": "peeringdb_campus",
    "fac": "peeringdb_facility",
    "net": "peeringdb_network",
    "ix": "peeringdb_ix",
    "carrier": "peeringdb_carrier",
    "carrierfac": "peeringdb_ix_carrier_facility",
    "ixfac": "peeringdb_ix_facility",
    "ixlan": "peeringdb_ixlan",
    "ixpfx": "peeringdb_ixlan_prefix",
    "netfac": "peeringdb_network_facility",
    "netixlan": "peeringdb_network_ixlan",
    "poc": "peeringdb_network_contact",
}
assert set(PEERINGDB_PY_TABLES) == set(TAGS)


def columns(tag: str) -> dict[str, str]:
    """``{column: DuckDB type}`` of ``pdb_<tag>``, in table order."""
    return {name: TYPES[kind] for name, kind in (item.split(":") for item in _FIELDS[tag].split())}


def table(tag: str) -> str:
    """The table that holds ``tag`` objects: ``pdb_net`` for ``net``."""
    if tag not in _FIELDS:
        raise KeyError(f"unknown PeeringDB object type {tag!r}")
    return f"pdb_{tag}"


def struct_type(tag: str) -> str:
    """The DuckDB STRUCT type of one ``tag`` object, for ``read_json``."""
    return "STRUCT(" + ", ".join(f'"{name}" {kind}' for name, kind in columns(tag).items()) + ")"


def create_table_sql(tag: str) -> str:
    """The ``CREATE TABLE`` statement of ``pdb_<tag>``, ``id`` its primary key."""
    cols = ",\n    ".join(
        f'"{name}" {kind}' + (" PRIMARY KEY" if name == "id" else "")
        for name, kind in columns(tag).items()
    )
    return f"CREATE TABLE {table(tag)} (\n    {cols}\n)"
