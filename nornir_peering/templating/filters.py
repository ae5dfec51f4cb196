"""The filters templates get: pure functions over plain data, each with an example.

Strings written by strangers (PeeringDB names, AS-SETs, IRR data) reach a
configuration only through these: ``safe_string`` keeps a name from ever
closing a quote, a brace or a line; ``bgp_password`` refuses what a platform
cannot carry instead of changing it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from netutils.password import (
    JUNIPER_CHARACTER_KEYS,
    JUNIPER_KEYS_STRING,
    encrypt_cisco_type7,
    encrypt_juniper_type9,
)

from nornir_peering.deploy import OWNED_PREFIX
from nornir_peering.deploy.keep import DISABLED_MARK
from nornir_peering.irr import PrefixEntry

# "?" too: the EOS and IOS-XR command lines take it for a call for help
_UNSAFE = re.compile(r"[\"'`\\{}\[\];#!$&|<>?]")


def safe_string(value: Any, max_length: int = 80) -> str:
    """Text that cannot leave the quotes or the line it is put in: no quotes, braces,
    brackets, semicolons, comment characters, backslashes, shell characters or line
    breaks survive, nor ``?`` (the EOS and IOS-XR command lines take it for a call for
    help); at most ``max_length`` characters.

    >>> safe_string('Quote "Networks"\\n} protocol bgp evil {')
    'Quote Networks protocol bgp evil'
    """
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _UNSAFE.sub(" ", text)
    return " ".join(text.split())[:max_length].strip()


def describe(session: Mapping[str, Any]) -> str:
    """The session's description (the intent's, else the peer's PeeringDB name), made safe,
    never empty: a name that nothing printable is left of becomes ``AS<number>``. A session
    the intent disables says so, which tells the deploy planner (and the engineer on the
    router) that nornir-peering shut it down, not an engineer by hand.

    >>> describe({"description": None, "name": "!!!", "remote_asn": 65004})
    'AS65004'
    >>> describe({"name": "Peer One", "enabled": False})
    'Peer One - disabled by nornir-peering'
    """
    text = safe_string(session.get("description") or session.get("name"))
    text = text or f"AS{session.get('remote_asn')}"
    return text if session.get("enabled", True) else f"{text} - {DISABLED_MARK}"


def identifier(value: Any) -> str:
    """A name made of ``[A-Za-z0-9_]``, never empty, never starting with a digit.

    >>> identifier("lab-ix 2"), identifier("65001")
    ('lab_ix_2', 'x65001')
    """
    text = re.sub(r"[^A-Za-z0-9_]", "_", str(value)) or "x"
    return f"x{text}" if text[0].isdigit() else text


def quote(value: Any) -> str:
    """``"value"``, made safe: the only way to put a stranger's text in quotes."""
    return f'"{safe_string(value)}"'


def max_prefix(session: Mapping[str, Any], family: int | None = None) -> int | None:
    """The session's max-prefix limit for ``family`` (default: its own)."""
    wanted = family or session["family"]
    value = session.get(f"max_prefix{wanted}")
    return int(value) if value is not None else None


def prefix_list(session: Mapping[str, Any]) -> list[PrefixEntry]:
    """The IRR entries stored for the session's peer in the session's family (bgpq4's
    shape: ``prefix``, ``exact``, ``greater_equal``, ``less_equal``; write one through
    :func:`prefix_range`, which keeps its bounds), or none: never fetched, or the IRR
    has none (:func:`irr_filtered` tells).

    A list that holds both families gives each session its own: an IPv4 prefix
    never reaches an IPv6 filter.

    >>> lists = {"prefixes": ["12.9.0.0/16", "2a0f:1209::/32"], "asns": [65001]}
    >>> [p.prefix for p in prefix_list({"family": 4, "prefix_list": lists})]
    ['12.9.0.0/16']
    >>> prefix_list({"family": 6, "prefix_list": lists})
    [PrefixEntry(prefix='2a0f:1209::/32', exact=True, greater_equal=None, less_equal=None)]
    """
    stored = session.get("prefix_list")
    if not stored:
        return []
    six = session["family"] == 6  # an IPv6 prefix has a colon, an IPv4 one none
    entries = (p if isinstance(p, PrefixEntry) else PrefixEntry(str(p)) for p in stored["prefixes"])
    return [entry for entry in entries if (":" in entry.prefix) == six]


