//! The exclusion rules: a JSON document validated whole before any data is read, then applied
//! to every row, reporting every matching rule id in the document's order.
//!
//! Validation is strict on purpose: a typo in a field or operator name would otherwise quietly
//! let through colors the desk asked to drop. Each error names the rule (its `id`, or its
//! position when the id itself is the problem).

use regex::Regex;
use serde_json::{Map, Value};

use crate::values::{self, MICROS_PER_DAY, Micros};

/// A column a rule can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `ID`
    Id,
    /// `CUSIP` (already trimmed and upper-cased)
    Cusip,
    /// `SOURCE`
    Source,
    /// `RANK`
    Rank,
    /// `COLOR_DATE`
    ColorDate,
    /// `PRICE`
    Price,
}

impl Field {
    /// Every field, in output column order.
    pub const ALL: [Field; 6] = [
        Field::Id,
        Field::Cusip,
        Field::Source,
        Field::Rank,
        Field::ColorDate,
        Field::Price,
    ];

    /// The column name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "ID",
            Field::Cusip => "CUSIP",
            Field::Source => "SOURCE",
            Field::Rank => "RANK",
            Field::ColorDate => "COLOR_DATE",
            Field::Price => "PRICE",
        }
    }

    /// The field named `name`, ignoring case and surrounding spaces.
    pub fn from_name(name: &str) -> Option<Field> {
        let name = name.trim();
        Field::ALL
            .into_iter()
            .find(|field| field.name().eq_ignore_ascii_case(name))
    }

    fn kind(self) -> Kind {
        match self {
            Field::Id | Field::Cusip | Field::Source => Kind::Text,
            Field::Rank | Field::Price => Kind::Number,
            Field::ColorDate => Kind::Time,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Time,
}

/// The typed values of one valid row, as the rules see them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowValues<'a> {
    /// `ID`
    pub id: &'a str,
    /// `CUSIP`, normalised
    pub cusip: &'a str,
    /// `SOURCE`
    pub source: Option<&'a str>,
    /// `RANK`
    pub rank: Option<i64>,
    /// `COLOR_DATE`
    pub color_date: Option<Micros>,
    /// `PRICE`
    pub price: Option<f64>,
}

impl RowValues<'_> {
    fn text(&self, field: Field) -> Option<&str> {
        match field {
            Field::Id => Some(self.id).filter(|s| !s.is_empty()),
            Field::Cusip => Some(self.cusip).filter(|s| !s.is_empty()),
            Field::Source => self.source,
            _ => None,
        }
    }

    fn number(&self, field: Field) -> Option<f64> {
        match field {
            // Ranks are small integers: exact in an f64.
            Field::Rank => self.rank.map(|rank| rank as f64),
            Field::Price => self.price,
            _ => None,
        }
    }

    fn is_missing(&self, field: Field) -> bool {
        match field.kind() {
            Kind::Text => self.text(field).is_none(),
            Kind::Number => self.number(field).is_none(),
            Kind::Time => self.color_date.is_none(),
        }
    }
}

/// Which way prices rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PriceOrder {
    /// Highest price first (the default).
    #[default]
    Desc,
    /// Lowest price first.
    Asc,
}

/// A rules document that could not be used; nothing was read.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// Not JSON at all.
    #[error("the rules document is not valid JSON")]
    Json(#[source] serde_json::Error),
    /// The document's own shape is wrong.
    #[error("the rules document is invalid: {0}")]
    Document(String),
    /// One rule is wrong.
    #[error("rule {rule:?} is invalid: {problem}")]
    Rule {
        /// The rule's id, or `#<position>` (1-based) when it has none.
        rule: String,
        /// What is wrong with it.
        problem: String,
    },
}

#[derive(Debug)]
enum Test {
    TextIn { values: Vec<String>, negate: bool },
    NumberIn { values: Vec<f64>, negate: bool },
    TimeIn { values: Vec<Micros>, negate: bool },
    NumberCompare { op: Compare, value: f64 },
    TimeCompare { op: Compare, value: Micros },
    Matches(Pattern),
    Missing,
    OlderThanDays(f64),
}

