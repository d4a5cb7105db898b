//! Oracle statements with their bind count in their type, and the rules a live database applies
//! to them, checked as text where no database can run.
//!
//! A [`Statement`] carries how many values it takes: an adapter can only pass exactly that many
//! (`statement.binds([...])` takes an array of that length), and a test checks, for every
//! statement an adapter defines, that the number is what Oracle counts in the text
//! ([`bind_positions`]), that the text uses no syntax newer than Oracle 11.2
//! ([`newer_than_11g`]), the release of the oldest database this suite meets, and that every
//! dictionary view, column, supplied procedure and parameter it names is one 11.2 documents
//! ([`dictionary`], against the catalogue kept as data with the page of each entry).
//!
//! Oracle counts bind positions differently in SQL and in PL/SQL: in a SQL statement every
//! placeholder occurrence is its own position, so `WHERE a = :1 OR b = :1` takes two values,
//! while in a PL/SQL block each distinct name is one position however often it appears (Oracle
//! Call Interface Programmer's Guide, "Binding Placeholders in PL/SQL"; ODPI-C binds by position
//! the same way). A SQL statement that repeats a placeholder and is given one value fails with
//! ORA-01008 "not all variables bound".

use std::borrow::Cow;

use oracle::sql_type::ToSql;

pub mod catalogue;
pub mod dictionary;
mod lexer;

/// A statement and the number of values it is executed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<const BINDS: usize> {
    text: Cow<'static, str>,
}

impl<const BINDS: usize> Statement<BINDS> {
    /// A fixed statement.
    pub const fn new(text: &'static str) -> Self {
        Self {
            text: Cow::Borrowed(text),
        }
    }

    /// A statement built at run time (validated identifiers in it, values still bound).
    pub fn owned(text: String) -> Self {
        Self {
            text: Cow::Owned(text),
        }
    }

    /// The SQL or PL/SQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The values to bind, exactly as many as the statement takes.
    pub fn binds<'a>(&self, values: [&'a dyn ToSql; BINDS]) -> [&'a dyn ToSql; BINDS] {
        values
    }

    /// What is wrong with the statement by Oracle's rules: a bind count other than the one it
    /// is executed with, syntax newer than 11.2, or a view, column, procedure, parameter or
    /// value Oracle 11.2's catalogue does not have ([`dictionary`]). Empty when nothing is.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let counted = bind_positions(&self.text);
        if counted != BINDS {
            problems.push(format!(
                "Oracle counts {counted} bind positions; the adapter passes {BINDS}"
            ));
        }
        for feature in newer_than_11g(&self.text) {
            problems.push(format!("uses {feature}, which Oracle 11.2 does not have"));
        }
        problems.extend(dictionary::problems(&self.text));
        problems
    }
}

/// Whether `text` is a PL/SQL block (`BEGIN ...` or `DECLARE ...`) rather than a SQL statement.
pub fn is_plsql_block(text: &str) -> bool {
    let first = code_only(text)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    first == "BEGIN" || first == "DECLARE"
}

/// The bind positions Oracle gives `text`: every placeholder occurrence in SQL, each distinct
/// name once in a PL/SQL block. Placeholders inside string literals, quoted identifiers and
/// comments are not placeholders, and neither is PL/SQL's `:=`.
pub fn bind_positions(text: &str) -> usize {
    let names = placeholders(text);
    if is_plsql_block(text) {
        let mut distinct: Vec<String> = names.into_iter().map(|n| n.to_ascii_uppercase()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        distinct.len()
    } else {
        names.len()
    }
}

/// The placeholder names (`1`, `job`) in `text`, in order, repeats included.
pub fn placeholders(text: &str) -> Vec<String> {
    let code = code_only(text);
    let bytes = code.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
            if end > start {
                names.push(code[start..end].to_owned());
                i = end;
                continue;
            }
        }
        i += 1;
    }
    names
}

