//! The operators a rule can use, each parsed and evaluated here side by side: a new operator
//! is a name in [`OPS`], a variant of [`Test`], an arm of [`Test::parse`] and one of
//! [`Test::matches`].

use regex::Regex;
use serde_json::Value;

use super::{Field, Kind, RowValues};
use crate::values::{self, MICROS_PER_DAY, Micros};

/// The operator names, as error messages list them.
const OPS: &str = "eq, ne, in, not_in, lt, le, gt, ge, matches, missing, older_than_days";

/// A rule's `value` and `values` keys, as the document gave them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Operand<'a> {
    pub(super) value: Option<&'a Value>,
    pub(super) values: Option<&'a Value>,
}

impl<'a> Operand<'a> {
    /// The single `value` an operator takes.
    fn one(self, op: &str) -> Result<&'a Value, String> {
        if self.values.is_some() {
            return Err(format!("op {op} takes \"value\", not \"values\""));
        }
        self.value
            .ok_or_else(|| format!("op {op} needs a \"value\""))
    }

    /// The non-empty `values` list an operator takes.
    fn list(self, op: &str) -> Result<&'a [Value], String> {
        if self.value.is_some() {
            return Err(format!("op {op} takes \"values\" (a list), not \"value\""));
        }
        match self.values {
            Some(Value::Array(list)) if !list.is_empty() => Ok(list),
            _ => Err(format!("op {op} needs \"values\": a non-empty list")),
        }
    }

    fn none(self, op: &str) -> Result<(), String> {
        match (self.value, self.values) {
            (None, None) => Ok(()),
            _ => Err(format!("op {op} takes no value")),
        }
    }
}

/// What a rule tests, with its operand typed for the field.
#[derive(Debug)]
pub(super) enum Test {
    /// `eq`, `in` (and `ne`, `not_in` negated) on text, folded for case and spaces.
    TextIn { values: Vec<String>, negate: bool },
    /// The same on `RANK` or `PRICE`.
    NumberIn { values: Vec<f64>, negate: bool },
    /// The same on `COLOR_DATE`.
    TimeIn { values: Vec<Micros>, negate: bool },
    /// `lt`, `le`, `gt`, `ge` on `RANK` or `PRICE`.
    NumberCompare { op: Compare, value: f64 },
    /// The same on `COLOR_DATE`.
    TimeCompare { op: Compare, value: Micros },
    /// `matches`: a regex on text, found anywhere in it unless anchored.
    Matches(Regex),
    /// `missing`: the only test a missing value passes.
    Missing,
    /// `older_than_days`: `COLOR_DATE` before the run's `as_of` minus N days.
    OlderThanDays(f64),
}

/// An ordered comparison.
#[derive(Debug, Clone, Copy)]
pub(super) enum Compare {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Compare {
    fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Compare::Lt => left < right,
            Compare::Le => left <= right,
            Compare::Gt => left > right,
            Compare::Ge => left >= right,
        }
    }
}