/// A `matches` regex, and the plain text test it amounts to when it is only letters, digits,
/// `_`, `-` and spaces, perhaps anchored: `^TEST` is a prefix test. The regex engine answers
/// those too, but its per-call set-up costs more than the comparison (a rule runs on every
/// row).
#[derive(Debug)]
struct Pattern {
    regex: Regex,
    literal: Option<Literal>,
}

#[derive(Debug)]
struct Literal {
    text: String,
    at_start: bool,
    at_end: bool,
}

impl Pattern {
    fn new(pattern: &str) -> Result<Pattern, String> {
        let regex = Regex::new(pattern).map_err(|err| format!("bad regex {pattern:?}: {err}"))?;
        let (at_start, rest) = match pattern.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (at_end, text) = match rest.strip_suffix('$') {
            Some(text) => (true, text),
            None => (false, rest),
        };
        let plain = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b' '));
        let literal = plain.then(|| Literal {
            text: text.to_owned(),
            at_start,
            at_end,
        });
        Ok(Pattern { regex, literal })
    }

    fn is_match(&self, text: &str) -> bool {
        match &self.literal {
            Some(literal) => match (literal.at_start, literal.at_end) {
                (true, true) => text == literal.text,
                (true, false) => text.starts_with(&literal.text),
                (false, true) => text.ends_with(&literal.text),
                (false, false) => text.contains(&literal.text),
            },
            None => self.regex.is_match(text),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Compare {
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

#[derive(Debug)]
struct Rule {
    id: String,
    field: Field,
    test: Test,
}

/// A validated rules document.
#[derive(Debug, Default)]
pub struct Rules {
    price_order: PriceOrder,
    rules: Vec<Rule>,
}

const OPS: &str = "eq, ne, in, not_in, lt, le, gt, ge, matches, missing, older_than_days";

impl Rules {
    /// Parses and validates a rules document.
    pub fn parse(document: &[u8]) -> Result<Rules, RulesError> {
        let root: Value = serde_json::from_slice(document).map_err(RulesError::Json)?;
        let Value::Object(root) = root else {
            return Err(RulesError::Document("it must be a JSON object".into()));
        };
        let mut price_order = PriceOrder::Desc;
        let mut rules = Vec::new();
        for (key, value) in &root {
            match key.as_str() {
                "price_order" => {
                    price_order = match value.as_str().map(str::trim) {
                        Some(order) if order.eq_ignore_ascii_case("desc") => PriceOrder::Desc,
                        Some(order) if order.eq_ignore_ascii_case("asc") => PriceOrder::Asc,
                        _ => {
                            return Err(RulesError::Document(format!(
                                "price_order must be \"asc\" or \"desc\", not {value}"
                            )));
                        }
                    }
                }
                "rules" => {
                    let Value::Array(items) = value else {
                        return Err(RulesError::Document("rules must be an array".into()));
                    };
                    for (position, item) in items.iter().enumerate() {
                        let rule = parse_rule(position, item)?;
                        if rules.iter().any(|seen: &Rule| seen.id == rule.id) {
                            return Err(RulesError::Rule {
                                rule: rule.id,
                                problem: "the id is used by an earlier rule".into(),
                            });
                        }
                        rules.push(rule);
                    }
                }
                "description" | "$schema" => {}
                other => {
                    return Err(RulesError::Document(format!(
                        "unknown key {other:?} (expected price_order, rules, description)"
                    )));
                }
            }
        }
        Ok(Rules { price_order, rules })
    }

    /// How prices rank.
    pub fn price_order(&self) -> PriceOrder {
        self.price_order
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules (every valid row is ranked).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The id of rule `index`.
    pub fn id(&self, index: usize) -> &str {
        &self.rules[index].id
    }

    /// Appends to `matched` the index of every rule `row` matches, in document order.
    pub fn evaluate(&self, row: &RowValues<'_>, as_of: Micros, matched: &mut Vec<usize>) {
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.matches(row, as_of) {
                matched.push(index);
            }
        }
    }
}

impl Rule {
    fn matches(&self, row: &RowValues<'_>, as_of: Micros) -> bool {
        // A comparison never matches a missing value: only `missing` does.
        match &self.test {
            Test::Missing => row.is_missing(self.field),
            Test::TextIn { values, negate } => row
                .text(self.field)
                .is_some_and(|text| is_among(text, values) != *negate),
            Test::NumberIn { values, negate } => row
                .number(self.field)
                .is_some_and(|n| values.contains(&n) != *negate),
            Test::TimeIn { values, negate } => row
                .color_date
                .is_some_and(|t| values.contains(&t) != *negate),
            Test::NumberCompare { op, value } => {
                row.number(self.field).is_some_and(|n| op.holds(n, *value))
            }
            Test::TimeCompare { op, value } => row.color_date.is_some_and(|t| op.holds(t, *value)),
            Test::Matches(pattern) => row.text(self.field).is_some_and(|t| pattern.is_match(t)),
            Test::OlderThanDays(days) => row
                .color_date
                .is_some_and(|t| (t as f64) < as_of as f64 - days * MICROS_PER_DAY as f64),
        }
    }
}

fn parse_rule(position: usize, item: &Value) -> Result<Rule, RulesError> {
    let anonymous = format!("#{}", position + 1);
    let fail = |rule: &str, problem: String| RulesError::Rule {
        rule: rule.to_owned(),
        problem,
    };
    let Value::Object(object) = item else {
        return Err(fail(&anonymous, "a rule must be a JSON object".into()));
    };
    let id = match object.get("id") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.trim().to_owned(),
        _ => return Err(fail(&anonymous, "\"id\" must be a non-empty string".into())),
    };
    for key in object.keys() {
        if !matches!(
            key.as_str(),
            "id" | "field" | "op" | "value" | "values" | "description"
        ) {
            return Err(fail(
                &id,
                format!("unknown key {key:?} (expected id, field, op, value, values)"),
            ));
        }
    }
    let field_name = object.get("field").and_then(Value::as_str).unwrap_or("");
    let field = Field::from_name(field_name).ok_or_else(|| {
        fail(
            &id,
            format!(
                "unknown field {field_name:?} (expected ID, CUSIP, SOURCE, RANK, COLOR_DATE or PRICE)"
            ),
        )
    })?;
    let op = object
        .get("op")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    let test = parse_test(field, op, object).map_err(|problem| fail(&id, problem))?;
    Ok(Rule { id, field, test })
}

fn parse_test(field: Field, op: &str, object: &Map<String, Value>) -> Result<Test, String> {
    let kind = field.kind();
    let value = object.get("value");
    let values = object.get("values");
    let name = field.name();
    let needs_value = |op: &str| -> Result<&Value, String> {
        if values.is_some() {
            return Err(format!("op {op} takes \"value\", not \"values\""));
        }
        value.ok_or_else(|| format!("op {op} needs a \"value\""))
    };
    let needs_values = |op: &str| -> Result<&Vec<Value>, String> {
        if value.is_some() {
            return Err(format!("op {op} takes \"values\" (a list), not \"value\""));
        }
        match values {
            Some(Value::Array(list)) if !list.is_empty() => Ok(list),
            _ => Err(format!("op {op} needs \"values\": a non-empty list")),
        }
    };
    let compare = match op {
        "lt" => Some(Compare::Lt),
        "le" => Some(Compare::Le),
        "gt" => Some(Compare::Gt),
        "ge" => Some(Compare::Ge),
        _ => None,
    };
    Ok(match op {
        "eq" | "ne" | "in" | "not_in" => {
            let negate = matches!(op, "ne" | "not_in");
            let list: Vec<&Value> = if matches!(op, "eq" | "ne") {
                vec![needs_value(op)?]
            } else {
                needs_values(op)?.iter().collect()
            };
            match kind {
                Kind::Text => Test::TextIn {
                    values: list
                        .iter()
                        .map(|v| typed_text(v, name).map(|s| fold(&s)))
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
                    values: list
                        .iter()
                        .map(|v| typed_time(v))
                        .collect::<Result<_, _>>()?,
                    negate,
                },
            }
        }
        "lt" | "le" | "gt" | "ge" => {
            let op_kind = compare.unwrap_or(Compare::Lt);
            let value = needs_value(op)?;
            match kind {
                Kind::Number => Test::NumberCompare {
                    op: op_kind,
                    value: typed_number(value, name)?,
                },
                Kind::Time => Test::TimeCompare {
                    op: op_kind,
                    value: typed_time(value)?,
                },
                Kind::Text => {
                    return Err(format!(
                        "op {op} compares numbers or timestamps; {name} is text (use eq, in or matches)"
                    ));
                }
            }
        }
        "matches" => {
            if kind != Kind::Text {
                return Err(format!(
                    "op matches applies to ID, CUSIP or SOURCE, not {name}"
                ));
            }
            let pattern = typed_text(needs_value(op)?, name)?;
            Test::Matches(Pattern::new(&pattern)?)
        }
        "missing" => {
            if value.is_some() || values.is_some() {
                return Err("op missing takes no value".into());
            }
            Test::Missing
        }
        "older_than_days" => {
            if field != Field::ColorDate {
                return Err(format!(
                    "op older_than_days applies to COLOR_DATE, not {name}"
                ));
            }
            match needs_value(op)?.as_f64() {
                Some(days) if days >= 0.0 && days.is_finite() => Test::OlderThanDays(days),
                _ => return Err("op older_than_days needs a number of days ≥ 0".into()),
            }
        }
        "" => return Err(format!("\"op\" is missing (expected one of {OPS})")),
        other => return Err(format!("unknown op {other:?} (expected one of {OPS})")),
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

fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Whether `text`, ignoring case and surrounding spaces, is one of the `folded` values.
fn is_among(text: &str, folded: &[String]) -> bool {
    let text = values::trim(text);
    if text.is_ascii() {
        folded.iter().any(|value| text.eq_ignore_ascii_case(value))
    } else {
        let text = text.to_lowercase();
        folded.contains(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AS_OF: &str = "2026-11-20T16:00:00Z";

    fn as_of() -> Micros {
        values::parse_timestamp(AS_OF).unwrap()
    }

    fn rules(json: &str) -> Rules {
        Rules::parse(json.as_bytes()).unwrap()
    }

    fn one_rule(field: &str, op: &str, value: &str) -> Rules {
        rules(&format!(
            r#"{{"rules":[{{"id":"r","field":"{field}","op":"{op}",{value}}}]}}"#
        ))
    }

    fn matched(rules: &Rules, row: &RowValues<'_>) -> Vec<String> {
        let mut out = Vec::new();
        rules.evaluate(row, as_of(), &mut out);
        out.into_iter().map(|i| rules.id(i).to_owned()).collect()
    }

    fn row() -> RowValues<'static> {
        RowValues {
            id: "C1",
            cusip: "037833100",
            source: Some("  Dealer A "),
            rank: Some(2),
            color_date: values::parse_timestamp("2026-11-19T10:00:00Z"),
            price: Some(99.5),
        }
    }

    fn hits(rules: &Rules, row: &RowValues<'_>) -> bool {
        !matched(rules, row).is_empty()
    }

    #[test]
    fn string_equality_ignores_case_and_surrounding_spaces_on_both_sides() {
        assert!(hits(
            &one_rule("source", "eq", r#""value":"dealer a""#),
            &row()
        ));
        assert!(hits(
            &one_rule("SOURCE", "eq", r#""value":" DEALER A  ""#),
            &row()
        ));
        assert!(!hits(
            &one_rule("SOURCE", "eq", r#""value":"dealer""#),
            &row()
        ));
        assert!(!hits(
            &one_rule("SOURCE", "ne", r#""value":"Dealer A""#),
            &row()
        ));
        assert!(hits(
            &one_rule("SOURCE", "ne", r#""value":"Dealer B""#),
            &row()
        ));
        let accented = RowValues {
            source: Some("ÉTOILE"),
            ..row()
        };
        assert!(hits(
            &one_rule("SOURCE", "eq", r#""value":"étoile""#),
            &accented
        ));
    }

    #[test]
    fn in_and_not_in_test_membership_the_same_way() {
        let blocked = one_rule("SOURCE", "in", r#""values":["TEST","dealer a"]"#);
        assert!(hits(&blocked, &row()));
        let allowed = one_rule("SOURCE", "not_in", r#""values":["TEST","DEMO"]"#);
        assert!(hits(&allowed, &row()));
        let not_allowed = one_rule("SOURCE", "not_in", r#""values":["Dealer A"]"#);
        assert!(!hits(&not_allowed, &row()));
        let ranks = one_rule("RANK", "in", r#""values":[1,2]"#);
        assert!(hits(&ranks, &row()));
        let dates = one_rule("COLOR_DATE", "in", r#""values":["2026-11-19 10:00:00"]"#);
        assert!(hits(&dates, &row()));
    }

    #[test]
    fn ordered_comparisons_use_numbers_for_rank_and_price_and_instants_for_dates() {
        let row = row();
        for (field, op, value, expected) in [
            ("PRICE", "lt", "100", true),
            ("PRICE", "lt", "99.5", false),
            ("PRICE", "le", "99.5", true),
            ("PRICE", "gt", "99.5", false),
            ("PRICE", "ge", "99.5", true),
            ("RANK", "gt", "1", true),
            ("RANK", "ge", "3", false),
            ("RANK", "eq", "2", true),
            ("RANK", "ne", "2", false),
            ("PRICE", "eq", "99.50", true),
        ] {
            let rules = one_rule(field, op, &format!(r#""value":{value}"#));
            assert_eq!(hits(&rules, &row), expected, "{field} {op} {value}");
        }
        let before = one_rule("COLOR_DATE", "lt", r#""value":"2026-11-19T10:00:01Z""#);
        assert!(hits(&before, &row));
        let after = one_rule("COLOR_DATE", "gt", r#""value":"2026-11-19""#);
        assert!(hits(&after, &row));
        let same = one_rule("COLOR_DATE", "ge", r#""value":"2026-11-19T11:00:00+01:00""#);
        assert!(hits(&same, &row), "offsets are honoured");
    }

    #[test]
    fn matches_uses_a_regex_on_the_normalised_text() {
        let rules = one_rule("CUSIP", "matches", r#""value":"^0378""#);
        assert!(hits(&rules, &row()));
        let anchored = one_rule("ID", "matches", r#""value":"^C\\d$""#);
        assert!(hits(&anchored, &row()));
        let other = one_rule("ID", "matches", r#""value":"^TEST""#);
        assert!(!hits(&other, &row()));
    }

    #[test]
    fn plain_patterns_answer_as_the_regex_does() {
        let patterns = [
            "^TEST",
            "TEST$",
            "^TEST$",
            "TE",
            "",
            "^",
            "$",
            "^$",
            "^A B",
            "x-y_z",
            "^037",
            // Not plain: the regex answers.
            "^TE.T",
            "^(?i)test",
            "TEST|DEMO",
            r"^C\d$",
            "^TEST\\$",
        ];
        let texts = [
            "",
            "TEST",
            "TEST1",
            "ATEST",
            "test",
            "TE",
            "A B",
            "A BC",
            "x-y_z",
            "037833100",
            "TEXT",
            "C1",
            "TEST$",
            "ÄTEST",
            "TEST\n",
        ];
        for pattern in patterns {
            let compiled = Pattern::new(pattern).expect("valid pattern");
            let regex = Regex::new(pattern).expect("valid pattern");
            for text in texts {
                assert_eq!(
                    compiled.is_match(text),
                    regex.is_match(text),
                    "{pattern:?} on {text:?}"
                );
            }
        }
        assert!(Pattern::new("^TEST").expect("valid").literal.is_some());
        assert!(Pattern::new("^TE.T").expect("valid").literal.is_none());
    }

    #[test]
    fn older_than_days_counts_back_from_as_of() {
        // as_of 2026-11-20T16:00Z; the row is from 2026-11-19T10:00Z: 30 hours old.
        assert!(hits(
            &one_rule("COLOR_DATE", "older_than_days", r#""value":1"#),
            &row()
        ));
        assert!(!hits(
            &one_rule("COLOR_DATE", "older_than_days", r#""value":2"#),
            &row()
        ));
        assert!(hits(
            &one_rule("COLOR_DATE", "older_than_days", r#""value":1.2"#),
            &row()
        ));
        let exactly = RowValues {
            color_date: Some(as_of() - MICROS_PER_DAY),
            ..row()
        };
        assert!(
            !hits(
                &one_rule("COLOR_DATE", "older_than_days", r#""value":1"#),
                &exactly
            ),
            "exactly N days old is not older than N days"
        );
    }

    #[test]
    fn no_comparison_matches_a_missing_value_only_missing_does() {
        let empty = RowValues {
            id: "C1",
            cusip: "X",
            ..RowValues::default()
        };
        for (field, op, value) in [
            ("SOURCE", "eq", r#""value":"x""#),
            ("SOURCE", "ne", r#""value":"x""#),
            ("SOURCE", "in", r#""values":["x"]"#),
            ("SOURCE", "not_in", r#""values":["x"]"#),
            ("SOURCE", "matches", r#""value":".*""#),
            ("RANK", "lt", r#""value":100"#),
            ("RANK", "ne", r#""value":1"#),
            ("PRICE", "ge", r#""value":-1e9"#),
            ("PRICE", "not_in", r#""values":[1]"#),
            ("COLOR_DATE", "lt", r#""value":"2100-01-01""#),
            ("COLOR_DATE", "older_than_days", r#""value":0"#),
        ] {
            assert!(!hits(&one_rule(field, op, value), &empty), "{field} {op}");
        }
        for field in ["SOURCE", "RANK", "COLOR_DATE", "PRICE"] {
            let missing = rules(&format!(
                r#"{{"rules":[{{"id":"m","field":"{field}","op":"missing"}}]}}"#
            ));
            assert!(hits(&missing, &empty), "{field} missing");
            assert!(!hits(&missing, &row()), "{field} present");
        }
    }

    #[test]
    fn every_matching_rule_is_reported_in_document_order() {
        let rules = rules(
            r#"{"rules":[
                {"id":"cheap","field":"PRICE","op":"lt","value":100},
                {"id":"never","field":"SOURCE","op":"eq","value":"nobody"},
                {"id":"second-tier","field":"RANK","op":"ge","value":2},
                {"id":"apple","field":"CUSIP","op":"matches","value":"^037833"}
            ]}"#,
        );
        assert_eq!(matched(&rules, &row()), ["cheap", "second-tier", "apple"]);
    }

    #[test]
    fn the_price_order_defaults_to_descending() {
        assert_eq!(rules("{}").price_order(), PriceOrder::Desc);
        assert_eq!(
            rules(r#"{"price_order":"ASC"}"#).price_order(),
            PriceOrder::Asc
        );
        assert!(rules(r#"{"rules":[]}"#).is_empty());
    }

    fn rejection(json: &str) -> String {
        Rules::parse(json.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn invalid_documents_are_rejected_naming_the_rule() {
        for (json, expected) in [
            (
                r#"{"rules":[{"id":"a","field":"SOURCE","op":"like","value":"x"}]}"#,
                r#"rule "a" is invalid: unknown op "like""#,
            ),
            (
                r#"{"rules":[{"id":"b","field":"CUSIP","op":"matches","value":"(["}]}"#,
                r#"rule "b" is invalid: bad regex"#,
            ),
            (
                r#"{"rules":[{"id":"c","field":"DESK","op":"eq","value":"x"}]}"#,
                r#"rule "c" is invalid: unknown field "DESK""#,
            ),
            (
                r#"{"rules":[{"id":"d","field":"PRICE","op":"lt","value":"cheap"}]}"#,
                r#"rule "d" is invalid: PRICE is a number"#,
            ),
            (
                r#"{"rules":[{"id":"e","field":"SOURCE","op":"eq","value":3}]}"#,
                r#"rule "e" is invalid: SOURCE is text"#,
            ),
            (
                r#"{"rules":[{"id":"f","field":"SOURCE","op":"lt","value":"x"}]}"#,
                r#"rule "f" is invalid: op lt compares numbers or timestamps"#,
            ),
            (
                r#"{"rules":[{"id":"g","field":"COLOR_DATE","op":"lt","value":"last week"}]}"#,
                r#"rule "g" is invalid: COLOR_DATE values must be timestamp strings"#,
            ),
            (
                r#"{"rules":[{"id":"h","field":"SOURCE","op":"in","values":[]}]}"#,
                r#"rule "h" is invalid: op in needs "values""#,
            ),
            (
                r#"{"rules":[{"id":"i","field":"SOURCE","op":"in","value":"x"}]}"#,
                r#"rule "i" is invalid: op in takes "values""#,
            ),
            (
                r#"{"rules":[{"id":"j","field":"RANK","op":"missing","value":1}]}"#,
                r#"rule "j" is invalid: op missing takes no value"#,
            ),
            (
                r#"{"rules":[{"id":"k","field":"PRICE","op":"older_than_days","value":3}]}"#,
                r#"rule "k" is invalid: op older_than_days applies to COLOR_DATE"#,
            ),
            (
                r#"{"rules":[{"id":"l","field":"COLOR_DATE","op":"older_than_days","value":-1}]}"#,
                r#"rule "l" is invalid: op older_than_days needs a number"#,
            ),
            (
                r#"{"rules":[{"id":"m","field":"RANK","op":"eq","value":1,"valeu":2}]}"#,
                r#"rule "m" is invalid: unknown key "valeu""#,
            ),
            (
                r#"{"rules":[{"id":"n","field":"RANK","value":1}]}"#,
                r#"rule "n" is invalid: "op" is missing"#,
            ),
            (
                r#"{"rules":[{"id":"o","field":"PRICE","op":"lt","value":0},{"id":"o","field":"RANK","op":"missing"}]}"#,
                r#"rule "o" is invalid: the id is used by an earlier rule"#,
            ),
            (
                r#"{"rules":[{"id":"p","field":"ID","op":"matches","value":1}]}"#,
                r#"rule "p" is invalid: ID is text"#,
            ),
            (
                r#"{"rules":[{"id":"q","field":"RANK","op":"matches","value":"1"}]}"#,
                r#"rule "q" is invalid: op matches applies to ID, CUSIP or SOURCE"#,
            ),
            (
                r#"{"rules":[{"field":"RANK","op":"missing"}]}"#,
                r##"rule "#1" is invalid: "id" must be a non-empty string"##,
            ),
            (
                r#"{"rules":[{"id":"ok","field":"RANK","op":"missing"}, 7]}"#,
                r##"rule "#2" is invalid: a rule must be a JSON object"##,
            ),
            (
                r#"{"price_order":"up"}"#,
                r#"the rules document is invalid: price_order must be "asc" or "desc""#,
            ),
            (
                r#"{"rule":[]}"#,
                r#"the rules document is invalid: unknown key "rule""#,
            ),
            (
                r#"[]"#,
                "the rules document is invalid: it must be a JSON object",
            ),
            (r#"{"rules":"#, "the rules document is not valid JSON"),
        ] {
            let message = rejection(json);
            assert!(message.starts_with(expected), "{json}\n  got: {message}");
        }
    }

    #[test]
    fn the_example_document_from_the_spec_is_accepted() {
        let rules = rules(include_str!("../../../events/run-colors-rules.json"));
        assert_eq!(rules.len(), 5);
        assert_eq!(rules.id(4), "test-cusips");
    }
}
