//! YAML text -> `serde_yaml::Value` plus a locator: the line and column of
//! every key and value, by dotted path.
//!
//! One parser (saphyr-parser's event stream, YAML 1.2) reads both the values
//! and their positions, so the two always agree. Plain scalars are resolved
//! with the YAML 1.2 core schema (the same as serde_yaml). The builder is
//! iterative and bounded (nesting depth, alias expansion), so no input can
//! overflow the stack or blow up memory.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_yaml::{Mapping, Number, Value};
use std::collections::HashMap;
use std::fmt;

/// Deepest nesting accepted.
const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to (aliases included).
const MAX_NODES: usize = 1_000_000;

/// One step of a dotted path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A dotted path, root first.
pub type Path = Vec<Seg>;

/// Renders `clients.profiles[1].share`.
pub fn path_string(path: &[Seg]) -> String {
    render_path(path, true)
}

/// Renders a path, with list indices (`[1]`) or without them (`[]`).
pub fn render_path(path: &[Seg], indices: bool) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) if indices => s.push_str(&format!("[{i}]")),
            Seg::Index(_) => s.push_str("[]"),
        }
    }
    s
}

/// Parses `a.b[1].c` (no escaping: keys are split at every `.`). Returns
/// None for empty segments, unbalanced brackets or bad indices.
pub fn parse_path(text: &str) -> Option<Path> {
    let mut out = Vec::new();
    if text.is_empty() {
        return Some(out);
    }
    for part in text.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() || key.contains(']') {
            // `[0]` alone is fine only as the first segment of a relative path.
            if !(key.is_empty() && out.is_empty() && !rest.is_empty()) {
                return None;
            }
        } else {
            out.push(Seg::Key(key.to_string()));
        }
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let index: usize = rest.get(1..close)?.parse().ok()?;
            out.push(Seg::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return None;
            }
        }
    }
    Some(out)
}

/// A position in the text, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn of(span: &Span) -> Pos {
        Pos { line: span.start.line().max(1), column: span.start.col() + 1 }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Where a path's key and value start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    /// The key (for list items: the item).
    pub key: Pos,
    /// The value.
    pub value: Pos,
}

/// A parsed document.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    pub marks: HashMap<Path, Marks>,
}

/// A syntax (or structure) error of the text.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    /// The innermost key being read when the error happened.
    pub path: Path,
}

enum Frame {
    Seq { path: Path, anchor: usize, items: Vec<Value> },
    Map { path: Path, anchor: usize, map: Mapping, key: Option<String> },
}

struct Builder {
    stack: Vec<Frame>,
    marks: HashMap<Path, Marks>,
    anchors: HashMap<usize, Value>,
    nodes: usize,
    root: Option<Value>,
}

impl Builder {
    /// The path the next value gets, and whether it is a mapping key.
    fn next_path(&self) -> (Path, bool) {
        match self.stack.last() {
            None => (Vec::new(), false),
            Some(Frame::Seq { path, items, .. }) => {
                let mut p = path.clone();
                p.push(Seg::Index(items.len()));
                (p, false)
            }
            Some(Frame::Map { path, key, .. }) => match key {
                None => (path.clone(), true),
                Some(k) => {
                    let mut p = path.clone();
                    p.push(Seg::Key(k.clone()));
                    (p, false)
                }
            },
        }
    }

    fn mark_value(&mut self, path: Path, pos: Pos) {
        let is_item = matches!(self.stack.last(), Some(Frame::Seq { .. })) || path.is_empty();
        let entry = self.marks.entry(path).or_insert(Marks { key: pos, value: pos });
        entry.value = pos;
        if is_item {
            entry.key = pos;
        }
    }