impl Test {
    /// The test `op` makes of `field` with `operand`, or what is wrong with it.
    pub(super) fn parse(field: Field, op: &str, operand: Operand<'_>) -> Result<Test, String> {
        let name = field.name();
        let compare = match op {
            "lt" => Compare::Lt,
            "le" => Compare::Le,
            "gt" => Compare::Gt,
            "ge" => Compare::Ge,
            _ => Compare::Lt,
        };
        Ok(match op {
            "eq" | "ne" => membership(field, std::slice::from_ref(operand.one(op)?), op == "ne")?,
            "in" | "not_in" => membership(field, operand.list(op)?, op == "not_in")?,
            "lt" | "le" | "gt" | "ge" => match field.kind() {
                Kind::Number => Test::NumberCompare {
                    op: compare,
                    value: typed_number(operand.one(op)?, name)?,
                },
                Kind::Time => Test::TimeCompare {
                    op: compare,
                    value: typed_time(operand.one(op)?)?,
                },
                Kind::Text => {
                    return Err(format!(
                        "op {op} compares numbers or timestamps; {name} is text (use eq, in or matches)"
                    ));
                }
            },
            "matches" => {
                if field.kind() != Kind::Text {
                    return Err(format!(
                        "op matches applies to ID, CUSIP or SOURCE, not {name}"
                    ));
                }
                let pattern = typed_text(operand.one(op)?, name)?;
                let regex =
                    Regex::new(&pattern).map_err(|err| format!("bad regex {pattern:?}: {err}"))?;
                Test::Matches(regex)
            }
            "missing" => {
                operand.none(op)?;
                Test::Missing
            }
            "older_than_days" => {
                if field != Field::ColorDate {
                    return Err(format!(
                        "op older_than_days applies to COLOR_DATE, not {name}"
                    ));
                }
                match operand.one(op)?.as_f64() {
                    Some(days) if days >= 0.0 && days.is_finite() => Test::OlderThanDays(days),
                    _ => return Err("op older_than_days needs a number of days ≥ 0".into()),
                }
            }
            "" => return Err(format!("\"op\" is missing (expected one of {OPS})")),
            other => return Err(format!("unknown op {other:?} (expected one of {OPS})")),
        })
    }

    /// Whether `row`'s `field` passes the test, in a run as of `as_of`. A comparison never
    /// matches a missing value: only `missing` does.
    pub(super) fn matches(&self, field: Field, row: &RowValues<'_>, as_of: Micros) -> bool {
        match self {
            Test::Missing => row.is_missing(field),
            Test::TextIn { values, negate } => row
                .text(field)
                .is_some_and(|text| is_among(text, values) != *negate),
            Test::NumberIn { values, negate } => row
                .number(field)
                .is_some_and(|n| values.contains(&n) != *negate),
            Test::TimeIn { values, negate } => row
                .color_date
                .is_some_and(|t| values.contains(&t) != *negate),
            Test::NumberCompare { op, value } => {
                row.number(field).is_some_and(|n| op.holds(n, *value))
            }
            Test::TimeCompare { op, value } => row.color_date.is_some_and(|t| op.holds(t, *value)),
            Test::Matches(regex) => row.text(field).is_some_and(|t| regex.is_match(t)),
            Test::OlderThanDays(days) => row
                .color_date
                .is_some_and(|t| (t as f64) < as_of as f64 - days * MICROS_PER_DAY as f64),
        }
    }
}

/// `eq`/`in` (or, negated, `ne`/`not_in`) of `field` against `list`, typed for the field.
fn membership(field: Field, list: &[Value], negate: bool) -> Result<Test, String> {
    let name = field.name();
    Ok(match field.kind() {
        Kind::Text => Test::TextIn {
            values: list
                .iter()
                .map(|v| typed_text(v, name).map(|s| s.trim().to_lowercase()))
                .collect::<Result<_, _>>()?,
            negate,
        },
        Kind::Number => Test::NumberIn {
            values: list
                .iter()
                .map(|v| typed_number(v, name))
                .collect::<Result<_, _>>()?,
            negate,
        },
        Kind::Time => Test::TimeIn {
            values: list.iter().map(typed_time).collect::<Result<_, _>>()?,
            negate,
        },
    })
}

fn typed_text(value: &Value, field: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!(
            "{field} is text: the value must be a string, not {other}"
        )),
    }
}

fn typed_number(value: &Value, field: &str) -> Result<f64, String> {
    value
        .as_f64()
        .ok_or_else(|| format!("{field} is a number: the value must be a number, not {value}"))
}

fn typed_time(value: &Value) -> Result<Micros, String> {
    value
        .as_str()
        .and_then(values::parse_timestamp)
        .ok_or_else(|| format!("COLOR_DATE values must be timestamp strings, not {value}"))
}

/// Whether `text`, ignoring case and surrounding spaces, is one of the `folded` values.
fn is_among(text: &str, folded: &[String]) -> bool {
    let text = text.trim();
    if text.is_ascii() {
        folded.iter().any(|value| text.eq_ignore_ascii_case(value))
    } else {
        let text = text.to_lowercase();
        folded.contains(&text)
    }
}
