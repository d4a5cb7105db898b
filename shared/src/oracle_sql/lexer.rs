//! A statement as tokens with their line numbers, comments dropped: the checks in
//! [`super::dictionary`] read Oracle SQL and PL/SQL this far and no further.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// A plain name, upper-cased.
    Name,
    /// A `"quoted"` name, as written inside the quotes.
    Quoted,
    /// A `'string'` literal's value.
    Literal,
    /// A `:bind`.
    Bind,
    /// A number.
    Number,
    /// Punctuation or an operator: `(`, `)`, `,`, `.`, `=>`, `:=`, `%`, `;`, `<>`, ...
    Symbol,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) text: String,
    pub(super) line: usize,
}

impl Token {
    pub(super) fn is(&self, symbol: &str) -> bool {
        self.kind == Kind::Symbol && self.text == symbol
    }

    pub(super) fn is_name(&self, name: &str) -> bool {
        self.kind == Kind::Name && self.text == name
    }
}

/// `text` as tokens with their line numbers; comments dropped.
pub(super) fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let push =
        |out: &mut Vec<Token>, kind, text: String, line| out.push(Token { kind, text, line });
    let name_char = |c: char| c.is_ascii_alphanumeric() || "_$#".contains(c);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            i = run_end(&chars, i, |c| c != '\n');
        } else if c == '/' && next == Some('*') {
            i = comment_end(&chars, i + 2, &mut line);
        } else if c == '\'' || c == '"' {
            let start_line = line;
            let (value, end) = quoted(&chars, i + 1, &mut line, c);
            i = end;
            let kind = if c == '\'' {
                Kind::Literal
            } else {
                Kind::Quoted
            };
            push(&mut out, kind, value, start_line);
        } else if c == ':' && next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '_') {
            let start = i + 1;
            i = run_end(&chars, start, |c| c.is_ascii_alphanumeric() || c == '_');
            push(&mut out, Kind::Bind, chars[start..i].iter().collect(), line);
        } else if c.is_ascii_alphabetic() {
            let start = i;
            i = run_end(&chars, i, name_char);
            let name: String = chars[start..i].iter().collect();
            push(&mut out, Kind::Name, name.to_ascii_uppercase(), line);
        } else if c.is_ascii_digit() {
            let start = i;
            i = run_end(&chars, i, |c| c.is_ascii_digit() || c == '.');
            let number = chars[start..i].iter().collect();
            push(&mut out, Kind::Number, number, line);
        } else {
            let pair: String = [c, next.unwrap_or(' ')].iter().collect();
            let symbol = match pair.as_str() {
                "=>" | ":=" | "<>" | "!=" | "<=" | ">=" | "||" => {
                    i += 2;
                    pair
                }
                _ => {
                    i += 1;
                    c.to_string()
                }
            };
            push(&mut out, Kind::Symbol, symbol, line);
        }
    }
    out
}

/// Where the run of characters from `i` that `keep` accepts ends.
fn run_end(chars: &[char], mut i: usize, keep: impl Fn(char) -> bool) -> usize {
    while i < chars.len() && keep(chars[i]) {
        i += 1;
    }
    i
}

/// Where a block comment whose text starts at `i` ends (past its `*/`), counting its lines.
fn comment_end(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
        *line += usize::from(chars[i] == '\n');
        i += 1;
    }
    i + 2
}

/// The text of a literal or quoted name from `i` to its closing `quote` (a doubled quote
/// stands for one), and where it ends (past the quote), counting its lines.
fn quoted(chars: &[char], mut i: usize, line: &mut usize, quote: char) -> (String, usize) {
    let mut value = String::new();
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                value.push(quote);
                i += 2;
                continue;
            }
            break;
        }
        *line += usize::from(chars[i] == '\n');
        value.push(chars[i]);
        i += 1;
    }
    (value, i + 1)
}
