"""Masking: secrets shown as ``********`` with a short fingerprint, wherever text is shown.

Two rules, applied to any text about to be printed, logged or stored:

- a secret in a platform's configuration syntax is masked whatever its value, old or
  new: BIRD's and FRR's ``password``, Junos' ``authentication-key``, IOS-XR's
  ``password encrypted|clear``, EOS's ``password 0|7|8a``; encoded forms included;
- the text of every secret this process has seen (:func:`remember`; the inventory
  and :func:`~nornir_peering.secrets.refs.reveal` call it), and its Cisco type 7 and
  Junos ``$9$`` encodings, is masked anywhere else (an error message, a log line); one
  shorter than 8 characters only as a whole word.

The fingerprint is the start of an HMAC of the secret's decoded text under a salt
drawn once per process: the same secret has the same fingerprint everywhere in one
run (the ``-`` and ``+`` lines of a diff show whether it changed), and nothing stored
lets anyone test a guess against it later.

>>> masked = mask('+  password "lab-secret";')
>>> masked.startswith('+  password "********" (secret ') and masked.endswith(");")
True
>>> mask("neighbor 192.0.2.1 password inheritance-disable")
'neighbor 192.0.2.1 password inheritance-disable'
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

from netutils.password import decrypt_cisco_type7, decrypt_juniper_type9

MASK = "********"
_SALT = secrets.token_bytes(16)  # one per process: one run
_SHORTEST = 4  # shorter secrets are masked in configuration syntax only, not as words
_ANYWHERE = 8  # shorter ones are masked as whole words only ("lab1" is not in "lab10")

# A secret in configuration syntax, never in prose ("the password of AS65005"): quoted
# after its keyword (BIRD, Junos), after an encoding type (IOS-XR "encrypted|clear", EOS
# and IOS "0|7|8a"), the word after "neighbor ADDRESS password" (FRR, EOS), or the one
# word of a "[enable] password WORD" line (FRR's own). IOS-XR's "password
# inheritance-disable" is a keyword, not a value. A value is quoted (to its closing
# quote, then a blank, ";" or the line's end), runs to the line's end after a clear
# type (IOS takes blanks in a password there), or else to the next blank: EOS, IOS-XR
# and FRR take ';{}"' in a password; only Junos ends an unquoted one at ";". Nothing
# crosses a line end, and a type once read is never taken back as the value. Every
# repetition is possessive: no input makes the rules backtrack.
_KEY = r"(?<![\w-])(?:password|authentication-key)"
_QUOTED = r'"(?:[^"\\\n]|\\.)*+"(?=[ \t;\r]|$)'
_WORD = r"(?!inheritance-disable(?!\S))\S++"
_REST = r"\S[^\r\n]*+"


def _typed(name: str) -> str:
    """A type (named ``NAME_clear`` or ``NAME_encoded``), then a blank."""
    return rf"(?:(?P<{name}_clear>0|clear)|(?P<{name}_encoded>encrypted|5|6|7|8|8a|9))[ \t]++"


def _value(name: str) -> str:
    """A value, to the line's end after a clear type."""
    return rf"(?P<{name}>{_QUOTED}|(?({name}_clear){_REST}|{_WORD}))"


_SECRET = re.compile(
    rf"(?P<neighbor_at>\bneighbor[ \t]++\S++[ \t]++password[ \t]++(?>{_typed('neighbor')})?)"
    + _value("neighbor")
    + rf"|(?P<typed_at>(?<![\w-])password[ \t]++{_typed('typed')})"
    + _value("typed")
    + rf"|(?P<quoted_at>{_KEY}[ \t]++)(?P<quoted>{_QUOTED})"
    + rf"|(?P<key_at>(?<![\w-])authentication-key[ \t]++(?>{_typed('key')})?)"
    + r"(?P<key>[^\s;]++)"
    + r"|(?P<line_at>^[+\- ]?[ \t]*+(?:enable[ \t]++)?password[ \t]++)"
    + rf"(?P<line>{_QUOTED}|{_WORD})(?=[ \t]*+;?[ \t]*+\r?$)",
    re.MULTILINE,
)
_FINGERPRINT = re.compile(r"\(secret [0-9a-f]{6}\)")  # what a masked value is followed by
# the words the rules above read: a secret that is one of them is masked after them
_SYNTAX = frozenset({"password", "authentication-key", "neighbor", "enable", "encrypted"})
_SYNTAX |= {"clear", "inheritance-disable"}

# Each secret remembered, and each of its forms (its encodings, and its text escaped
# as JSON and Python write it), stands for itself: found in the text, it is replaced by
# a placeholder while the syntax rules run (so a secret in configuration syntax keeps
# its fingerprint, and one the syntax cuts short, as a blank in it would, leaves no
# tail), then by the mask. Fingerprints already shown are held the same way, and put
# back as they were, so masking twice changes nothing.
_forms: dict[str, str] = {}  # form -> the secret
_known: tuple[str, ...] = ()  # the forms, longest first: an encoding before its parts
_lock = threading.Lock()
_HOLD = "\ue000{}\ue001"  # a placeholder: characters of Unicode's private use area
_HELD = re.compile("\ue000([0-9]+)\ue001")


def remember(secret: str) -> None:
    """Mask ``secret`` (and its forms) in all text this process shows from now on."""
    if len(secret) < _SHORTEST or secret in _forms:
        return
    from nornir_peering.templating.filters import cisco_password, juniper_password

    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms.add(secret.encode("unicode_escape").decode("ascii"))
    for encode in (cisco_password, juniper_password):
        # a secret an encoding refuses never appears in that form
        with contextlib.suppress(ValueError):
            forms.add(encode(secret))
    global _known
    with _lock:
        _forms.update(dict.fromkeys(forms, secret))
        _known = tuple(sorted(_forms, key=len, reverse=True))


