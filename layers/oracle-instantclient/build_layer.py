#!/usr/bin/env python3
"""Builds the Oracle Instant Client Lambda layer from the zip Oracle publishes.

Oracle's licence requires each user to download Instant Client themselves, so the zip is an
input, never part of this repository. The layer it produces has every shared library flat under
``lib/`` (Lambda puts ``/opt/lib`` on ``LD_LIBRARY_PATH``), as real files: zip tools and SAM
packaging break symlinks, and ODPI-C loads ``libclntsh.so`` by that exact name. It adds
``libaio.so.1``, which the Amazon Linux 2023 Lambda image lacks, then checks its own result:
the libraries the client needs are there, every ``.so`` is built for the target architecture,
and the unzipped size stays under Lambda's 250 MB limit.

Use Instant Client 19.x: it is the newest release that still connects to Oracle Database 11.2
(Genius's release); the check warns about a newer client, naming the oldest database it reaches.
``--ca-bundle`` adds a PEM bundle (the RDS CA bundle) at ``certs/postgres-root.pem``, which is
``/opt/certs/postgres-root.pem`` in Lambda, the template's default ``PG_SSLROOTCERT``.

Usage:
    build_layer.py --zip instantclient-basiclite-linux.arm64-19.25.0.0.0dbru.zip \\
                   --libaio /path/to/libaio.so.1 --out layers/oracle-instantclient/build \\
                   [--ca-bundle global-bundle.pem]
    build_layer.py --check layers/oracle-instantclient/build

Exit codes: 0 built and checked, 1 the result failed its check, 2 bad or missing input.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path, PurePosixPath

DOWNLOAD_URL = "https://www.oracle.com/database/technologies/instant-client/downloads.html"

# Lambda's limit for a function and all its layers, unzipped: 250 MB.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024

# ELF e_machine values.
MACHINES = {"arm64": 0xB7, "x86_64": 0x3E}

# What ODPI-C (the `oracle` crate's C layer) needs at run time, as file-name patterns: the
# client library under its unversioned name, its core library, the network security library,
# one message/data file library (Basic Light ships `libociicus`, Basic `libociei`) and libaio.
REQUIRED = [
    ("libclntsh.so", lambda name: name == "libclntsh.so"),
    ("libclntshcore.so.*", lambda name: name.startswith("libclntshcore.so")),
    ("libnnz*.so", lambda name: name.startswith("libnnz") and ".so" in name),
    ("libociicus.so or libociei.so", lambda name: name in ("libociicus.so", "libociei.so")),
    ("libaio.so.1", lambda name: name == "libaio.so.1"),
]


# Client/server interoperability, from Oracle Support's "Client / Server Interoperability
# Support Matrix for Different Oracle Versions" (Doc ID 207303.1): the oldest database release
# each Instant Client release connects to. 19c is the last client that reaches 11.2.
OLDEST_DATABASE = {19: "11.2.0.4", 21: "12.1", 23: "19c"}

# Where the PostgreSQL CA bundle goes in the layer (Lambda mounts layers at /opt).
CA_BUNDLE_PATH = PurePosixPath("certs/postgres-root.pem")


class LayerError(Exception):
    """Input the layer cannot be built from (exit code 2)."""


def is_shared_library(name: str) -> bool:
    return name.endswith(".so") or ".so." in name


def zip_entries(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Every file and symlink in the zip by its full path (directories left out)."""
    return {info.filename: info for info in archive.infolist() if not info.is_dir()}


def is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def resolve(entries: dict[str, zipfile.ZipInfo], archive: zipfile.ZipFile, path: str) -> str:
    """Follows symlinks inside the zip to a regular file; Python's zipfile would otherwise
    write the link's target text as the file's content."""
    seen = set()
    while is_symlink(entries[path]):
        if path in seen:
            raise LayerError(f"symlink loop in the zip at {path}")
        seen.add(path)
        target = archive.read(entries[path]).decode()
        joined = PurePosixPath(path).parent / target
        normalized = os.path.normpath(str(joined))
        if normalized not in entries:
            raise LayerError(f"{path} links to {target}, which is not in the zip")
        path = normalized
    return path


