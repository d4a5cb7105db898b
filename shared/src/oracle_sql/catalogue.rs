//! Oracle 11.2's catalogue as data (`shared/data/oracle-11.2.json`): the dictionary views and
//! their columns, the supplied packages' procedures and their named parameters, documented
//! column values, `SYS_CONTEXT` parameters and error texts, each with the page it was read
//! from. [`super::dictionary`] checks statements against it; tests read it to hold code to
//! Oracle's documented values.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// The catalogue file, compiled in.
const CATALOGUE_JSON: &str = include_str!("../../data/oracle-11.2.json");

#[derive(Debug, Deserialize)]
pub(super) struct View {
    pub(super) columns: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Values {
    #[serde(default)]
    pub(super) values: Vec<String>,
    #[serde(default)]
    pub(super) same_as: Option<String>,
    /// Values the page does not list for this column that the code reads anyway, each set
    /// with why (another 11.2 page shows them for the same objects).
    #[serde(default)]
    pub(super) also_read: Option<AlsoRead>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AlsoRead {
    pub(super) values: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Package {
    pub(super) procedures: BTreeMap<String, Vec<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Type {
    pub(super) static_functions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Function {
    pub(super) namespaces: BTreeMap<String, Vec<String>>,
}

/// Oracle 11.2's catalogue as the checks use it.
#[derive(Debug, Deserialize)]
pub struct Catalogue {
    pub(super) views: BTreeMap<String, View>,
    pub(super) values: BTreeMap<String, Values>,
    pub(super) packages: BTreeMap<String, Package>,
    pub(super) types: BTreeMap<String, Type>,
    pub(super) functions: BTreeMap<String, Function>,
    pub(super) errors: BTreeMap<String, serde::de::IgnoredAny>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    // The file is part of this crate; its own test parses it, so this cannot fail at run time.
    serde_json::from_str(CATALOGUE_JSON).unwrap_or_else(|err| panic!("oracle-11.2.json: {err}"))
});

/// The catalogue, parsed once.
pub fn catalogue() -> &'static Catalogue {
    &CATALOGUE
}

impl Catalogue {
    /// Whether `view` (upper case) is a catalogue view.
    pub fn has_view(&self, view: &str) -> bool {
        self.views.contains_key(view)
    }

    /// The columns 11.2 documents for `view` (upper case), if it is a catalogue view.
    pub fn columns(&self, view: &str) -> Option<&[String]> {
        self.views.get(view).map(|view| view.columns.as_slice())
    }

    /// The values 11.2 documents for `VIEW.COLUMN` (upper case), if it documents them.
    pub fn values(&self, column: &str) -> Option<&[String]> {
        let entry = self.values.get(column)?;
        match &entry.same_as {
            Some(other) => self.values(other),
            None => Some(entry.values.as_slice()),
        }
    }

    /// The values of `VIEW.COLUMN` a statement may compare it with: the documented ones and
    /// those the catalogue records as also read, with their reason.
    pub fn readable_values(&self, column: &str) -> Option<Vec<&String>> {
        let entry = self.values.get(column)?;
        if let Some(other) = &entry.same_as {
            return self.readable_values(other);
        }
        let also = entry.also_read.iter().flat_map(|also| also.values.iter());
        Some(entry.values.iter().chain(also).collect())
    }

    /// Whether Oracle's error `code` (`ORA-27366`) is in the catalogue.
    pub fn has_error(&self, code: &str) -> bool {
        self.errors.contains_key(code)
    }

    pub(super) fn overloads(&self, package: &str, procedure: &str) -> Option<&[Vec<String>]> {
        self.packages
            .get(package)?
            .procedures
            .get(procedure)
            .map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_and_every_entry_names_its_source() {
        let raw: serde_json::Value = serde_json::from_str(CATALOGUE_JSON).expect("json");
        let catalogue = catalogue();
        assert!(catalogue.has_view("USER_SCHEDULER_JOB_RUN_DETAILS"));
        for section in ["views", "packages", "types", "functions", "errors"] {
            for (name, entry) in raw[section].as_object().expect(section) {
                let source = entry["source"].as_str().unwrap_or_default();
                assert!(
                    source.contains("https://") || source.contains("dbmssch.sql"),
                    "{section}.{name}: {source}"
                );
            }
        }
        for (name, entry) in raw["values"].as_object().expect("values") {
            assert!(
                entry.get("source").is_some() || entry.get("same_as").is_some(),
                "{name}"
            );
        }
    }
}
