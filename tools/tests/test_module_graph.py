"""No import cycles between the modules of any crate in the workspace.

A module that imports another which imports it back (directly or round a loop) cannot be read,
tested or moved on its own; the refactors of issues 22 and 23 removed the ones there were. The
graph is read from the sources: an edge `a -> b` for every `crate::b` path in module `a`'s
files (comments and strings aside), at the granularity of a crate's top-level modules. A unit
test module (`#[cfg(test)] mod`, at the end of its file) may use a sibling's test helpers: it
is not part of the module's design, so it is left out.

Run with the other Python checks by `make test`, or alone:
`.venv/bin/python -m unittest tools.tests.test_module_graph`
"""

from __future__ import annotations

import re
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CRATE_PATH = re.compile(r"\bcrate::(\{[^}]*\}|[a-z_][a-z0-9_]*)")
LINE_COMMENT = re.compile(r"//.*$", re.MULTILINE)
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
STRING = re.compile(r'"(?:\\.|[^"\\])*"')
TEST_MODULE = re.compile(r"#\[cfg\(test\)\]\s*mod\s")


def crate_sources() -> list[Path]:
    """Every `src/` directory of the workspace's crates."""
    dirs = [ROOT / "shared" / "src"]
    dirs += sorted((ROOT / "functions").glob("*/src"))
    dirs += sorted((ROOT / "tools").glob("*/src"))
    return [d for d in dirs if d.is_dir()]


def module_of(src: Path, file: Path) -> str | None:
    """The top-level module `file` belongs to (`None` for the crate roots)."""
    first = file.relative_to(src).parts[0]
    name = first.removesuffix(".rs")
    return None if name in ("lib", "main") else name


def imported_modules(text: str) -> set[str]:
    """The top-level modules named by `crate::` paths in Rust source `text`."""
    test_module = TEST_MODULE.search(text)
    if test_module:
        text = text[: test_module.start()]
    code = STRING.sub('""', BLOCK_COMMENT.sub("", LINE_COMMENT.sub("", text)))
    names: set[str] = set()
    for match in CRATE_PATH.finditer(code):
        target = match.group(1)
        if target.startswith("{"):
            names.update(
                part.strip().split("::")[0] for part in target[1:-1].split(",") if part.strip()
            )
        else:
            names.add(target)
    return names


def module_graph(src: Path) -> dict[str, set[str]]:
    """`module -> modules it imports` for the crate rooted at `src`."""
    graph: dict[str, set[str]] = {}
    for file in sorted(src.rglob("*.rs")):
        module = module_of(src, file)
        if module is None:
            continue
        edges = graph.setdefault(module, set())
        edges.update(m for m in imported_modules(file.read_text()) if m != module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by a depth-first search, each as `[a, b, ..., a]`."""
    found: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                cycle = path[path.index(target):] + [target]
                key = tuple(sorted(cycle[:-1]))
                if key not in seen:
                    seen.add(key)
                    found.append(cycle)
            elif len(path) < len(graph):
                visit(target, path + [target])

    for start in sorted(graph):
        visit(start, [start])
    return found


class ModuleGraph(unittest.TestCase):
    def test_no_crate_has_an_import_cycle_between_its_modules(self) -> None:
        sources = crate_sources()
        self.assertGreaterEqual(len(sources), 6, sources)
        problems = {
            str(src.relative_to(ROOT)): [" -> ".join(c) for c in cycles(module_graph(src))]
            for src in sources
        }
        self.assertEqual({k: v for k, v in problems.items() if v}, {})

    def test_the_check_finds_a_cycle_through_braces_and_ignores_comments(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp)
            (src / "lib.rs").write_text("pub mod a; pub mod b; pub mod c;\n")
            (src / "a.rs").write_text("use crate::{b::Thing, c};\n")
            (src / "b").mkdir()
            (src / "b" / "mod.rs").write_text("// crate::c is only mentioned\nuse crate::c::X;\n")
            (src / "c.rs").write_text(
                'const S: &str = "crate::b"; use crate::a::Y;\n'
                "#[cfg(test)]\nmod tests {\n    use crate::b::Helper;\n}\n"
            )
            graph = module_graph(src)
            self.assertEqual(graph, {"a": {"b", "c"}, "b": {"c"}, "c": {"a"}})
            self.assertEqual(
                sorted(tuple(sorted(c[:-1])) for c in cycles(graph)),
                [("a", "b", "c"), ("a", "c")],
            )


if __name__ == "__main__":
    unittest.main()
