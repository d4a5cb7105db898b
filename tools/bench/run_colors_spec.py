"""What the run-colors spec says a cell must look like, as regular expressions the peers of the
side-by-side benchmark (pandas, polars, DuckDB) share, so each implements the whole input
contract of `specs/run-colors.md` ("Input record") the way run-colors does, edge cases included:

- `RANK` is an integer: digits with an optional sign, or an integral decimal such as `2.0` (what
  a float column with gaps looks like), within a signed 64-bit integer. `nan`, `inf`, `1e300`,
  `2.5` are not ranks.
- `COLOR_DATE` is `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or RFC 3339 (`T`, an optional fraction of
  any length, `Z` or `+HH:MM`); no offset means UTC. Digits past the sixth of a fraction are below
  a microsecond and truncated, never rounded.
- `PRICE` is a decimal, `[+-]digits[.digits][e[+-]digits]` (`.5` and `1.` too), finite: `inf`,
  `nan` and `1e400` (which overflows a double) are not prices.

Every cell is trimmed of surrounding white space first; an empty cell is a missing value.
"""

RANK = r"^[+-]?[0-9]+(\.0+)?$"
# The rank's integer part, for the 64-bit range check.
RANK_INTEGER = r"^[+-]?[0-9]+"
# Groups: date, time, fraction, offset.
COLOR_DATE = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})?)?$"
PRICE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
