//! Small helpers for reporting errors without losing their causes.
//!
//! Error enums in this workspace keep their `#[source]`, so the full story is a chain. Log lines
//! want that chain on one line; [`chain`] renders it (`outer: middle: root cause`).

use std::error::Error;
use std::fmt;

/// A boxed error that can cross threads, for ports whose adapters fail in different ways.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Renders an error and every `source()` below it as `outer: cause: root cause`.
pub fn chain<'a>(err: &'a (dyn Error + 'static)) -> ErrorChain<'a> {
    ErrorChain(err)
}

/// The display adapter returned by [`chain`].
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(&'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut previous = self.0.to_string();
        f.write_str(&previous)?;
        let mut current = self.0.source();
        while let Some(cause) = current {
            // Some libraries repeat their source's text in their own message; skip exact repeats.
            let text = cause.to_string();
            if text != previous {
                write!(f, ": {text}")?;
            }
            previous = text;
            current = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not load parameters")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("SSM request failed")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn chain_lists_every_cause_from_outer_to_root() {
        let err = Outer(Middle(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        )));
        assert_eq!(
            chain(&err).to_string(),
            "could not load parameters: SSM request failed: connection refused"
        );
    }
}
