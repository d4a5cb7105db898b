"""The manifest both comparison scripts write, as run-colors does: counts, the rules' checksum,
and each data file's size and SHA-256 (hashing is part of the work being compared)."""

import hashlib
import json
import os


def write_manifest(out_dir, *, as_of, input_path, rows, securities, rules, document):
    files = []
    for name in ["colors.csv", "colors.json", "excluded.csv"]:
        body = open(os.path.join(out_dir, name), "rb").read()
        files.append({"name": name, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()})
    manifest = {
        "as_of": as_of,
        "source": "csv:" + input_path,
        "rows": rows,
        "securities": securities,
        "rules": {"count": len(rules.get("rules", [])), "sha256": hashlib.sha256(document).hexdigest()},
        "files": files,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