def irr_filtered(session: Mapping[str, Any]) -> bool:
    """Whether the session's routes are filtered on an IRR list: its peer's list of its
    family was fetched (by ``grab-prefixes``), even if the IRR holds no route for it,
    which then rejects every route. False until fetched: the templates' fallback.

    >>> irr_filtered({"prefix_list": {"prefixes": [], "asns": []}}), irr_filtered({})
    (True, False)
    """
    return session.get("prefix_list") is not None


def as_path_list(session: Mapping[str, Any]) -> list[int]:
    """The ASNs the IRR puts behind the session's peer (its AS-SET), or none yet."""
    stored = session.get("prefix_list")
    return list(stored.get("asns") or ()) if stored else []


def ix_sessions(sessions: Iterable[Mapping[str, Any]], ix: str | None = None) -> list[Any]:
    """The IX sessions, of the IX ``ix`` if given."""
    return [s for s in sessions if s["kind"] == "ix" and (ix is None or s["ix"] == ix)]


def group_sessions(sessions: Iterable[Mapping[str, Any]], group: str | None = None) -> list[Any]:
    """The direct sessions, of the BGP group ``group`` if given."""
    return [s for s in sessions if s["kind"] == "direct" and (group is None or s["group"] == group)]


def communities(names: Iterable[str], table: Mapping[str, str]) -> list[str]:
    """Values of the named communities, in order, without repeats."""
    return list(dict.fromkeys(table[name] for name in names))


def policy_communities(
    policy: str | None, policies: Mapping[str, Any], table: Mapping[str, str]
) -> list[str]:
    """Values of the communities the policy named ``policy`` sets (none for no policy)."""
    if not policy:
        return []
    return communities(policies[policy].get("communities", []), table)


def cisco_password(password: str, salt: int = 7) -> str:
    """Cisco type 7 encoding (obfuscation, as IOS shows it), by netutils, with a fixed
    salt so that the same password is the same text and no diff.

    The password is encoded as it is, never changed; one that is not printable
    ASCII, or longer than type 7's 25 characters, is refused.

    >>> cisco_password("cisco", salt=2)
    '02050D480809'
    """
    if not password.isascii() or not password.isprintable():
        raise ValueError("cisco_password: only printable ASCII characters can be encoded")
    if len(password) > CISCO_TYPE7_LENGTH:
        raise ValueError(
            f"cisco_password: {len(password)} characters, type 7 encodes at most "
            f"{CISCO_TYPE7_LENGTH}"
        )
    return encrypt_cisco_type7(password, salt)


CISCO_TYPE7_LENGTH = 25  # netutils refuses longer ones, as IOS does


def juniper_password(password: str) -> str:
    """Junos ``$9$`` encoding (obfuscation, as Junos shows a secret), deterministic:
    the same password is the same text, so an unchanged key is no diff.

    >>> juniper_password("s3cr3t!")
    '$9$rNgvX-wYgJZjbsfTQFtp0B1'
    >>> from netutils.password import decrypt_juniper_type9
    >>> decrypt_juniper_type9(juniper_password("s3cr3t!"))
    's3cr3t!'
    """
    if not password.isascii() or not password.isprintable():
        raise ValueError("juniper_password: only printable ASCII characters can be encoded")
    # netutils' encrypt_juniper_type9 takes a salt but draws the filler characters
    # after it at random; Junos skips the filler when it decodes, so a filler derived
    # from the password (like the salt) makes the text deterministic.
    digest = hashlib.sha256(password.encode()).digest()
    salt = 1 + digest[0] % (len(JUNIPER_KEYS_STRING) - 1)
    encoded = encrypt_juniper_type9(password, salt)
    first = len("$9$") + 1
    filler = "".join(
        JUNIPER_KEYS_STRING[byte % len(JUNIPER_KEYS_STRING)]
        for byte in digest[1 : 1 + JUNIPER_CHARACTER_KEYS[JUNIPER_KEYS_STRING[salt]]]
    )
    return encoded[:first] + filler + encoded[first + len(filler) :]


