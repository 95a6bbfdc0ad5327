//! The query language of `gijiroku search` and the web app: words (ANDed), "quoted phrases",
//! `AND` / `&&`, `OR` / `||`, `NOT` / `-`, `+`, parentheses.
//!
//! Parsed here instead of by tantivy's query parser, whose grammar also reads `field:value`,
//! ranges, regexes, boosts and 'single quotes': through it a query could name an index field
//! (`classification:secret`) that the viewer's filter does not cover, `Steve's`, `10:00` or a
//! URL were syntax errors, and 10,000 `(` overflowed the stack. Here every word is text (for
//! the text fields only), the nesting is capped and nothing recurses on user input beyond that
//! cap. The same syntax as the in-memory search of confidential records
//! (`archive::confidential::Query`).

use anyhow::bail;

/// Deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 32;
/// Longest query accepted, in characters (a pasted paragraph fits; a hostile megabyte does not
/// reach the index).
pub const MAX_QUERY_CHARS: usize = 2000;

/// A word or phrase of a query, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub text: String,
    /// Written between double quotes.
    pub quoted: bool,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Lit(Literal),
    /// All must match; `Not` parts must not.
    And(Vec<Node>),
    /// One must match.
    Or(Vec<Node>),
    Not(Box<Node>),
}

impl Node {
    /// The words and phrases asked for (not those under a negation), in order.
    pub fn positive_literals(&self) -> Vec<Literal> {
        fn walk(n: &Node, out: &mut Vec<Literal>) {
            match n {
                Node::Lit(l) => out.push(l.clone()),
                Node::And(ns) | Node::Or(ns) => ns.iter().for_each(|n| walk(n, out)),
                Node::Not(_) => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// Whether any phrase is quoted, negated or not.
    pub fn has_quoted(&self) -> bool {
        match self {
            Node::Lit(l) => l.quoted,
            Node::And(ns) | Node::Or(ns) => ns.iter().any(Node::has_quoted),
            Node::Not(n) => n.has_quoted(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Phrase(String),
    And,
    Or,
    Not,
    Plus,
    Open,
    Close,
}

/// The query quoted in an error message when it is short enough to read on one line.
fn shown(q: &str) -> String {
    if q.chars().count() <= 60 && !q.contains(['\n', '\r']) {
        format!(" {q:?}")
    } else {
        String::new()
    }
}

fn tokenize(q: &str) -> anyhow::Result<Vec<Tok>> {
    let mut out = Vec::new();
    let mut it = q.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
        } else if c == '(' {
            it.next();
            out.push(Tok::Open);
        } else if c == ')' {
            it.next();
            out.push(Tok::Close);
        } else if c == '"' {
            let rest = &q[i + 1..];
            let Some(end) = rest.find('"') else {
                bail!(
                    "cannot understand the query{}: a \" is not closed",
                    shown(q)
                );
            };
            out.push(Tok::Phrase(rest[..end].to_string()));
            // Skip the phrase and both quotes.
            while it.next_if(|&(j, _)| j <= i + 1 + end).is_some() {}
        } else if (c == '-' || c == '+')
            && q[i + 1..]
                .chars()
                .next()
                .is_some_and(|n| !n.is_whitespace() && n != ')')
        {
            // A prefix operator only when something follows it; `10-20` is one word.
            it.next();
            out.push(if c == '-' { Tok::Not } else { Tok::Plus });
        } else {
            let start = i;
            let mut end = q.len();
            while let Some(&(j, c)) = it.peek() {
                if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                    end = j;
                    break;
                }
                it.next();
            }
            let w = &q[start..end];
            out.push(match w {
                "AND" | "&&" => Tok::And,
                "OR" | "||" => Tok::Or,
                "NOT" => Tok::Not,
                // A lone - or + is not an operator of anything.
                "-" | "+" => continue,
                _ => Tok::Word(w.to_string()),
            });
        }
    }
    Ok(out)
}

/// Parses a user's query. `None` when it asks for no words (empty, or only operators).
/// Errors are one line: an unclosed quote or parenthesis, too deep, too long.
pub fn parse(q: &str) -> anyhow::Result<Option<Node>> {
    let n = q.chars().count();
    if n > MAX_QUERY_CHARS {
        bail!("the query is too long ({n} characters; at most {MAX_QUERY_CHARS})");
    }
    let mut p = Parser {
        t: tokenize(q)?,
        i: 0,
        q,
    };
    let node = p.or(0)?;
    if p.i < p.t.len() {
        bail!(
            "cannot understand the query{}: a ) has no matching (",
            shown(q)
        );
    }
    Ok(node)
}

struct Parser<'a> {
    t: Vec<Tok>,
    i: usize,
    q: &'a str,
}

impl Parser<'_> {
    fn or(&mut self, depth: usize) -> anyhow::Result<Option<Node>> {
        let mut parts = Vec::new();
        parts.extend(self.and(depth)?);
        while self.t.get(self.i) == Some(&Tok::Or) {
            self.i += 1;
            parts.extend(self.and(depth)?);
        }
        Ok(match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Node::Or(parts)),
        })
    }

    fn and(&mut self, depth: usize) -> anyhow::Result<Option<Node>> {
        let mut parts = Vec::new();
        loop {
            match self.t.get(self.i) {
                None | Some(Tok::Or) | Some(Tok::Close) => break,
                Some(Tok::And) => self.i += 1,
                _ => parts.extend(self.unary(depth)?),
            }
        }
        Ok(match parts.len() {
            0 => None,
            1 if !matches!(parts[0], Node::Not(_)) => parts.pop(),
            _ => Some(Node::And(parts)),
        })
    }

    /// Prefix operators then one word, phrase or group. A run of NOTs is counted, not recursed.
    fn unary(&mut self, depth: usize) -> anyhow::Result<Option<Node>> {
        let mut negated = false;
        loop {
            match self.t.get(self.i) {
                Some(Tok::Not) => negated = !negated,
                Some(Tok::Plus) => {}
                _ => break,
            }
            self.i += 1;
        }
        let node = match self.t.get(self.i).cloned() {
            Some(Tok::Word(w)) => {
                self.i += 1;
                Some(Node::Lit(Literal {
                    text: w,
                    quoted: false,
                }))
            }
            Some(Tok::Phrase(p)) => {
                self.i += 1;
                Some(Node::Lit(Literal {
                    text: p,
                    quoted: true,
                }))
            }
            Some(Tok::Open) => {
                if depth >= MAX_DEPTH {
                    bail!("the query nests parentheses more than {MAX_DEPTH} deep");
                }
                self.i += 1;
                let inner = self.or(depth + 1)?;
                if self.t.get(self.i) != Some(&Tok::Close) {
                    bail!(
                        "cannot understand the query{}: a ( is not closed",
                        shown(self.q)
                    );
                }
                self.i += 1;
                inner
            }
            // An operator with nothing after it (`保育 NOT`, `a AND OR b`) asks for nothing.
            _ => None,
        };
        Ok(match node {
            Some(n) if negated => Some(Node::Not(Box::new(n))),
            n => n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(t: &str, quoted: bool) -> Node {
        Node::Lit(Literal {
            text: t.into(),
            quoted,
        })
    }

    #[test]
    fn words_are_text_whatever_their_characters() {
        for q in [
            "Steve's",
            "O'Brien",
            "10:00",
            "https://example.jp/a?b=c&d=e#f",
            "classification:confidential",
            "speaker:渡辺",
            "[a]",
            "a^2",
            "*",
            "/.*/",
            "10-20",
        ] {
            assert_eq!(parse(q).unwrap(), Some(lit(q, false)), "{q}");
        }
    }

    #[test]
    fn operators_and_groups() {
        assert_eq!(
            parse("予算 AND (保育 OR \"子ども 食堂\") -会議 NOT NOT 市").unwrap(),
            Some(Node::And(vec![
                lit("予算", false),
                Node::Or(vec![lit("保育", false), lit("子ども 食堂", true)]),
                Node::Not(Box::new(lit("会議", false))),
                lit("市", false),
            ]))
        );
        assert_eq!(parse("  ").unwrap(), None);
        assert_eq!(parse("AND OR - +").unwrap(), None);
        assert_eq!(parse("保育 NOT").unwrap(), Some(lit("保育", false)));
        let lits = parse("a -b (c OR -\"d\")")
            .unwrap()
            .unwrap()
            .positive_literals();
        assert_eq!(
            lits.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
    }

    #[test]
    fn hostile_queries_are_one_line_errors() {
        let deep = "(".repeat(MAX_DEPTH + 1) + "a" + &")".repeat(MAX_DEPTH + 1);
        let e = parse(&deep).unwrap_err().to_string();
        assert!(e.contains("deep"), "{e}");
        let ok = "(".repeat(MAX_DEPTH) + "a" + &")".repeat(MAX_DEPTH);
        assert_eq!(parse(&ok).unwrap(), Some(lit("a", false)));
        let e = parse(&"(".repeat(10_000)).unwrap_err().to_string();
        assert!(e.contains("too long"), "{e}");
        for q in ["\"保育 AND", "(保育", "保育)", "a ) ("] {
            let e = parse(q).unwrap_err().to_string();
            assert!(
                !e.contains('\n') && e.contains("cannot understand"),
                "{q}: {e}"
            );
        }
        // A long NOT chain is counted, not recursed.
        let nots = "NOT ".repeat(400) + "a";
        assert_eq!(parse(&nots).unwrap(), Some(lit("a", false)));
    }
}
