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

use super::catalogue::{Catalogue, catalogue};
use super::lexer::{Kind, Token, tokens};

/// Words a query block may hold besides columns: SQL and PL/SQL keywords, the built-in
/// functions and pseudocolumns the statements here use. Add to it when a statement needs more.
const KNOWN_WORDS: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "ASC",
    "AT",
    "AVG",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "COALESCE",
    "COUNT",
    "CROSS",
    "DATE",
    "DAY",
    "DECODE",
    "DENSE_RANK",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "ESCAPE",
    "EXISTS",
    "EXTRACT",
    "FIRST",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "HOUR",
    "IN",
    "INNER",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KEEP",
    "LAST",
    "LEFT",
    "LENGTH",
    "LIKE",
    "LOWER",
    "MAX",
    "MIN",
    "MINUTE",
    "NOT",
    "NOWAIT",
    "NULL",
    "NULLS",
    "NUMBER",
    "NVL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "RANK",
    "RIGHT",
    "ROUND",
    "ROWNUM",
    "ROW_NUMBER",
    "SECOND",
    "SELECT",
    "SUBSTR",
    "SUM",
    "SYSDATE",
    "SYSTIMESTAMP",
    "SYS_CONTEXT",
    "SYS_EXTRACT_UTC",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TO_CHAR",
    "TO_DATE",
    "TO_NUMBER",
    "TRIM",
    "TRUNC",
    "UNION",
    "UPDATE",
    "UPPER",
    "USING",
    "VARCHAR2",
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
    let blocks = query_blocks(&tokens);
    for block in &blocks {
        found.extend(block.items.unknown_views.iter().map(unknown_view));
        check_block(&tokens, &blocks, block, catalogue, &variables, &mut found);
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
        let owner_is_sys = i >= 2 && tokens[i - 1].is(".") && tokens[i - 2].is_name("SYS");
        let is_package = token.kind == Kind::Name
            && (catalogue.packages.contains_key(&token.text) || token.text.starts_with("DBMS_"))
            && (i == 0 || !tokens[i - 1].is(".") || owner_is_sys);
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
    /// Each name a column may be qualified with (a view's name or its alias), and its view.
    qualifiers: BTreeMap<String, String>,
    /// The aliases of its subqueries.
    subquery_aliases: BTreeSet<String>,
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

/// Whether `token` is a name a `FROM` item or a select-list item may be given as an alias.
fn alias_at(token: Option<&Token>) -> Option<String> {
    token
        .filter(|t| t.kind == Kind::Name && !KNOWN_WORDS.contains(&t.text.as_str()))
        .map(|t| t.text.clone())
}

/// Reads the `FROM` list that starts at `from`, up to the first clause after it: its items
/// (`view [alias]`, `SYS.view [alias]`, `owner.table`, `(subquery) [alias]`), separated by
/// commas or ANSI joins, whose `ON` and `USING` conditions are skipped here.
fn from_items(tokens: &[Token], from: usize, end: usize) -> FromList {
    let catalogue = catalogue();
    let mut list = FromList {
        only_views: true,
        ..FromList::default()
    };
    let (mut i, mut item_start, mut depth) = (from + 1, true, 0i32);
    while i < end {
        let token = &tokens[i];
        if token.is("(") && !item_start {
            depth += 1;
        } else if token.is(")") {
            depth -= 1;
        }
        let clause = depth == 0
            && token.kind == Kind::Name
            && ["WHERE", "ORDER", "GROUP", "CONNECT", "START", "HAVING"]
                .contains(&token.text.as_str());
        if clause {
            break;
        }
        if depth == 0 && (token.is(",") || token.is_name("JOIN")) {
            item_start = true;
        } else if item_start && token.is("(") {
            let close = matching_close(tokens, i).min(end);
            list.subquery_names
                .extend(select_list_names(tokens, i + 1, close));
            list.subquery_aliases
                .extend(alias_at(tokens.get(close + 1)));
            item_start = false;
            i = close;
        } else if item_start {
            item_start = false;
            let dotted = tokens.get(i + 1).is_some_and(|t| t.is("."));
            let (name, after) = match (token.is_name("SYS") && dotted, dotted) {
                (true, _) => (tokens.get(i + 2), i + 3),
                (false, true) => (None, i + 3),
                (false, false) => (Some(token), i + 1),
            };
            match name.filter(|name| name.kind == Kind::Name) {
                Some(name) if catalogue.has_view(&name.text) => {
                    list.views.push(name.text.clone());
                    list.qualifiers.insert(name.text.clone(), name.text.clone());
                    if let Some(alias) = alias_at(tokens.get(after)) {
                        list.qualifiers.insert(alias, name.text.clone());
                    }
                }
                Some(name) if looks_like_dictionary_view(&name.text) => {
                    list.unknown_views.push(name.clone());
                    list.only_views = false;
                }
                _ => list.only_views = false,
            }
            i = after;
            continue;
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
        } else if depth == 0 && matches!(token.kind, Kind::Name | Kind::Quoted) {
            last = Some(token.text.clone());
        }
    }
    names
}

/// The aliases a block's select list gives: a name that ends an item and follows an
/// expression (`expression alias`, `expression AS alias`), never a keyword such as DISTINCT.
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
            let follows_expression = match previous.kind {
                Kind::Name => {
                    previous.is_name("AS") || !KNOWN_WORDS.contains(&previous.text.as_str())
                }
                Kind::Symbol => previous.is(")") || previous.is("*"),
                _ => true,
            };
            if ends_item && follows_expression && !tokens[i - 2].is(".") {
                aliases.insert(token.text.clone());
            }
        }
    }
    aliases
}