    fn count(&mut self, n: usize, pos: Pos) -> Result<(), SyntaxError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(SyntaxError {
                path: Vec::new(),
                pos,
                message: format!("the document expands to more than {MAX_NODES} values"),
            });
        }
        Ok(())
    }

    /// Attaches a finished value to its parent (or makes it the root).
    fn attach(&mut self, value: Value, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => {
                if let Some(k) = key.take() {
                    map.insert(Value::String(k), value);
                }
            }
        }
    }

    /// A key scalar arrived for the mapping on top.
    fn key(&mut self, text: String, pos: Pos) -> Result<(), SyntaxError> {
        let Some(Frame::Map { path, map, key, .. }) = self.stack.last_mut() else {
            unreachable!("key() is only called with a mapping on top");
        };
        if map.contains_key(text.as_str()) {
            let mut p = path.clone();
            p.push(Seg::Key(text.clone()));
            return Err(SyntaxError {
                path: p,
                pos,
                message: format!("duplicate key `{text}` (each key may appear once)"),
            });
        }
        let mut p = path.clone();
        p.push(Seg::Key(text.clone()));
        *key = Some(text);
        self.marks.insert(p, Marks { key: pos, value: pos });
        Ok(())
    }
}

fn size_of(v: &Value) -> usize {
    match v {
        Value::Sequence(s) => 1 + s.iter().map(size_of).sum::<usize>(),
        Value::Mapping(m) => 1 + m.iter().map(|(k, v)| size_of(k) + size_of(v)).sum::<usize>(),
        Value::Tagged(t) => 1 + size_of(&t.value),
        _ => 1,
    }
}

fn depth_of(v: &Value) -> usize {
    match v {
        Value::Sequence(s) => 1 + s.iter().map(depth_of).max().unwrap_or(0),
        Value::Mapping(m) => 1 + m.values().map(depth_of).max().unwrap_or(0),
        Value::Tagged(t) => 1 + depth_of(&t.value),
        _ => 0,
    }
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Number(Number::from(f64::INFINITY)),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Number(Number::from(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Value::Number(Number::from(f64::NAN)),
        _ => {}
    }
    let (neg, digits) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let radix = |prefix: &str, radix: u32| -> Option<Value> {
        let body = digits.strip_prefix(prefix)?;
        if body.is_empty() {
            return None;
        }
        let n = u64::from_str_radix(body, radix).ok()?;
        Some(signed(neg, n))
    };
    if let Some(v) = radix("0x", 16).or_else(|| radix("0o", 8)) {
        return v;
    }
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = digits.parse::<u64>() {
            if neg && n > i64::MAX as u64 + 1 {
                return Value::Number(Number::from(-(n as f64)));
            }
            return signed(neg, n);
        }
    }
    let is_float_chars = digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if is_float_chars && digits.bytes().any(|b| b.is_ascii_digit()) {
        if let Ok(x) = s.parse::<f64>() {
            return Value::Number(Number::from(x));
        }
    }
    Value::String(s.to_string())
}

fn signed(neg: bool, n: u64) -> Value {
    if !neg {
        Value::Number(Number::from(n))
    } else if n <= i64::MAX as u64 {
        Value::Number(Number::from(-(n as i64)))
    } else if n == i64::MAX as u64 + 1 {
        Value::Number(Number::from(i64::MIN))
    } else {
        Value::Number(Number::from(-(n as f64)))
    }
}

fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
    pos: Pos,
) -> Result<Value, SyntaxError> {
    if let Some(tag) = tag {
        if tag.is_yaml_core_schema() || tag.handle == "!!" {
            return match tag.suffix.as_str() {
                "str" => Ok(Value::String(text.to_string())),
                "null" | "bool" | "int" | "float" => Ok(resolve_plain(text)),
                other => Err(SyntaxError { path: Vec::new(), pos, message: format!("unsupported YAML tag !!{other}") }),
            };
        }
        if !(tag.handle == "!" && tag.suffix.is_empty()) {
            return Err(SyntaxError {
                path: Vec::new(),
                pos,
                message: format!("unsupported YAML tag {tag} (scenarios use plain values)"),
            });
        }
        return Ok(Value::String(text.to_string()));
    }
    Ok(match style {
        ScalarStyle::Plain => resolve_plain(text),
        _ => Value::String(text.to_string()),
    })
}