/// Syntax in `text` that Oracle 11.2 does not have (12c and later), outside literals and
/// comments.
pub fn newer_than_11g(text: &str) -> Vec<&'static str> {
    let words: Vec<String> = code_only(text)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let has = |sequence: &[&str]| {
        words
            .windows(sequence.len())
            .any(|window| window.iter().zip(sequence).all(|(w, s)| w == s))
    };
    let mut found = Vec::new();
    let row_limiting = ["FIRST", "NEXT"]
        .iter()
        .any(|which| has(&["FETCH", which]))
        // OFFSET <n or :bind> ROW(S)
        || words
            .windows(3)
            .any(|w| w[0] == "OFFSET" && w[2].starts_with("ROW"));
    if row_limiting {
        found.push("the row-limiting clause (FETCH FIRST/NEXT, OFFSET ... ROWS; 12c)");
    }
    if has(&["AS", "IDENTITY"]) {
        found.push("identity columns (12c)");
    }
    if words.iter().any(|w| w.starts_with("JSON_")) || has(&["IS", "JSON"]) {
        found.push("JSON functions and conditions (12c)");
    }
    if has(&["ON", "OVERFLOW"]) {
        found.push("LISTAGG ... ON OVERFLOW (12.2)");
    }
    if has(&["LATERAL"]) || has(&["CROSS", "APPLY"]) || has(&["OUTER", "APPLY"]) {
        found.push("LATERAL and APPLY joins (12c)");
    }
    if has(&["MATCH_RECOGNIZE"]) {
        found.push("MATCH_RECOGNIZE (12c)");
    }
    if has(&["APPROX_COUNT_DISTINCT"]) {
        found.push("APPROX_COUNT_DISTINCT (12c)");
    }
    found
}

/// `text` with string literals, quoted identifiers and comments blanked out (replaced by
/// spaces), so only code is left to read.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                // A doubled quote inside is an escaped quote: skip both and stay inside.
                while let Some(inner) = chars.next() {
                    if inner == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                            continue;
                        }
                        break;
                    }
                }
                out.push(' ');
            }
            '-' if chars.peek() == Some(&'-') => {
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
                out.push('\n');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for inner in chars.by_ref() {
                    if previous == '*' && inner == '/' {
                        break;
                    }
                    previous = inner;
                }
                out.push(' ');
            }
            ':' if chars.peek() == Some(&'=') => {
                chars.next();
                out.push_str(" = ");
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_counts_every_occurrence_and_plsql_each_name_once() {
        assert_eq!(bind_positions("SELECT 1 FROM t WHERE a = :1 OR b = :1"), 2);
        assert_eq!(
            bind_positions("BEGIN p(:1, :2); q(:1); END;"),
            2,
            "one position per distinct name in a block"
        );
        assert_eq!(
            bind_positions("DECLARE x NUMBER := :n; BEGIN p(x, :N); END;"),
            1
        );
        assert_eq!(bind_positions("SELECT * FROM t"), 0);
    }

    #[test]
    fn literals_comments_quoted_names_and_assignments_hold_no_placeholders() {
        let sql = "SELECT TO_CHAR(d, 'HH24:MI:SS'), \"a:b\" FROM t -- :x\n WHERE c = :1 /* :y */";
        assert_eq!(placeholders(sql), vec!["1"]);
        assert_eq!(
            placeholders("SELECT 'it''s :no' FROM t WHERE a = :1"),
            vec!["1"]
        );
        assert_eq!(bind_positions("BEGIN x := :1; END;"), 1);
    }

    #[test]
    fn syntax_newer_than_11g_is_found_outside_literals() {
        assert!(!newer_than_11g("SELECT * FROM t ORDER BY a FETCH FIRST 1 ROWS ONLY").is_empty());
        assert!(!newer_than_11g("SELECT * FROM t OFFSET 10 ROWS").is_empty());
        assert!(!newer_than_11g("SELECT JSON_VALUE(doc, '$.a') FROM t").is_empty());
        assert!(!newer_than_11g("SELECT * FROM a CROSS APPLY (SELECT 1 FROM b)").is_empty());
        assert!(
            !newer_than_11g("CREATE TABLE t (id NUMBER GENERATED ALWAYS AS IDENTITY)").is_empty()
        );
        assert!(
            !newer_than_11g(
                "SELECT LISTAGG(a, ',' ON OVERFLOW TRUNCATE) WITHIN GROUP (ORDER BY a) FROM t"
            )
            .is_empty()
        );
        assert!(
            newer_than_11g("SELECT * FROM (SELECT a FROM t ORDER BY a) WHERE ROWNUM = 1")
                .is_empty()
        );
        assert!(newer_than_11g("SELECT 'FETCH FIRST 1 ROWS' FROM dual").is_empty());
    }

    #[test]
    fn a_statement_reports_a_wrong_bind_count_and_newer_syntax() {
        const REPEATED: Statement<1> = Statement::new("SELECT * FROM t WHERE a = :1 OR b = :1");
        assert_eq!(REPEATED.problems().len(), 1);
        let fine: Statement<2> = Statement::owned("SELECT * FROM t WHERE a = :1 OR b = :2".into());
        assert!(fine.problems().is_empty());
        const NEWER: Statement<0> = Statement::new("SELECT * FROM t FETCH FIRST 1 ROWS ONLY");
        assert_eq!(NEWER.problems().len(), 1);
    }
}
