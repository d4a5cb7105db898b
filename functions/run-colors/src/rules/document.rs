//! Reading a rules document: its top-level keys, then each rule's `id`, `field` and `op`,
//! handing the operator and its value to [`ops`](super::ops).

use serde_json::Value;

use super::{Field, PriceOrder, Rule, Rules, RulesError, ops};

/// Parses and validates a whole document.
pub(super) fn parse(document: &[u8]) -> Result<Rules, RulesError> {
    let root: Value = serde_json::from_slice(document).map_err(RulesError::Json)?;
    let Value::Object(root) = root else {
        return Err(RulesError::Document("it must be a JSON object".into()));
    };
    let mut price_order = PriceOrder::Desc;
    let mut rules = Vec::new();
    for (key, value) in &root {
        match key.as_str() {
            "price_order" => price_order = parse_price_order(value)?,
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

fn parse_price_order(value: &Value) -> Result<PriceOrder, RulesError> {
    match value.as_str().map(str::trim) {
        Some(order) if order.eq_ignore_ascii_case("desc") => Ok(PriceOrder::Desc),
        Some(order) if order.eq_ignore_ascii_case("asc") => Ok(PriceOrder::Asc),
        _ => Err(RulesError::Document(format!(
            "price_order must be \"asc\" or \"desc\", not {value}"
        ))),
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
    if let Some(key) = object.keys().find(|key| {
        !matches!(
            key.as_str(),
            "id" | "field" | "op" | "value" | "values" | "description"
        )
    }) {
        return Err(fail(
            &id,
            format!("unknown key {key:?} (expected id, field, op, value, values)"),
        ));
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
    let operand = ops::Operand {
        value: object.get("value"),
        values: object.get("values"),
    };
    let test = ops::Test::parse(field, op, operand).map_err(|problem| fail(&id, problem))?;
    Ok(Rule { id, field, test })
}
