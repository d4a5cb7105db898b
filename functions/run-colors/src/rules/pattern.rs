//! The `matches` operator's pattern: a regex, answered as a plain text test when it is only
//! letters, digits, `_`, `-` and spaces, perhaps anchored (`^TEST` is a prefix test).

use regex::Regex;

/// A compiled `matches` pattern.
#[derive(Debug)]
pub(super) struct Pattern {
    regex: Regex,
    // GAIN? measured: the example rules' `^TEST` on a million CUSIPs pays the regex engine's
    // per-call set-up each time; as a prefix test the run takes 4 % less CPU
    // (see BENCHMARKS.md, "what the engine's techniques earn").
    literal: Option<Literal>,
}

#[derive(Debug)]
struct Literal {
    text: String,
    at_start: bool,
    at_end: bool,
}

impl Pattern {
    /// Compiles `pattern`, or says why it is not a regex.
    pub(super) fn new(pattern: &str) -> Result<Pattern, String> {
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

    /// Whether `text` matches, as the regex would say.
    pub(super) fn is_match(&self, text: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