def owned_name(name: Any, prefix: str | None = None) -> str:
    """The name of an object nornir-peering owns: the owned prefix, then ``name``.

    >>> owned_name("lab-ix v4")
    'NP_LAB_IX_V4'
    """
    return (prefix or OWNED_PREFIX) + re.sub(r"[^A-Za-z0-9_]", "_", str(name)).upper()


@pass_context
def owned(context: Context, name: Any) -> str:
    """``owned_name`` with the router's own prefix (``router.owned_prefix``)."""
    return owned_name(name, (context.get("router") or {}).get("owned_prefix"))


# What each platform's configuration syntax can carry in a BGP session password
# (a TCP MD5 key: at most 80 characters, RFC 2385). BIRD and Junos quote it, so
# only the quote and the backslash cannot appear; FRR takes one word (checked on
# FRR 8.4: no spaces, 80 characters at most); IOS-XR and EOS take one word, and
# "?" asks their CLI for help.
_PASSWORD_REFUSED = {
    "bird": re.compile(r'["\\]'),
    "junos": re.compile(r'["\\]'),
    "frr": re.compile(r"\s"),
    "iosxr": re.compile(r"[\s?\"'\\]"),
    "eos": re.compile(r"[\s?\"'\\]"),
}


def bgp_password(session: Mapping[str, Any], platform: str) -> str:
    """The session's password as it goes into ``platform``'s configuration, unchanged.

    A character the platform cannot carry fails the router, naming the session: a quote
    or a backslash on BIRD and Junos, a blank on FRR, a blank, ``?``, a quote or a
    backslash on IOS-XR and EOS; so does a password that is not printable ASCII or longer
    than 80 characters (RFC 2385's TCP MD5 key).

    >>> bgp_password({"password": "s3cr3t!", "remote_asn": 65005}, "frr")
    's3cr3t!'
    """
    value = str(session.get("password") or "")
    who = f"the password of AS{session.get('remote_asn')} {session.get('remote_address', '')}"
    if platform not in _PASSWORD_REFUSED:
        raise ValueError(f"bgp_password: no password rules for platform {platform!r}")
    if not value.isprintable() or not value.isascii():
        raise ValueError(f"{who.strip()}: only printable ASCII characters can be used")
    if len(value) > 80:
        raise ValueError(f"{who.strip()}: {len(value)} characters, at most 80 can be used")
    refused = _PASSWORD_REFUSED[platform].search(value)
    if refused:
        shown = "a space" if refused.group().isspace() else repr(refused.group())
        raise ValueError(f"{who.strip()}: {platform} cannot carry {shown} in a BGP password")
    return value


def community_type(value: str) -> str:
    """``standard`` (64500:100), ``large`` (64500:0:100), ``rt`` or ``soo`` (extended;
    ``ro`` is the same route-origin community as ``soo``).

    >>> community_type("64500:100"), community_type("64500:0:100"), community_type("ro 64500:1")
    ('standard', 'large', 'soo')
    """
    if " " in value:
        kind = value.split()[0]
        return "soo" if kind in ("ro", "soo") else kind
    return "large" if value.count(":") == 2 else "standard"


def community_value(value: str) -> str:
    """A community without its extended type word: ``rt 64500:1`` → ``64500:1``."""
    return value.split()[-1]


#: the longest prefix accepted from an eBGP session, by family: /24 and /48
MAX_LENGTH = {4: 24, 6: 48}
#: the shortest prefix accepted from an eBGP session, by family: nothing shorter than /8
#: (IPv4) or /16 (IPv6), the default route included, unless a transit session asks for it
MIN_LENGTH = {4: 8, 6: 16}


