//! The exclusion rules: a JSON document validated whole before any data is read, then applied
//! to every row, reporting every matching rule id in the document's order.
//!
//! Validation is strict on purpose: a typo in a field or operator name would otherwise quietly
//! let through colors the desk asked to drop. Each error names the rule (its `id`, or its
//! position when the id itself is the problem). The document's shape is read in [`document`];
//! each operator (`eq`, `in`, `matches`, ...) is parsed and evaluated in one place, [`ops`],
//! so a new operator is one variant and its two match arms there.

mod document;
mod ops;
#[cfg(test)]
mod tests;

use crate::values::Micros;

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

/// What kind of value a field holds, which decides the operators that apply to it.
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

impl PriceOrder {
    /// `desc` or `asc`, as the document and the manifest spell it.
    pub fn name(self) -> &'static str {
        match self {
            PriceOrder::Desc => "desc",
            PriceOrder::Asc => "asc",
        }
    }
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

/// One rule: the field it tests and how.
#[derive(Debug)]
struct Rule {
    id: String,
    field: Field,
    test: ops::Test,
}

/// A validated rules document.
#[derive(Debug, Default)]
pub struct Rules {
    price_order: PriceOrder,
    rules: Vec<Rule>,
}

impl Rules {
    /// Parses and validates a rules document.
    pub fn parse(document: &[u8]) -> Result<Rules, RulesError> {
        document::parse(document)
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
            if rule.test.matches(rule.field, row, as_of) {
                matched.push(index);
            }
        }
    }
}