/// Parses one YAML document. `Ok(None)` when the text holds no document or
/// only a null one (empty, comments only, `~`).
pub fn parse(text: &str) -> Result<Option<Document>, SyntaxError> {
    let mut builder = None;
    parse_into(text, &mut builder).map_err(|mut e| {
        if e.path.is_empty() {
            if let Some(b) = &builder {
                e.path = innermost_key(b);
            }
        }
        e
    })
}

/// The path of the innermost key open in the builder.
fn innermost_key(b: &Builder) -> Path {
    match b.stack.last() {
        None => Vec::new(),
        Some(Frame::Seq { path, .. }) => path.clone(),
        Some(Frame::Map { path, key, map, .. }) => {
            let mut p = path.clone();
            match key {
                Some(k) => p.push(Seg::Key(k.clone())),
                None => {
                    if let Some(Value::String(k)) = map.keys().last() {
                        p.push(Seg::Key(k.clone()));
                    }
                }
            }
            p
        }
    }
}

fn parse_into(text: &str, out: &mut Option<Builder>) -> Result<Option<Document>, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let b =
        out.insert(Builder { stack: Vec::new(), marks: HashMap::new(), anchors: HashMap::new(), nodes: 0, root: None });
    let mut documents = 0usize;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| SyntaxError {
            path: Vec::new(),
            pos: Pos { line: e.marker().line().max(1), column: e.marker().col() + 1 },
            message: plain_words(e.info()),
        })?;
        let pos = Pos::of(&span);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        path: Vec::new(),
                        pos,
                        message: "a second YAML document (`---`): a scenario file holds one".to_string(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                b.count(1, pos)?;
                let (path, is_key) = b.next_path();
                if is_key {
                    if tag.is_some() && !matches!(tag.as_deref(), Some(t) if t.suffix == "str") {
                        return Err(SyntaxError {
                            path: Vec::new(),
                            pos,
                            message: "a tagged mapping key (keys are plain names)".to_string(),
                        });
                    }
                    b.key(text.into_owned(), pos)?;
                } else {
                    let v = scalar_value(&text, style, tag.as_deref(), pos)?;
                    b.mark_value(path, pos);
                    b.attach(v, anchor);
                }
            }
            Event::Alias(id) => {
                let (path, is_key) = b.next_path();
                if is_key {
                    return Err(SyntaxError {
                        path: Vec::new(),
                        pos,
                        message: "an alias used as a mapping key (keys are plain names)".to_string(),
                    });
                }
                let Some(v) = b.anchors.get(&id).cloned() else {
                    return Err(SyntaxError {
                        path: Vec::new(),
                        pos,
                        message: "an alias to an unknown anchor".to_string(),
                    });
                };
                b.count(size_of(&v), pos)?;
                if b.stack.len() + depth_of(&v) > MAX_DEPTH {
                    return Err(SyntaxError {
                        path: Vec::new(),
                        pos,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
                b.mark_value(path, pos);
                b.attach(v, 0);
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let is_seq = matches!(event, Event::SequenceStart(..));
                b.count(1, pos)?;
                if let Some(t) = tag.as_deref() {
                    let ok = (t.is_yaml_core_schema() || t.handle == "!!")
                        && ((is_seq && t.suffix == "seq") || (!is_seq && t.suffix == "map"));
                    if !ok {
                        return Err(SyntaxError {
                            path: Vec::new(),
                            pos,
                            message: format!("unsupported YAML tag {t} (scenarios use plain values)"),
                        });
                    }
                }
                let (path, is_key) = b.next_path();
                if is_key {
                    return Err(SyntaxError {
                        path: Vec::new(),
                        pos,
                        message: "a list or mapping used as a mapping key (keys are plain names)".to_string(),
                    });
                }
                if b.stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        path: Vec::new(),
                        pos,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
                b.mark_value(path.clone(), pos);
                b.stack.push(if is_seq {
                    Frame::Seq { path, anchor, items: Vec::new() }
                } else {
                    Frame::Map { path, anchor, map: Mapping::new(), key: None }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match b.stack.pop() {
                    Some(Frame::Seq { anchor, items, .. }) => (Value::Sequence(items), anchor),
                    Some(Frame::Map { anchor, map, .. }) => (Value::Mapping(map), anchor),
                    None => {
                        return Err(SyntaxError {
                            path: Vec::new(),
                            pos,
                            message: "unbalanced end of a collection".to_string(),
                        })
                    }
                };
                b.attach(value, anchor);
            }
        }
    }
    match b.root.take() {
        None | Some(Value::Null) => Ok(None),
        Some(value) => Ok(Some(Document { value, marks: std::mem::take(&mut b.marks) })),
    }
}

/// Parses the text of a `--set` value: a YAML scalar or flow collection.
pub fn parse_value(text: &str) -> Result<Value, SyntaxError> {
    Ok(parse(text)?.map_or(Value::Null, |d| d.value))
}

/// Renders a value back as one line of YAML (flow style), for sweep values
/// and messages.
pub fn render(v: &Value) -> String {
    match v {
        Value::Null => "~".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => super::values::fmt_f64(x),
            _ => n.to_string(),
        },
        Value::String(s) => {
            let plain_ok = !s.is_empty()
                && matches!(resolve_plain(s), Value::String(_))
                && !s.starts_with(|c: char| c.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`".contains(c))
                && !s.ends_with(char::is_whitespace)
                && !s.contains(": ")
                && !s.contains(" #")
                && !s.contains(['\n', ',', '[', ']', '{', '}']);
            if plain_ok {
                s.clone()
            } else {
                format!("{s:?}")
            }
        }
        Value::Sequence(items) => {
            let parts: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Mapping(m) => {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{}: {}", render(k), render(v))).collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Tagged(t) => format!("{} {}", t.tag, render(&t.value)),
    }
}

/// The YAML parser's message said in plain words: what is probably wrong
/// in the file and how to fix it. Messages not known here pass through.
pub(crate) fn plain_words(info: &str) -> String {
    const PLAIN: &[(&str, &str)] = &[
        (
            "mapping values are not allowed",
            "a `:` where no key can start: a line indented more than the key before it, or a second `key:` on \
             one line (quote a value that holds `: `)",
        ),
        (
            "did not find expected key",
            "this line is indented less than the mapping it belongs to, or more than the key before it (the keys \
             of one mapping start in the same column)",
        ),
        (
            "did not find expected '-' indicator",
            "this line is not a `- ` item of the list above it, nor indented like a key of the mapping around \
             it (a list's items start in one column; a mapping cannot continue after a list at its own level)",
        ),
        ("expected ',' or ']'", "a `[` list that is not closed: expected `,` or `]` before the line ends"),
        ("expected ',' or '}'", "a `{` mapping that is not closed: expected `,` or `}` before the line ends"),
        ("misplaced bracket", "a closing `]` or `}` that closes nothing"),
        ("while scanning a quoted scalar", "a quoted string that is never closed (add the closing quote)"),
        ("trailing content after", "text after a closing quote (quote the whole value)"),
        (
            "unknown escape character",
            "an unknown `\\` escape in a double-quoted string (use single quotes for text with backslashes)",
        ),
        ("tabs disallowed", "a tab in the indentation (indent with spaces)"),
        ("unexpected character", "a character that cannot start a value (quote the value)"),
        ("unknown anchor", "`*name` refers to no `&name` anchor above it (quote a value that starts with `*`)"),
        ("simple key expect ':'", "a key without its `:` (write `key: value`)"),
        ("could not find expected ':'", "a key without its `:` (write `key: value`)"),
        (
            "block sequence entries are not allowed",
            "a `- ` list item where a mapping's value was expected (put the list on the lines below its key)",
        ),
        (
            "did not find expected node content",
            "a value is missing here, or starts with a character that cannot begin one",
        ),
    ];
    PLAIN
        .iter()
        .find(|(jargon, _)| info.contains(jargon))
        .map_or_else(|| info.to_string(), |(_, plain)| plain.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_keys_and_values() {
        let text = "# c\na: 1\nb:\n  - x: 2\n    y: [1, 2]\nc: {d: e}\n";
        let doc = parse(text).unwrap().unwrap();
        let m = |p: &str| doc.marks[&parse_path(p).unwrap()];
        assert_eq!(m("a").key, Pos { line: 2, column: 1 });
        assert_eq!(m("a").value, Pos { line: 2, column: 4 });
        assert_eq!(m("b[0].x").value, Pos { line: 4, column: 8 });
        assert_eq!(m("b[0].y[1]").value, Pos { line: 5, column: 12 });
        assert_eq!(m("c.d").key, Pos { line: 6, column: 5 });
        assert_eq!(doc.value["b"][0]["y"][1], Value::from(2));
    }

    #[test]
    fn scalars_resolve_like_yaml_1_2() {
        assert_eq!(resolve_plain("12"), Value::from(12u64));
        assert_eq!(resolve_plain("-3"), Value::from(-3i64));
        assert_eq!(resolve_plain("1.5e3"), Value::from(1500.0));
        assert_eq!(resolve_plain("0x1f"), Value::from(31u64));
        assert!(matches!(resolve_plain(".inf"), Value::Number(n) if n.as_f64() == Some(f64::INFINITY)));
        assert_eq!(resolve_plain("yes"), Value::from("yes"));
        assert_eq!(resolve_plain("inf"), Value::from("inf"));
        assert_eq!(resolve_plain("1e"), Value::from("1e"));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("-"), Value::from("-"));
    }

    #[test]
    fn empty_and_duplicates() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("# only a comment\n").unwrap().is_none());
        assert!(parse("~").unwrap().is_none());
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.pos, Pos { line: 2, column: 1 });
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn depth_and_alias_bombs_are_bounded() {
        let deep = "[".repeat(500);
        assert!(parse(&deep).is_err());
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = "a".to_string();
        for i in 0..10 {
            let name = format!("b{i}");
            bomb.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
            prev = name;
        }
        assert!(parse(&bomb).is_err());
    }

    #[test]
    fn paths_round_trip() {
        for p in ["a", "a.b", "clients.profiles[1].share", "a[0][2].b"] {
            assert_eq!(path_string(&parse_path(p).unwrap()), p);
        }
        assert!(parse_path("a..b").is_none());
        assert!(parse_path("a[x]").is_none());
        assert!(parse_path("a[1").is_none());
        assert!(parse_path("a.").is_none());
    }

    #[test]
    fn syntax_errors_are_said_in_plain_words() {
        let said = |text: &str| parse(text).err().map(|e| e.message).unwrap_or_default();
        assert!(said("a:\n  b: 1\n c: 2\n").starts_with("this line is indented less than the mapping"));
        assert!(said("a: [1, 2\n").starts_with("a `[` list that is not closed"));
        assert!(said("a: {b: 1\n").starts_with("a `{` mapping that is not closed"));
        assert!(said("a: 'x\n").starts_with("a quoted string that is never closed"));
        assert!(said("a:\n\t b: 1\n").starts_with("a tab in the indentation"));
        assert!(said("a: 1\n b: 2\n").starts_with("a `:` where no key can start"));
        // No parser jargon is left in these.
        for text in ["a:\n  b: 1\n c: 2\n", "a: [1, 2\n", "a: 'x\n", "a: b: c\n", "a: @x\n", "a: [1]]\n"] {
            let m = said(text);
            assert!(!m.contains("while parsing") && !m.contains("while scanning") && !m.is_empty(), "{text:?}: {m}");
        }
        // An unknown message passes through unchanged.
        assert_eq!(plain_words("something new"), "something new");
    }
}