def prefix_range(entry: PrefixEntry | str) -> dict[str, Any]:
    """What a filter accepts for one IRR entry (bgpq4's, or a prefix): the route objects it
    stands for and their more-specifics up to /24 (IPv4) or /48 (IPv6); exactly the
    entry when it is longer. An aggregated entry (``-A``: ``12.1.0.0/23`` with
    ``greater-equal`` and ``less-equal`` 24, for two /24s) keeps its lower bound, so
    the /23 itself, which no route object registers, is not accepted.

    >>> r = prefix_range("12.1.0.0/16"); r["min"], r["max"], r["exact"]
    (16, 24, False)
    >>> r = prefix_range(PrefixEntry("12.1.0.0/23", False, 24, 24)); r["min"], r["max"]
    (24, 24)
    >>> prefix_range("12.1.0.128/25")["exact"]
    True
    """
    if isinstance(entry, str):
        entry = PrefixEntry(entry)
    network = ip_network(entry.prefix, strict=False)
    length, longest = network.prefixlen, MAX_LENGTH[network.version]
    if entry.exact:
        low = high = length
    else:
        low = length if entry.greater_equal is None else entry.greater_equal
        high = network.max_prefixlen if entry.less_equal is None else entry.less_equal
    if low <= longest:
        high = max(high, longest)
    return {
        "prefix": str(network),
        "length": length,
        "min": low,
        "max": high,
        "exact": low == high == length,
    }


def prefix_ranges(entries: Iterable[PrefixEntry | str]) -> list[dict[str, Any]]:
    """:func:`prefix_range` of each entry, in address order, written so that a platform
    that judges a route by its longest matching entry alone (Junos: "if the route filter
    condition is false ... the whole term is false, even if there are potentially true
    shorter route filter prefixes") accepts what any entry accepts:

    - an entry a shorter one already covers is left out (bgpq4 -A nests ``12.1.0.0/22``
      exact and ``12.1.0.0/23`` ge 24 le 24; the /22 accepts lengths 22 to 24 within it);
    - an entry that accepts only lengths past /24 (/48), which every import rejects
      anyway, is left out: inside a shorter entry it would be the longest match and
      reject what the shorter one accepts (two /25 route objects, aggregated by bgpq4
      -A into ``12.0.0.0/24`` ge 25 le 25, inside ``12.0.0.0/16``).

    Every other entry accepts its own prefix up to /24 (/48) at least (:func:`prefix_range`),
    so the longest match never refuses what a shorter entry accepts.

    >>> [r["prefix"] for r in prefix_ranges([PrefixEntry("12.1.0.0/23", False, 24, 24),
    ...                                      "12.1.0.0/22", "12.1.4.0/24"])]
    ['12.1.0.0/22', '12.1.4.0/24']
    >>> [r["prefix"] for r in prefix_ranges(["12.0.0.0/16", PrefixEntry("12.0.0.0/24", False,
    ...                                      25, 25)])]
    ['12.0.0.0/16']
    """
    ranges = sorted(
        (prefix_range(entry) for entry in entries),
        key=lambda r: (
            _network(r["prefix"]).version,
            int(_network(r["prefix"]).network_address),
            r["length"],
        ),
    )
    kept: list[dict[str, Any]] = []
    enclosing: list[tuple[Any, dict[str, Any]]] = []  # kept ranges around the current one
    for found in ranges:
        network = _network(found["prefix"])
        if found["min"] > MAX_LENGTH[network.version]:
            continue
        while enclosing and not (
            enclosing[-1][0].version == network.version and network.subnet_of(enclosing[-1][0])
        ):
            enclosing.pop()
        if any(r["min"] <= found["min"] and found["max"] <= r["max"] for _, r in enclosing):
            continue
        kept.append(found)
        enclosing.append((network, found))
    return kept


@functools.lru_cache(maxsize=262144)
def _network(prefix: str) -> IPv4Network | IPv6Network:
    return ip_network(prefix)


def refuse(message: str) -> None:
    """Fail the router from a template: ``{{ refuse("FRR cannot ...") }}``."""
    raise ValueError(message)


#: the NLNOG BGP Filter Guide's (bgpfilterguide.nlnog.net) "bogon prefixes", by family:
#: never accepted from anyone, with any more-specific
BOGONS = {
    4: (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    ),
    6: (
        "::/8", "100::/64", "2001:2::/48", "2001:10::/28", "2001:db8::/32", "2002::/16",
        "3ffe::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    ),
}  # fmt: skip
