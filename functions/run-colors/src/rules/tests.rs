//! The rules as the spec states them: each operator on present and missing values, the
//! document's order of reasons, and every way a document is refused.

use super::*;
use crate::values::{self, MICROS_PER_DAY};

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

fn assert_rejected(cases: &[(&str, &str)]) {
    for (json, expected) in cases {
        let message = rejection(json);
        assert!(message.starts_with(expected), "{json}\n  got: {message}");
    }
}

#[test]
fn an_invalid_rule_is_rejected_naming_it() {
    assert_rejected(&[
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
    ]);
}

#[test]
fn an_invalid_document_is_rejected_saying_what_is_wrong() {
    assert_rejected(&[
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
    ]);
}

#[test]
fn the_example_document_from_the_spec_is_accepted() {
    let rules = rules(include_str!("../../../../events/run-colors-rules.json"));
    assert_eq!(rules.len(), 5);
    assert_eq!(rules.id(4), "test-cusips");
}
