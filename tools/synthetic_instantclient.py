"""Synthetic Oracle Instant Client zips, laid out as Oracle ships them (versioned libraries,
unversioned symlinks, executables, a jar, a readme), for the layer tests and the SAM tier.

The libraries are only ELF headers for the right machine, padded: nothing can load them. They
let `build_layer.py` and `sam build` run end to end where Oracle's licence keeps the real
client off the machine; functions that really connect to Oracle need the real zip.

As a command (used by `make test-sam`):
`python tools/synthetic_instantclient.py --arch x86_64 --out DIR` writes
DIR/instantclient-synthetic.zip and DIR/libaio.so.1 and prints both paths.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

AARCH64, X86_64 = 0xB7, 0x3E
MACHINES = {"arm64": AARCH64, "x86_64": X86_64}


def fake_library(path: Path, machine: int, size: int = 4096) -> None:
    """A file with a 64-bit little-endian ELF header for `machine`, padded to `size`."""
    header = b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little")
    path.write_bytes(header + bytes(size - len(header)))


def oracle_like_tree(root: Path, machine: int = AARCH64, with_clntsh: bool = True,
                     major: int = 19) -> Path:
    """instantclient_<major>_x/ as Oracle ships it: versioned libraries, unversioned symlinks
    and the compatibility link of the release before, executables, a jar and a readme."""
    home = root / f"instantclient_{major}_25"
    (home / "network" / "admin").mkdir(parents=True)
    nnz = "libnnz19.so" if major == 19 else "libnnz.so"
    libraries = [f"libclntshcore.so.{major}.1", nnz, "libociicus.so", f"libocci.so.{major}.1",
                 "libtfojdbc1.so"]
    if with_clntsh:
        libraries.append(f"libclntsh.so.{major}.1")
    for name in libraries:
        fake_library(home / name, machine)
    links = {"libclntshcore.so": f"libclntshcore.so.{major}.1",
             "libocci.so": f"libocci.so.{major}.1"}
    if with_clntsh:
        previous = 18 if major == 19 else 19
        links |= {"libclntsh.so": f"libclntsh.so.{major}.1",
                  f"libclntsh.so.{previous}.1": f"libclntsh.so.{major}.1"}
    for link, target in links.items():
        os.symlink(target, home / link)
    fake_library(home / "adrci", machine)
    (home / "ojdbc8.jar").write_bytes(b"PK\x03\x04jar")
    (home / "BASIC_LIGHT_LICENSE").write_text("licence text")
    (home / "network" / "admin" / "README").write_text("tnsnames go here")
    return home


def zip_tree(home: Path, zip_path: Path) -> Path:
    """Zips with Info-ZIP's `zip -y`, which stores symlinks as links, as Oracle's zips do."""
    zip_path.unlink(missing_ok=True)
    subprocess.run(["zip", "-q", "-r", "-y", str(zip_path), home.name], cwd=home.parent, check=True)
    return zip_path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(MACHINES), required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="orabridge-ic-") as tmp:
        home = oracle_like_tree(Path(tmp), MACHINES[args.arch])
        zip_path = zip_tree(home, args.out.resolve() / "instantclient-synthetic.zip")
    libaio = args.out.resolve() / "libaio.so.1"
    fake_library(libaio, MACHINES[args.arch])
    print(zip_path)
    print(libaio)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
