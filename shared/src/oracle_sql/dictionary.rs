//! Oracle 11.2's catalogue as data (`shared/data/oracle-11.2.json`: views and their columns,
//! supplied-package procedures and their named parameters, documented column values,
//! `SYS_CONTEXT` parameters, each with the page it was read from) and the check of a statement
//! against it. Where no database can run, this is what catches a column 11.2 does not have.
//!
//! The check reads the statement as tokens, not as a full grammar: it finds the query blocks
//! whose `FROM` names only catalogue views and requires every bare name in them to be a column
//! of those views, a keyword or function it knows, an alias or a PL/SQL variable the statement
//! declares; it checks `PACKAGE.PROCEDURE(name => ...)` calls, `VIEW.COLUMN` references, string
//! values compared with a documented column, and `SYS_CONTEXT` parameters. A name it cannot
//! place is reported, never passed: a false alarm costs a keyword added here, a miss costs a
//! closing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;

/// The catalogue file, compiled in.
const CATALOGUE_JSON: &str = include_str!("../../data/oracle-11.2.json");

#[derive(Debug, Deserialize)]
struct View {
    columns: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Values {
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    same_as: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Package {
    procedures: BTreeMap<String, Vec<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
struct Type {
    static_functions: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Function {
    namespaces: BTreeMap<String, Vec<String>>,
}

/// Oracle 11.2's catalogue as the checks use it.
#[derive(Debug, Deserialize)]
pub struct Catalogue {
    views: BTreeMap<String, View>,
    values: BTreeMap<String, Values>,
    packages: BTreeMap<String, Package>,
    types: BTreeMap<String, Type>,
    functions: BTreeMap<String, Function>,
    errors: BTreeMap<String, serde::de::IgnoredAny>,
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

    /// Whether Oracle's error `code` (`ORA-27366`) is in the catalogue.
    pub fn has_error(&self, code: &str) -> bool {
        self.errors.contains_key(code)
    }

    fn overloads(&self, package: &str, procedure: &str) -> Option<&[Vec<String>]> {
        self.packages
            .get(package)?
            .procedures
            .get(procedure)
            .map(Vec::as_slice)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
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
struct Token {
    kind: Kind,
    text: String,
    line: usize,
}

impl Token {
    fn is(&self, symbol: &str) -> bool {
        self.kind == Kind::Symbol && self.text == symbol
    }

    fn is_name(&self, name: &str) -> bool {
        self.kind == Kind::Name && self.text == name
    }
}

/// `text` as tokens with their line numbers; comments dropped.
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let push =
        |out: &mut Vec<Token>, kind, text: String, line| out.push(Token { kind, text, line });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' {
            let (start_line, mut value) = (line, String::new());
            i += 1;
            while i < chars.len() {
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        value.push(c);
                        i += 2;
                        continue;
                    }
                    break;
                }
                line += usize::from(chars[i] == '\n');
                value.push(chars[i]);
                i += 1;
            }
            i += 1;
            let kind = if c == '\'' {
                Kind::Literal
            } else {
                Kind::Quoted
            };
            push(&mut out, kind, value, start_line);
        } else if c == ':' && next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '_') {
            let start = i + 1;
            i = start;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            push(&mut out, Kind::Bind, chars[start..i].iter().collect(), line);
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_$#".contains(chars[i]))
            {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            push(&mut out, Kind::Name, name.to_ascii_uppercase(), line);
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            push(
                &mut out,
                Kind::Number,
                chars[start..i].iter().collect(),
                line,
            );
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

/// Words a query block may hold besides columns: SQL and PL/SQL keywords, the built-in
/// functions and pseudocolumns the statements here use. Add to it when a statement needs more.
const KNOWN_WORDS: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "ASC",
    "AT",
    "BETWEEN",
    "BY",
    "CASE",
    "COALESCE",
    "COUNT",
    "DATE",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "ESCAPE",
    "EXISTS",
    "FROM",
    "GROUP",
    "HAVING",
    "IN",
    "INTO",
    "IS",
    "LIKE",
    "LOWER",
    "MAX",
    "MIN",
    "NOT",
    "NULL",
    "NVL",
    "OR",
    "ORDER",
    "ROWNUM",
    "SELECT",
    "SYSDATE",
    "SYSTIMESTAMP",
    "SYS_CONTEXT",
    "THEN",
    "TIME",
    "TO_CHAR",
    "TO_DATE",
    "TRIM",
    "UNION",
    "UPPER",
    "WHEN",
    "WHERE",
    "ZONE",
];

/// Dictionary views are the `USER_`, `ALL_` and `DBA_` views, `V$`/`GV$` views, and `DUAL`.
fn looks_like_dictionary_view(name: &str) -> bool {
    ["USER_", "ALL_", "DBA_", "V$", "GV$"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || name == "DUAL"
}

/// What is wrong with `text` by Oracle 11.2's catalogue, each problem with its line.
pub fn problems(text: &str) -> Vec<String> {
    let catalogue = catalogue();
    let tokens = tokens(text);
    let variables = declared_variables(&tokens, catalogue);
    let mut found = Vec::new();
    check_qualified(&tokens, catalogue, &mut found);
    check_calls(&tokens, catalogue, &mut found);
    check_sys_context(&tokens, catalogue, &mut found);
    for block in query_blocks(&tokens) {
        found.extend(block.items.unknown_views.iter().map(unknown_view));
        check_block(&tokens, &block, catalogue, &variables, &mut found);
    }
    check_values(&tokens, catalogue, &variables, &mut found);
    found.sort();
    found.dedup();
    found
}

/// PL/SQL variables the block declares (`name type;` between DECLARE and BEGIN), with the
/// `VIEW.COLUMN` of a `%TYPE` declaration.
fn declared_variables(tokens: &[Token], catalogue: &Catalogue) -> BTreeMap<String, Option<String>> {
    let mut variables = BTreeMap::new();
    if !tokens.first().is_some_and(|t| t.is_name("DECLARE")) {
        return variables;
    }
    let mut at_start = true;
    for (i, token) in tokens.iter().enumerate().skip(1) {
        if token.is_name("BEGIN") {
            break;
        }
        if at_start && token.kind == Kind::Name {
            let typed = match &tokens[i + 1..] {
                [view, dot, column, percent, kind, ..]
                    if dot.is(".")
                        && percent.is("%")
                        && kind.is_name("TYPE")
                        && catalogue.has_view(&view.text) =>
                {
                    Some(format!("{}.{}", view.text, column.text))
                }
                _ => None,
            };
            variables.insert(token.text.clone(), typed);
        }
        at_start = token.is(";");
    }
    variables
}

/// `VIEW.COLUMN` (or `VIEW.COLUMN%TYPE`) where VIEW is a dictionary view: both must exist.
fn check_qualified(tokens: &[Token], catalogue: &Catalogue, found: &mut Vec<String>) {
    for window in tokens.windows(3) {
        let [view, dot, column] = window else {
            continue;
        };
        if view.kind != Kind::Name || !dot.is(".") || column.kind != Kind::Name {
            continue;
        }
        if !looks_like_dictionary_view(&view.text) {
            continue;
        }
        match catalogue.columns(&view.text) {
            None => found.push(unknown_view(view)),
            Some(columns) if !columns.contains(&column.text) => found.push(format!(
                "line {}: {} has no column {} in Oracle 11.2",
                column.line, view.text, column.text
            )),
            Some(_) => {}
        }
    }
}

fn unknown_view(view: &Token) -> String {
    format!(
        "line {}: {} is not a view of Oracle 11.2's catalogue",
        view.line, view.text
    )
}

/// `PACKAGE.PROCEDURE(...)` of a catalogue package (or any `DBMS_` one) and
/// `SYS.ANYDATA.FUNCTION(...)`: the procedure must exist, and its named parameters must all
/// belong to one of its overloads, with room for the positional ones.
fn check_calls(tokens: &[Token], catalogue: &Catalogue, found: &mut Vec<String>) {
    for (i, token) in tokens.iter().enumerate() {
        let is_package = token.kind == Kind::Name
            && (catalogue.packages.contains_key(&token.text) || token.text.starts_with("DBMS_"))
            && !(i > 0 && tokens[i - 1].is("."));
        if is_package && tokens.get(i + 1).is_some_and(|t| t.is(".")) {
            let Some(procedure) = tokens.get(i + 2).filter(|t| t.kind == Kind::Name) else {
                continue;
            };
            let Some(overloads) = catalogue.overloads(&token.text, &procedure.text) else {
                found.push(format!(
                    "line {}: {}.{} is not a procedure of Oracle 11.2's catalogue",
                    procedure.line, token.text, procedure.text
                ));
                continue;
            };
            let arguments = call_arguments(tokens, i + 3);
            check_arguments(
                &format!("{}.{}", token.text, procedure.text),
                procedure.line,
                overloads,
                &arguments,
                found,
            );
        }
        let typed = match (&tokens[i..], token.text.as_str()) {
            ([_, dot, ty, dot2, function, ..], "SYS") if dot.is(".") && dot2.is(".") => {
                Some((format!("SYS.{}", ty.text), function, i + 5))
            }
            _ => None,
        };
        if let Some((ty, function, after)) = typed {
            let Some(kind) = catalogue.types.get(&ty) else {
                continue;
            };
            match kind.static_functions.get(&function.text) {
                None => found.push(format!(
                    "line {}: {ty}.{} is not a function of Oracle 11.2's catalogue",
                    function.line, function.text
                )),
                Some(parameters) => {
                    let arguments = call_arguments(tokens, after);
                    check_arguments(
                        &format!("{ty}.{}", function.text),
                        function.line,
                        std::slice::from_ref(parameters),
                        &arguments,
                        found,
                    );
                }
            }
        }
    }
}

/// The arguments of the call whose `(` is at `open`: for each, its name if passed by name.
fn call_arguments(tokens: &[Token], open: usize) -> Vec<Option<String>> {
    let mut arguments = Vec::new();
    if !tokens.get(open).is_some_and(|t| t.is("(")) {
        return arguments;
    }
    let (mut depth, mut start) = (0usize, true);
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token.text.as_str() {
            "(" if token.kind == Kind::Symbol => {
                depth += 1;
                continue;
            }
            ")" if token.kind == Kind::Symbol => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                continue;
            }
            "," if token.kind == Kind::Symbol && depth == 1 => {
                start = true;
                continue;
            }
            _ => {}
        }
        if depth == 1 && start {
            let named = token.kind == Kind::Name && tokens.get(i + 1).is_some_and(|t| t.is("=>"));
            arguments.push(named.then(|| token.text.clone()));
            start = false;
        }
    }
    arguments
}

fn check_arguments(
    callee: &str,
    line: usize,
    overloads: &[Vec<String>],
    arguments: &[Option<String>],
    found: &mut Vec<String>,
) {
    let named: Vec<&String> = arguments.iter().flatten().collect();
    let positional = arguments.iter().take_while(|a| a.is_none()).count();
    let fits = |overload: &Vec<String>| {
        arguments.len() <= overload.len()
            && named
                .iter()
                .all(|name| overload[positional.min(overload.len())..].contains(name))
    };
    if overloads.iter().any(fits) {
        return;
    }
    let known: BTreeSet<&String> = overloads.iter().flatten().collect();
    let strangers: Vec<&str> = named
        .iter()
        .filter(|name| !known.contains(*name))
        .map(|name| name.as_str())
        .collect();
    found.push(match strangers.is_empty() {
        false => format!(
            "line {line}: {callee} has no parameter {} in Oracle 11.2",
            strangers.join(", ")
        ),
        true => format!(
            "line {line}: no overload of {callee} in Oracle 11.2 takes these {} arguments",
            arguments.len()
        ),
    });
}

/// `SYS_CONTEXT('NAMESPACE', 'PARAMETER')`: both documented.
fn check_sys_context(tokens: &[Token], catalogue: &Catalogue, found: &mut Vec<String>) {
    let Some(function) = catalogue.functions.get("SYS_CONTEXT") else {
        return;
    };
    for window in tokens.windows(6) {
        let [name, open, namespace, comma, parameter, _] = window else {
            continue;
        };
        if !name.is_name("SYS_CONTEXT") || !open.is("(") || !comma.is(",") {
            continue;
        }
        if namespace.kind != Kind::Literal || parameter.kind != Kind::Literal {
            continue;
        }
        let namespace_name = namespace.text.to_ascii_uppercase();
        let known = function
            .namespaces
            .get(&namespace_name)
            .is_some_and(|parameters| parameters.contains(&parameter.text.to_ascii_uppercase()));
        if !known {
            found.push(format!(
                "line {}: SYS_CONTEXT('{namespace_name}', '{}') is not in Oracle 11.2's catalogue",
                parameter.line, parameter.text
            ));
        }
    }
}

/// One `SELECT` block: where it starts and ends, and what its `FROM` reads.
#[derive(Debug)]
struct Block {
    select: usize,
    end: usize,
    from: usize,
    items: FromList,
}

/// What a `FROM` list reads.
#[derive(Debug, Default)]
struct FromList {
    /// The catalogue views it names.
    views: Vec<String>,
    /// Whether it reads nothing but catalogue views and subqueries.
    only_views: bool,
    /// The output names of its subqueries.
    subquery_names: Vec<String>,
    /// Names that look like dictionary views but are not in the catalogue.
    unknown_views: Vec<Token>,
}

/// Every query block: from its `SELECT` to the `)`, `;`, set operator or end that closes it at
/// its own depth.
fn query_blocks(tokens: &[Token]) -> Vec<Block> {
    let mut blocks = Vec::new();
    for (select, token) in tokens.iter().enumerate() {
        if !token.is_name("SELECT") {
            continue;
        }
        let (mut depth, mut end, mut from) = (0i32, tokens.len(), None);
        for (i, token) in tokens.iter().enumerate().skip(select + 1) {
            if token.is("(") {
                depth += 1;
            } else if token.is(")") {
                depth -= 1;
                if depth < 0 {
                    end = i;
                    break;
                }
            } else if depth == 0 {
                let set_operator = token.kind == Kind::Name
                    && ["UNION", "INTERSECT", "MINUS"].contains(&token.text.as_str());
                if token.is(";") || set_operator {
                    end = i;
                    break;
                }
                if token.is_name("FROM") && from.is_none() {
                    from = Some(i);
                }
            }
        }
        let Some(from) = from else { continue };
        blocks.push(Block {
            select,
            end,
            from,
            items: from_items(tokens, from, end),
        });
    }
    blocks
}

/// Reads the `FROM` list that starts at `from` and ends at the first clause after it.
fn from_items(tokens: &[Token], from: usize, end: usize) -> FromList {
    let catalogue = catalogue();
    let mut list = FromList {
        only_views: true,
        ..FromList::default()
    };
    let (mut i, mut item_start) = (from + 1, true);
    while i < end {
        let token = &tokens[i];
        let clause = token.kind == Kind::Name
            && ["WHERE", "ORDER", "GROUP", "CONNECT", "START", "HAVING"]
                .contains(&token.text.as_str());
        if clause {
            break;
        }
        if token.is(",") {
            item_start = true;
        } else if item_start && token.is("(") {
            let close = matching_close(tokens, i).min(end);
            list.subquery_names
                .extend(select_list_names(tokens, i + 1, close));
            item_start = false;
            i = close;
        } else if item_start {
            item_start = false;
            let owner_qualified = tokens.get(i + 1).is_some_and(|t| t.is("."));
            match token.kind == Kind::Name && !owner_qualified {
                true if catalogue.has_view(&token.text) => list.views.push(token.text.clone()),
                true if looks_like_dictionary_view(&token.text) => {
                    list.unknown_views.push(token.clone());
                    list.only_views = false;
                }
                _ => list.only_views = false,
            }
        }
        i += 1;
    }
    list
}

fn matching_close(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        if token.is("(") {
            depth += 1;
        } else if token.is(")") {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    tokens.len()
}

/// The output names of the first `SELECT` between `start` and `end`: each item's alias, or its
/// last name.
fn select_list_names(tokens: &[Token], start: usize, end: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0;
    let mut last: Option<String> = None;
    let Some(select) = (start..end).find(|&i| tokens[i].is_name("SELECT")) else {
        return names;
    };
    for token in &tokens[select + 1..end] {
        if token.is("(") {
            depth += 1;
        } else if token.is(")") {
            depth -= 1;
        } else if depth == 0 && (token.is(",") || token.is_name("FROM")) {
            names.extend(last.take());
            if token.is_name("FROM") {
                break;
            }
        } else if depth == 0 && token.kind == Kind::Name {
            last = Some(token.text.clone());
        }
    }
    names
}

/// The aliases a block's select list gives (`expression alias` or `expression AS alias`).
fn select_aliases(tokens: &[Token], block: &Block) -> BTreeSet<String> {
    let mut aliases = BTreeSet::new();
    let mut depth = 0;
    for i in block.select + 1..block.from {
        let token = &tokens[i];
        if token.is("(") {
            depth += 1;
        } else if token.is(")") {
            depth -= 1;
        } else if depth == 0 && token.kind == Kind::Name {
            let next = &tokens[i + 1];
            let ends_item = next.is(",") || next.is_name("FROM") || next.is_name("INTO");
            let previous = &tokens[i - 1];
            let follows_expression = previous.kind != Kind::Symbol || previous.is(")");
            if ends_item && follows_expression && !previous.is_name("SELECT") {
                aliases.insert(token.text.clone());
            }
        }
    }
    aliases
}

/// Every bare name of a block that reads only catalogue views (or subqueries) must be a column
/// of one of them, an output name of its subqueries, an alias, a variable or a known word.
fn check_block(
    tokens: &[Token],
    block: &Block,
    catalogue: &Catalogue,
    variables: &BTreeMap<String, Option<String>>,
    found: &mut Vec<String>,
) {
    let items = &block.items;
    if !items.only_views || (items.views.is_empty() && items.subquery_names.is_empty()) {
        return;
    }
    let aliases = select_aliases(tokens, block);
    let columns: BTreeSet<&String> = items
        .views
        .iter()
        .filter_map(|view| catalogue.columns(view))
        .flatten()
        .chain(items.subquery_names.iter())
        .collect();
    let mut into = false;
    for i in block.select + 1..block.end {
        let token = &tokens[i];
        if token.kind != Kind::Name || inside_nested_block(tokens, block, i) {
            continue;
        }
        if token.is_name("INTO") {
            into = true;
            continue;
        }
        if token.is_name("FROM") {
            into = false;
        }
        let qualified = tokens.get(i + 1).is_some_and(|t| t.is(".")) || tokens[i - 1].is(".");
        if into
            || qualified
            || columns.contains(&token.text)
            || aliases.contains(&token.text)
            || variables.contains_key(&token.text)
            || items.views.contains(&token.text)
            || KNOWN_WORDS.contains(&token.text.as_str())
        {
            continue;
        }
        found.push(format!(
            "line {}: {} is not a column of {} in Oracle 11.2 (nor a keyword, alias or variable the checker knows)",
            token.line,
            token.text,
            match items.views.is_empty() {
                true => "the subquery".to_owned(),
                false => items.views.join(", "),
            }
        ));
    }
}

/// Whether token `i` lies in a subquery nested inside `block` (checked as its own block).
fn inside_nested_block(tokens: &[Token], block: &Block, i: usize) -> bool {
    let mut depth = 0i32;
    let mut nested_depths: Vec<i32> = Vec::new();
    for j in block.select + 1..i {
        let token = &tokens[j];
        if token.is("(") {
            depth += 1;
            if tokens.get(j + 1).is_some_and(|t| t.is_name("SELECT")) {
                nested_depths.push(depth);
            }
        } else if token.is(")") {
            if nested_depths.last() == Some(&depth) {
                nested_depths.pop();
            }
            depth -= 1;
        }
    }
    !nested_depths.is_empty()
}

/// A string compared with a column (or a `%TYPE` variable of one) whose values 11.2 documents
/// must be one of them: `state = 'X'`, `state <> 'X'`, `state IN ('X', 'Y')`.
fn check_values(
    tokens: &[Token],
    catalogue: &Catalogue,
    variables: &BTreeMap<String, Option<String>>,
    found: &mut Vec<String>,
) {
    let blocks = query_blocks(tokens);
    for (i, token) in tokens.iter().enumerate() {
        if token.kind != Kind::Name {
            continue;
        }
        let column = match variables.get(&token.text) {
            Some(Some(column)) => Some(column.clone()),
            _ => blocks
                .iter()
                .find(|block| block.select < i && i < block.end && block.items.only_views)
                .and_then(|block| {
                    block
                        .items
                        .views
                        .iter()
                        .find(|view| {
                            catalogue
                                .columns(view)
                                .is_some_and(|c| c.contains(&token.text))
                        })
                        .map(|view| format!("{view}.{}", token.text))
                }),
        };
        let Some(column) = column else { continue };
        let Some(documented) = catalogue.values(&column) else {
            continue;
        };
        let compared: Vec<&Token> = match &tokens[i + 1..] {
            [op, value, ..]
                if (op.is("=") || op.is("<>") || op.is("!=")) && value.kind == Kind::Literal =>
            {
                vec![value]
            }
            [op, open, rest @ ..] if op.is_name("IN") && open.is("(") => rest
                .iter()
                .take_while(|t| !t.is(")"))
                .filter(|t| t.kind == Kind::Literal)
                .collect(),
            _ => Vec::new(),
        };
        for value in compared {
            if !documented.contains(&value.text) {
                found.push(format!(
                    "line {}: '{}' is not a value Oracle 11.2 documents for {column}",
                    value.line, value.text
                ));
            }
        }
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

    #[test]
    fn a_column_that_came_with_12c_is_refused_with_its_line() {
        let poll =
            "SELECT status, errors\n FROM user_scheduler_job_run_details WHERE job_name = :1";
        assert_eq!(
            problems(poll),
            [
                "line 1: ERRORS is not a column of USER_SCHEDULER_JOB_RUN_DETAILS in Oracle 11.2 (nor a keyword, alias or variable the checker knows)"
            ]
        );
        assert!(
            problems("SELECT status, error#, additional_info FROM user_scheduler_job_run_details")
                .is_empty()
        );
    }

    #[test]
    fn unknown_views_procedures_parameters_and_values_are_named() {
        let found =
            problems("SELECT x FROM user_scheduler_jobz WHERE user_scheduler_jobz.state = 'X'");
        assert!(
            found
                .iter()
                .any(|p| p.contains("USER_SCHEDULER_JOBZ is not a view")),
            "{found:?}"
        );
        let found = problems("BEGIN DBMS_SCHEDULER.STOP_JOBS(job_name => :1); END;");
        assert!(
            found
                .iter()
                .any(|p| p.contains("DBMS_SCHEDULER.STOP_JOBS is not a procedure")),
            "{found:?}"
        );
        let found = problems("BEGIN DBMS_SCHEDULER.DISABLE(job_name => :1, force => TRUE); END;");
        assert!(
            found
                .iter()
                .any(|p| p.contains("DBMS_SCHEDULER.DISABLE has no parameter JOB_NAME")),
            "{found:?}"
        );
        assert!(
            problems("BEGIN DBMS_SCHEDULER.DISABLE(name => :1, force => TRUE); END;").is_empty()
        );
        assert!(problems("BEGIN DBMS_SCHEDULER.ENABLE(:1); END;").is_empty());
        let found = problems(
            "SELECT COUNT(*) FROM user_scheduler_jobs WHERE state IN ('RUNNING', 'STARTED')",
        );
        assert_eq!(
            found,
            [
                "line 1: 'STARTED' is not a value Oracle 11.2 documents for USER_SCHEDULER_JOBS.STATE"
            ]
        );
        let found = problems("SELECT SYS_CONTEXT('USERENV', 'CON_NAME') FROM DUAL");
        assert!(found.iter().any(|p| p.contains("CON_NAME")), "{found:?}");
        let found = problems("SELECT SYS.ANYDATA.ConvertDates(SYSDATE) FROM DUAL");
        assert!(
            found.iter().any(|p| p.contains("SYS.ANYDATA.CONVERTDATES")),
            "{found:?}"
        );
    }

    #[test]
    fn aliases_subqueries_variables_and_user_tables_are_not_mistaken_for_columns() {
        assert!(problems("SELECT owner, name FROM (SELECT owner, table_name name FROM all_tables UNION ALL SELECT owner, view_name FROM all_views) WHERE owner = :1 ORDER BY 2").is_empty());
        assert!(problems("SELECT * FROM \"GENIUS\".\"GL\" WHERE anything = :1").is_empty());
        let block = "DECLARE\n  s user_scheduler_jobs.state%TYPE;\nBEGIN\n  SELECT state INTO s FROM user_scheduler_jobs WHERE job_name = :job;\n  IF s = 'DISABLD' THEN NULL; END IF;\nEND;";
        assert_eq!(
            problems(block),
            [
                "line 5: 'DISABLD' is not a value Oracle 11.2 documents for USER_SCHEDULER_JOBS.STATE"
            ]
        );
        let found = problems("DECLARE\n  s user_scheduler_jobs.stat%TYPE;\nBEGIN NULL; END;");
        assert_eq!(
            found,
            ["line 2: USER_SCHEDULER_JOBS has no column STAT in Oracle 11.2"]
        );
    }
}
