"""The code stays in pieces a reader can hold: no function over 80 lines in any crate, and in
run-colors no source file over 450 lines either: an engine whose one function runs to hundreds
of lines, and whose files grow past a thousand with micro-optimisations, is one nobody can
review.

Functions are counted over every crate (`functions/`, `shared/`, `tools/`, `fuzz/`), tests
included; file lengths over `functions/run-colors` and `tools/run-colors-cli`. A function's
length runs from its `fn` line to its closing brace, found by counting braces outside comments
and string, raw-string and character literals (a literal may span lines). A function may stay
longer only where its length is its clearest shape, named in `LONG_BY_DESIGN` with the most
lines it may have and the reason.

Run with the other Python checks by `make test`, or alone:
`.venv/bin/python -m unittest tools.tests.test_code_shape`
"""

from __future__ import annotations

import re
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRATES = [ROOT / "functions" / "run-colors", ROOT / "tools" / "run-colors-cli"]
EVERY_CRATE = [ROOT / "functions", ROOT / "shared", ROOT / "tools", ROOT / "fuzz"]
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 80
# `path name`: (the most lines it may have, why it is one function).
LONG_BY_DESIGN = {
    "functions/proxy/src/error.rs public": (
        82,
        "a table: one arm per error, each the status, code and message its client sees",
    ),
}

FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")
RAW_STRING_START = re.compile(r'(?<![A-Za-z0-9_])b?r(#*)"')
CHAR = re.compile(r"'(?:\\.|[^'\\])'")


def code_only(text: str) -> str:
    """`text` with comments and the insides of string, raw-string and character literals
    blanked (newlines kept), so braces in them are not counted and lines keep their numbers."""
    out, i, n = [], 0, len(text)
    blank = lambda chunk: "".join("\n" if c == "\n" else " " for c in chunk)
    while i < n:
        rest = text[i:]
        raw = RAW_STRING_START.match(text, i) if text[i] in "br" else None
        if rest.startswith("//"):
            end = text.find("\n", i)
            end = n if end < 0 else end
        elif rest.startswith("/*"):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
        elif raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = '"' + raw.group(1)
            end = text.find(close, raw.end())
            end = n if end < 0 else end + len(close)
        elif text[i] == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            end = min(end + 1, n)
        elif (char := CHAR.match(text, i)) is not None:
            end = char.end()
        else:
            out.append(text[i])
            i += 1
            continue
        out.append(blank(text[i:end]))
        i = end
    return "".join(out)


def functions(text: str) -> list[tuple[str, int, int]]:
    """`(name, first line, length)` of every function with a body in `text`."""
    lines = code_only(text).split("\n")
    found = []
    for start, line in enumerate(lines):
        match = FN.match(line)
        if not match:
            continue
        depth, opened = 0, False
        for end in range(start, len(lines)):
            depth += lines[end].count("{") - lines[end].count("}")
            opened = opened or "{" in lines[end]
            if opened and depth <= 0:
                found.append((match.group(1), start + 1, end - start + 1))
                break
            if not opened and lines[end].rstrip().endswith(";"):
                break
    return found


def sources(crates: list[Path] = CRATES) -> list[Path]:
    return sorted(path for crate in crates for path in crate.rglob("*.rs") if "target" not in path.parts)


def long_functions() -> dict[str, int]:
    """`path name` of every function over the limit in any crate, with its length."""
    return {
        f"{path.relative_to(ROOT)} {name}": n
        for path in sources(EVERY_CRATE)
        for name, _, n in functions(path.read_text())
        if n > MAX_FUNCTION_LINES
    }


class CodeShape(unittest.TestCase):
    def test_no_run_colors_file_is_longer_than_450_lines(self) -> None:
        files = sources()
        self.assertGreater(len(files), 20, files)
        long = {
            str(path.relative_to(ROOT)): n
            for path in files
            if (n := len(path.read_text().splitlines())) > MAX_FILE_LINES
        }
        self.assertEqual(long, {})

    def test_no_function_in_any_crate_is_longer_than_80_lines(self) -> None:
        self.assertGreater(len(sources(EVERY_CRATE)), 150)
        long = {
            name: n
            for name, n in long_functions().items()
            if n > LONG_BY_DESIGN.get(name, (MAX_FUNCTION_LINES, ""))[0]
        }
        self.assertEqual(long, {})

    def test_every_function_long_by_design_still_is(self) -> None:
        # A stale entry would let a function grow back past the limit unseen.
        self.assertEqual(set(LONG_BY_DESIGN) - set(long_functions()), set())

    def test_function_lengths_are_counted_from_fn_to_its_closing_brace(self) -> None:
        text = (
            "pub(crate) fn short() -> u8 {\n    1\n}\n"
            "fn braces_in_text() {\n    let s = \"}}}\"; // }\n    let c = '}';\n}\n"
            "trait T {\n    fn declared(&self);\n}\n"
            "fn raw<'a>(x: &'a str) {\n    let j = r#\"{\"a\": {\n}}}\"#; /* } */\n    let _ = x;\n}\n"
        )
        self.assertEqual(
            functions(text),
            [("short", 1, 3), ("braces_in_text", 4, 4), ("raw", 11, 5)],
        )


if __name__ == "__main__":
    unittest.main()