/// The qualifiers a block may use: its own, then those of the blocks around it (a correlated
/// subquery names the outer block's views).
fn qualifiers_of<'b>(blocks: &'b [Block], block: &'b Block) -> BTreeMap<&'b String, &'b String> {
    let mut qualifiers = BTreeMap::new();
    let mut around: Vec<&Block> = blocks
        .iter()
        .filter(|outer| outer.select < block.select && block.end <= outer.end)
        .collect();
    around.sort_by_key(|outer| outer.select);
    for outer in around.into_iter().chain([block]) {
        qualifiers.extend(outer.items.qualifiers.iter());
    }
    qualifiers
}

/// Checks the names of a block: `qualifier.column` against the qualifier's view, and, where
/// the block reads only catalogue views and subqueries, every bare name against their columns,
/// the subqueries' output names, aliases, variables and known words.
fn check_block(
    tokens: &[Token],
    blocks: &[Block],
    block: &Block,
    catalogue: &Catalogue,
    variables: &BTreeMap<String, Option<String>>,
    found: &mut Vec<String>,
) {
    let items = &block.items;
    let qualifiers = qualifiers_of(blocks, block);
    let aliases = select_aliases(tokens, block);
    let columns: BTreeSet<&String> = items
        .views
        .iter()
        .filter_map(|view| catalogue.columns(view))
        .flatten()
        .chain(items.subquery_names.iter())
        .collect();
    let check_bare =
        items.only_views && !(items.views.is_empty() && items.subquery_names.is_empty());
    let mut into = false;
    for i in block.select + 1..block.end {
        let token = &tokens[i];
        if !matches!(token.kind, Kind::Name | Kind::Quoted) || inside_nested_block(tokens, block, i)
        {
            continue;
        }
        if token.is_name("INTO") {
            into = true;
            continue;
        }
        if token.is_name("FROM") {
            into = false;
        }
        let qualifies = tokens.get(i + 1).is_some_and(|t| t.is("."));
        if qualifies {
            let view = qualifiers.get(&token.text);
            let column = tokens
                .get(i + 2)
                .filter(|t| matches!(t.kind, Kind::Name | Kind::Quoted));
            if let (Some(view), Some(column)) = (view, column) {
                let known = catalogue
                    .columns(view)
                    .is_some_and(|columns| columns.contains(&column.text));
                if !known {
                    found.push(format!(
                        "line {}: {} is not a column of {view} in Oracle 11.2",
                        column.line, column.text
                    ));
                }
            }
            continue;
        }
        if !check_bare || i > 0 && tokens[i - 1].is(".") {
            continue;
        }
        if into
            || columns.contains(&token.text)
            || aliases.contains(&token.text)
            || variables.contains_key(&token.text)
            || qualifiers.contains_key(&token.text)
            || items.subquery_aliases.contains(&token.text)
            || (token.kind == Kind::Name && KNOWN_WORDS.contains(&token.text.as_str()))
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
        let Some(documented) = catalogue.readable_values(&column) else {
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
            [not, op, open, rest @ ..]
                if not.is_name("NOT") && op.is_name("IN") && open.is("(") =>
            {
                rest.iter()
                    .take_while(|t| !t.is(")"))
                    .filter(|t| t.kind == Kind::Literal)
                    .collect()
            }
            _ => Vec::new(),
        };
        for value in compared {
            if !documented.contains(&&value.text) {
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
    fn a_12c_column_is_found_however_it_is_written() {
        for poll in [
            "SELECT d.errors FROM user_scheduler_job_run_details d",
            "SELECT errors FROM sys.user_scheduler_job_run_details",
            "SELECT \"ERRORS\" FROM user_scheduler_job_run_details",
            "SELECT DISTINCT errors FROM user_scheduler_job_run_details",
            "SELECT d.errors FROM user_scheduler_job_run_details d, genius.other o WHERE o.x = d.log_id",
            "SELECT j.job_name FROM user_scheduler_jobs j JOIN user_scheduler_job_run_details d ON d.job_name = j.job_name WHERE d.errors IS NULL",
            "SELECT j.job_name, (SELECT MAX(d.status) FROM user_scheduler_job_run_details d WHERE d.job_name = j.job_nam) FROM user_scheduler_jobs j",
        ] {
            let found = problems(poll);
            assert!(
                found
                    .iter()
                    .any(|p| p.contains("ERRORS") || p.contains("JOB_NAM ")),
                "{poll}: {found:?}"
            );
        }
        let found = problems("BEGIN SYS.DBMS_SCHEDULER.STOP_JOBS(job_name => :1); END;");
        assert!(found.iter().any(|p| p.contains("STOP_JOBS")), "{found:?}");
    }

    #[test]
    fn what_11g_has_passes_however_it_is_written() {
        for sql in [
            "SELECT job_name FROM user_scheduler_jobs WHERE state = 'RUNNING' FOR UPDATE NOWAIT",
            "SELECT CAST(log_id AS NUMBER), SUBSTR(additional_info, 1, 10), DECODE(status, 'FAILED', 1, 0) FROM user_scheduler_job_run_details ORDER BY log_date DESC NULLS LAST",
            "SELECT j.job_name, d.status FROM user_scheduler_jobs j LEFT OUTER JOIN user_scheduler_job_run_details d ON d.job_name = j.job_name",
            "SELECT j.job_name, j.state, (SELECT MAX(d.status) KEEP (DENSE_RANK LAST ORDER BY d.log_id) FROM user_scheduler_job_run_details d WHERE d.job_name = j.job_name) FROM user_scheduler_jobs j WHERE j.job_name LIKE :1 ESCAPE '\\'",
            "SELECT COUNT(*) FROM user_scheduler_jobs WHERE state NOT IN ('DISABLED', 'STOPPED')",
        ] {
            assert_eq!(problems(sql), Vec::<String>::new(), "{sql}");
        }
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