@functools.lru_cache(maxsize=256)
def _pattern(forms: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern finding any of ``forms`` (longest first); one shorter than
    :data:`_ANYWHERE` only as a whole word."""
    return re.compile(
        "|".join(
            re.escape(form) if len(form) >= _ANYWHERE else rf"(?<!\w){re.escape(form)}(?!\w)"
            for form in forms
        )
    )


def fingerprint(secret: str) -> str:
    """Six hex digits from the secret's decoded text, stable for this process.

    >>> fingerprint("lab-secret") == fingerprint("lab-secret") != fingerprint("lab-secret2")
    True
    """
    return hmac.new(_SALT, secret.encode(), hashlib.sha256).hexdigest()[:6]


def mask(text: str) -> str:
    """``text`` with every secret in it masked (see the module's rules).

    >>> encoded, quoted = mask("password 7 071C724F5C0C0D"), mask('password "s3cret";')
    >>> encoded[-8:-1] == quoted[-9:-2]  # one secret, one fingerprint, whatever its form
    True
    >>> mask(quoted) == quoted
    True
    """
    if not text:
        return text
    if "\ue000" in text or "\ue001" in text:  # never taken for a placeholder
        text = text.replace("\ue000", "\ufffd").replace("\ue001", "\ufffd")
    held: list[tuple[str, str]] = []  # (what was there, what it becomes)

    def hold(becomes: str | None) -> Callable[[re.Match[str]], str]:
        def holding(match: re.Match[str]) -> str:
            held.append((match.group(0), match.group(0) if becomes is None else becomes))
            return _HOLD.format(len(held) - 1)

        return holding

    if "(secret " in text:
        text = _FINGERPRINT.sub(hold(None), text)
    present = [form for form in _known if form in text]  # a substring search each
    early = tuple(form for form in present if form not in _SYNTAX)
    if early:
        text = _pattern(early).sub(hold(MASK), text)
    if "password" in text or "authentication-key" in text:
        text = _SECRET.sub(lambda match: _masked(match, held), text)
    if held:
        text = _HELD.sub(lambda found: held[int(found.group(1))][1], text)
    late = tuple(form for form in present if form in _SYNTAX)
    return _pattern(late).sub(MASK, text) if late else text


_FORMS = ("neighbor", "typed", "quoted", "key", "line")


def _masked(match: re.Match[str], held: list[tuple[str, str]]) -> str:
    where = next(name for name in _FORMS if match.group(name) is not None)
    value = _HELD.sub(lambda found: held[int(found.group(1))][0], match.group(where))
    quoted = len(value) >= 2 and value[0] == value[-1] == '"'
    if quoted:
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    if value == MASK:
        return match.group(0)  # masked already
    shown = f'"{MASK}"' if quoted else MASK
    found = match.groupdict()
    kind = found.get(f"{where}_encoded") or found.get(f"{where}_clear")
    secret = _forms.get(value) or _decoded(kind, value)
    return f"{match.group(where + '_at')}{shown} (secret {fingerprint(secret)})"


def _decoded(kind: str | None, value: str) -> str:
    """The secret behind an encoded form, so that one secret has one fingerprint."""
    try:
        if value.startswith("$9$"):
            return str(decrypt_juniper_type9(value))
        if kind in ("encrypted", "7"):
            return str(decrypt_cisco_type7(value))
    except (ValueError, IndexError, KeyError):
        pass
    return value


#: keys whose text values are secrets wherever they appear in data shown or stored
SECRET_KEYS = frozenset({"password", "api_key", "secret"})


def hidden(secret: str) -> str:
    """A secret as shown in data: the mask and its fingerprint.

    >>> hidden("lab-secret").startswith("******** (secret ")
    True
    """
    return f"{MASK} (secret {fingerprint(secret)})"


def mask_data(data: Any) -> Any:
    """``data`` (JSON-like) with every text masked and the values of :data:`SECRET_KEYS`
    hidden; a secret reference (``{"env": NAME}``) is no secret, and is kept.

    >>> mask_data({"password": "x", "diff": ['+ password "x";']})["diff"][0][:22]
    '+ password "********" '
    """
    if isinstance(data, str):
        return mask(data)
    if isinstance(data, Mapping):
        return {
            (mask(key) if isinstance(key, str) else key): hidden(str(value))
            if key in SECRET_KEYS and value not in (None, "") and not _reference(value)
            else mask_data(value)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [mask_data(value) for value in data]
    return data


def _reference(value: Any) -> bool:
    """Whether ``value`` is a secret reference (``{"env": NAME}``, ``{"file": PATH}``)."""
    return isinstance(value, Mapping) and len(value) == 1 and set(value) <= {"env", "file"}


class MaskingFilter(logging.Filter):
    """A logging filter that masks secrets in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; every record passes."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format: logging would report it; show what there is
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def mask_logs(*loggers: str) -> None:
    """Mask secrets in every record the handlers of ``loggers`` (and of the root logger)
    write, and in every record those loggers log themselves."""
    for name in ("", *loggers):
        logger = logging.getLogger(name)
        for where in (logger, *logger.handlers):
            if not any(isinstance(f, MaskingFilter) for f in where.filters):
                where.addFilter(MaskingFilter())
