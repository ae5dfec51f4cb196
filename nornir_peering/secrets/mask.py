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
import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Mapping
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
# quote, then a blank, ";" or the line's end) or runs to the next blank: EOS, IOS-XR
# and FRR take ';{}"' in a password; only Junos ends an unquoted one at ";". Nothing
# crosses a line end, and a type once read is never taken back as the value.
_KEY = r"(?<![\w-])(?:password|authentication-key)"
_QUOTED = r'"(?:[^"\\\n]|\\.)*"(?=[ \t;]|$)'
_WORD = r"(?!inheritance-disable(?!\S))\S+"
_TYPE = r"(?:encrypted|clear|0|5|6|7|8|8a|9)"
_SECRET = re.compile(
    rf"(?P<neighbor_at>\bneighbor[ \t]+\S+[ \t]+password[ \t]+"
    rf"(?>(?P<neighbor_kind>{_TYPE})[ \t]+)?)(?P<neighbor>{_QUOTED}|{_WORD})"
    rf"|(?P<typed_at>(?<![\w-])password[ \t]+(?P<typed_kind>{_TYPE})[ \t]+)"
    rf"(?P<typed>{_QUOTED}|{_WORD})"
    rf"|(?P<quoted_at>{_KEY}[ \t]+)(?P<quoted>{_QUOTED})"
    rf"|(?P<key_at>(?<![\w-])authentication-key[ \t]+)(?P<key>[^\s;]+)"
    rf"|(?P<line_at>^[+\- ]?[ \t]*(?:enable[ \t]+)?password[ \t]+)"
    rf"(?P<line>{_QUOTED}|{_WORD})(?=[ \t]*;?[ \t]*$)",
    re.MULTILINE,
)
# the words the rules above read: a secret that is one of them is masked after them
_SYNTAX = frozenset({"password", "authentication-key", "neighbor", "enable", "encrypted"})
_SYNTAX |= {"clear", "inheritance-disable"}

# Each secret remembered, and each of its encodings, stands for itself: found in text by
# _remembered, replaced by a placeholder while the syntax rules run (so a secret in
# configuration syntax keeps its fingerprint, and one the syntax cuts short, as a blank
# in it would, leaves no tail), then by the mask.
_forms: dict[str, str] = {}  # form (the secret or an encoding of it) -> the secret
_remembered: re.Pattern[str] | None = None  # the forms held while the syntax rules run
_late: re.Pattern[str] | None = None  # those masked after them: words of the syntax
_lock = threading.Lock()
_HOLD = "\ue000{}\ue001"  # a placeholder: characters of Unicode's private use area
_HELD = re.compile("\ue000([0-9]+)\ue001")


def remember(secret: str) -> None:
    """Mask ``secret`` (and its encodings) in all text this process shows from now on."""
    if len(secret) < _SHORTEST or secret in _forms:
        return
    from nornir_peering.templating.filters import cisco_password, juniper_password

    forms = {secret: secret}
    for encode in (cisco_password, juniper_password):
        # a secret an encoding refuses never appears in that form
        with contextlib.suppress(ValueError):
            forms[encode(secret)] = secret
    global _remembered, _late
    with _lock:
        _forms.update(forms)
        _remembered = _found([form for form in _forms if form not in _SYNTAX])
        _late = _found([form for form in _forms if form in _SYNTAX])


def _found(forms: list[str]) -> re.Pattern[str] | None:
    """One pattern finding any of ``forms``, longest first (an encoding before its
    parts); one shorter than :data:`_ANYWHERE` only as a whole word."""
    if not forms:
        return None
    return re.compile(
        "|".join(
            re.escape(form) if len(form) >= _ANYWHERE else rf"(?<!\w){re.escape(form)}(?!\w)"
            for form in sorted(forms, key=len, reverse=True)
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
    """
    if not text:
        return text
    if "\ue000" in text or "\ue001" in text:  # never taken for a placeholder
        text = text.replace("\ue000", "\ufffd").replace("\ue001", "\ufffd")
    held: list[str] = []
    remembered, late = _remembered, _late
    if remembered is not None:

        def hold(match: re.Match[str]) -> str:
            held.append(match.group(0))
            return _HOLD.format(len(held) - 1)

        text = remembered.sub(hold, text)
    if "password" in text or "authentication-key" in text:
        text = _SECRET.sub(lambda match: _masked(match, held), text)
    if held:
        text = _HELD.sub(MASK, text)
    return late.sub(MASK, text) if late is not None else text


_FORMS = ("quoted", "neighbor", "typed", "key", "line")


def _masked(match: re.Match[str], held: list[str]) -> str:
    where = next(name for name in _FORMS if match.group(name) is not None)
    value = _HELD.sub(lambda found: held[int(found.group(1))], match.group(where))
    quoted = len(value) >= 2 and value[0] == value[-1] == '"'
    if quoted:
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    if value == MASK:
        return match.group(0)  # masked already
    shown = f'"{MASK}"' if quoted else MASK
    kind = match.groupdict().get(f"{where}_kind")
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
            (mask(key) if isinstance(key, str) else key): hidden(value)
            if key in SECRET_KEYS and isinstance(value, str) and value
            else mask_data(value)
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [mask_data(value) for value in data]
    return data


class MaskingFilter(logging.Filter):
    """A logging filter that masks secrets in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; every record passes."""
        record.msg, record.args = mask(record.getMessage()), None
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