def build(zip_path: Path, libaio: Path | None, out: Path) -> list[str]:
    """Writes the layer into `out` (replacing it); returns the library names it holds."""
    if not zip_path.is_file():
        raise LayerError(
            f"Instant Client zip not found: {zip_path}\n"
            f"Download 'Basic Light' (or 'Basic') for Linux ARM64 from {DOWNLOAD_URL}\n"
            "(19.x reaches databases back to 11.2) and pass it:\n"
            "make layer IC_ZIP=/path/to/instantclient-basiclite-linux.arm64-19.<n>.zip"
        )
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as error:
        raise LayerError(f"{zip_path} is not a zip file: {error}") from error

    lib = out / "lib"
    if out.exists():
        shutil.rmtree(out)
    lib.mkdir(parents=True)
    written: dict[str, str] = {}
    with archive:
        entries = zip_entries(archive)
        for path, info in sorted(entries.items()):
            name = PurePosixPath(path).name
            if not is_shared_library(name):
                continue  # executables, jars and readmes are not needed at run time
            if name in written:
                raise LayerError(f"two libraries named {name} in the zip: {written[name]} and {path}")
            source = resolve(entries, archive, path)
            with archive.open(entries[source]) as src, open(lib / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
            written[name] = path

    if "libaio.so.1" not in written:
        if libaio is None:
            raise LayerError(
                "libaio.so.1 is needed and Amazon Linux 2023's Lambda image lacks it.\n"
                "Take it from the libaio package for the same architecture (on Amazon Linux 2023:\n"
                "'dnf download libaio && rpm2cpio libaio-*.rpm | cpio -idm') and pass it:\n"
                "make layer IC_ZIP=... LIBAIO=/path/to/libaio.so.1"
            )
        if not libaio.is_file():
            raise LayerError(f"libaio not found: {libaio}")
        # copyfile follows a symlinked libaio.so.1 to its real file.
        shutil.copyfile(libaio, lib / "libaio.so.1")
        written["libaio.so.1"] = str(libaio)
    return sorted(written)


def add_ca_bundle(bundle: Path, out: Path) -> None:
    """Copies a PEM certificate bundle to ``certs/postgres-root.pem`` in the layer."""
    if not bundle.is_file():
        raise LayerError(f"CA bundle not found: {bundle}")
    text = bundle.read_text(errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise LayerError(
            f"{bundle} holds no PEM certificate; for RDS download\n"
            "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
        )
    target = out / CA_BUNDLE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle, target)


def client_major_version(names: list[str]) -> int | None:
    """The Instant Client release of a layer's libraries: the highest N of the
    ``libclntsh.so.N.1`` files (older numbers are compatibility names of the same library)."""
    versions = []
    for name in names:
        if name.startswith("libclntsh.so.") and name.endswith(".1"):
            middle = name[len("libclntsh.so."):-len(".1")]
            if middle.isdigit():
                versions.append(int(middle))
    return max(versions, default=None)


def warnings(layer: Path) -> list[str]:
    """What works but may not reach the database: a client newer than 19.x."""
    lib = layer / "lib"
    names = sorted(p.name for p in lib.iterdir()) if lib.is_dir() else []
    major = client_major_version(names)
    if major is None or major <= 19:
        return []
    oldest = OLDEST_DATABASE.get(major, "19c")
    return [
        f"Instant Client {major} connects only to Oracle Database {oldest} and later "
        f"(Oracle Doc ID 207303.1); a database older than that (Genius runs 11.2) needs "
        f"Instant Client 19.x"
    ]


def elf_machine(path: Path) -> int | None:
    """The ELF e_machine of a file, or None when it is not an ELF file."""
    with open(path, "rb") as file:
        header = file.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    byteorder = "little" if header[5] == 1 else "big"
    return int.from_bytes(header[18:20], byteorder)


def check(layer: Path, arch: str) -> list[str]:
    """Every problem with a built layer; empty when it is fit to deploy."""
    problems = []
    lib = layer / "lib"
    if not lib.is_dir():
        return [f"{lib} does not exist: build the layer first"]
    names = sorted(p.name for p in lib.iterdir())
    for label, matches in REQUIRED:
        if not any(matches(name) for name in names):
            problems.append(f"missing {label}")
    total = 0
    for path in sorted(layer.rglob("*")):
        if path.is_symlink():
            problems.append(f"{path.relative_to(layer)} is a symlink; layers need real files")
            continue
        if not path.is_file():
            continue
        total += path.stat().st_size
        if is_shared_library(path.name):
            machine = elf_machine(path)
            if machine is None:
                problems.append(f"{path.name} is not an ELF shared library")
            elif machine != MACHINES[arch]:
                found = next((a for a, m in MACHINES.items() if m == machine), hex(machine))
                problems.append(f"{path.name} is built for {found}, not {arch}")
    if total > MAX_UNZIPPED_BYTES:
        problems.append(
            f"unzipped size {total / 1e6:.1f} MB is over Lambda's limit of "
            f"{MAX_UNZIPPED_BYTES / 1e6:.1f} MB (function code included)"
        )
    return problems


def layer_size(layer: Path) -> int:
    return sum(p.stat().st_size for p in layer.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", type=Path, help="the Instant Client Basic (Light) zip")
    parser.add_argument("--libaio", type=Path, help="libaio.so.1 for the target architecture")
    parser.add_argument("--out", type=Path, help="the layer folder to write (replaced)")
    parser.add_argument("--arch", choices=sorted(MACHINES), default="arm64")
    parser.add_argument("--check", type=Path, metavar="LAYER", help="only check a built layer")
    parser.add_argument("--ca-bundle", type=Path, help="PEM bundle for PG_SSLROOTCERT (RDS CA)")
    args = parser.parse_args(argv)

    layer = args.check
    if layer is None:
        if args.zip is None or not str(args.zip).strip() or args.out is None:
            print(
                "build_layer: no Instant Client zip given.\n"
                f"Download 'Basic Light' 19.x for Linux ARM64 from {DOWNLOAD_URL}, then run\n"
                "  make layer IC_ZIP=/path/to/instantclient-basiclite-linux.arm64-19.<n>.zip "
                "LIBAIO=/path/to/libaio.so.1",
                file=sys.stderr,
            )
            return 2
        try:
            names = build(args.zip, args.libaio, args.out)
            if args.ca_bundle is not None and str(args.ca_bundle).strip():
                add_ca_bundle(args.ca_bundle, args.out)
        except LayerError as error:
            print(f"build_layer: {error}", file=sys.stderr)
            return 2
        print(f"build_layer: {len(names)} libraries written to {args.out / 'lib'}")
        layer = args.out

    for warning in warnings(layer):
        print(f"build_layer: warning: {warning}", file=sys.stderr)
    problems = check(layer, args.arch)
    if problems:
        print(f"build_layer: {layer} fails its check:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"build_layer: {layer} passes ({args.arch}, {layer_size(layer) / 1e6:.1f} MB unzipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
