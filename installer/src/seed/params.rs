//! Parameter types and a host's resolved parameters.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::defaults::{self, ParamSpec};
use super::yaml::{Node, Value};

/// The type of a Pigsty parameter, as written in `defaults.yml`.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamType {
    /// Text; numbers are accepted and read as text.
    String,
    /// A whole number.
    Int,
    /// A number.
    Float,
    /// `true` or `false`.
    Bool,
    /// A list, optionally of items of one type.
    List(Option<Box<ParamType>>),
    /// A mapping.
    Map,
    /// A TCP/UDP port, 1–65535.
    Port,
    /// An IPv4 or IPv6 address.
    Ip,
    /// An address with a prefix length, `10.10.10.2/24`.
    Cidr,
    /// A byte size: a whole number or a number with a unit (`64MiB`, `1GB`).
    Size,
    /// A duration: a whole number of seconds or numbers with units (`24h`, `0.5s`, `7300d`).
    Duration,
    /// One of these words.
    Enum(Vec<String>),
    /// Any of these types.
    Either(Vec<ParamType>),
    /// Anything.
    Any,
}

impl ParamType {
    /// Parse a type written as in `defaults.yml`: `int`, `list(port)`,
    /// `enum(a,b)`, `int|enum(auto)`.
    pub fn parse(text: &str) -> Result<ParamType, String> {
        let alternatives = split_top(text, '|');
        if alternatives.len() > 1 {
            return alternatives
                .iter()
                .map(|a| ParamType::parse(a))
                .collect::<Result<_, _>>()
                .map(ParamType::Either);
        }
        let text = text.trim();
        if let Some(inner) = text.strip_prefix("enum(").and_then(|t| t.strip_suffix(')')) {
            return Ok(ParamType::Enum(
                inner.split(',').map(|w| w.trim().to_string()).collect(),
            ));
        }
        if let Some(inner) = text.strip_prefix("list(").and_then(|t| t.strip_suffix(')')) {
            return Ok(ParamType::List(Some(Box::new(ParamType::parse(inner)?))));
        }
        Ok(match text {
            "string" => ParamType::String,
            "int" => ParamType::Int,
            "float" => ParamType::Float,
            "bool" => ParamType::Bool,
            "list" => ParamType::List(None),
            "map" => ParamType::Map,
            "port" => ParamType::Port,
            "ip" => ParamType::Ip,
            "cidr" => ParamType::Cidr,
            "size" => ParamType::Size,
            "duration" => ParamType::Duration,
            "any" => ParamType::Any,
            other => return Err(format!("unknown type {other:?}")),
        })
    }

    /// Check a value against the type; the error names the expected type
    /// and the value found (for list items, with the item's index).
    pub fn check(&self, node: &Node) -> Result<(), String> {
        if let (ParamType::List(Some(item)), Value::Seq(items)) = (self, &node.value) {
            for (i, n) in items.iter().enumerate() {
                item.check(n).map_err(|e| format!("[{i}]: {e}"))?;
            }
            return Ok(());
        }
        if self.accepts(&node.value) {
            Ok(())
        } else {
            Err(format!("expected {self}, found {}", found(&node.value)))
        }
    }

    fn accepts(&self, v: &Value) -> bool {
        match self {
            ParamType::String => matches!(v, Value::Str(_) | Value::Int(_) | Value::Float(_)),
            ParamType::Int => matches!(v, Value::Int(_)),
            ParamType::Float => matches!(v, Value::Int(_) | Value::Float(_)),
            ParamType::Bool => matches!(v, Value::Bool(_)),
            ParamType::List(None) => matches!(v, Value::Seq(_)),
            ParamType::List(Some(item)) => match v {
                Value::Seq(items) => items.iter().all(|n| item.accepts(&n.value)),
                _ => false,
            },
            ParamType::Map => matches!(v, Value::Map(_)),
            ParamType::Port => matches!(v, Value::Int(p) if (1..=65535).contains(p)),
            ParamType::Ip => matches!(v, Value::Str(s) if s.parse::<IpAddr>().is_ok()),
            ParamType::Cidr => matches!(v, Value::Str(s) if parse_cidr(s).is_some()),
            ParamType::Size => match v {
                Value::Int(i) => *i >= 0,
                Value::Str(s) => parse_size(s).is_some(),
                _ => false,
            },
            ParamType::Duration => match v {
                Value::Int(i) => *i >= 0,
                Value::Str(s) => parse_duration_ms(s).is_some(),
                _ => false,
            },
            ParamType::Enum(words) => match v {
                Value::Str(s) => words.iter().any(|w| w == s),
                _ => false,
            },
            ParamType::Either(types) => types.iter().any(|t| t.accepts(v)),
            ParamType::Any => true,
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamType::String => f.write_str("a string"),
            ParamType::Int => f.write_str("an integer"),
            ParamType::Float => f.write_str("a number"),
            ParamType::Bool => f.write_str("true or false"),
            ParamType::List(None) => f.write_str("a list"),
            ParamType::List(Some(item)) => write!(f, "a list of {item}"),
            ParamType::Map => f.write_str("a mapping"),
            ParamType::Port => f.write_str("a port (1-65535)"),
            ParamType::Ip => f.write_str("an IP address"),
            ParamType::Cidr => f.write_str("an address/prefix like 10.10.10.2/24"),
            ParamType::Size => f.write_str("a size like 64MiB or 1GB"),
            ParamType::Duration => f.write_str("a duration like 10s or 24h"),
            ParamType::Enum(words) => write!(f, "one of {}", words.join(", ")),
            ParamType::Either(types) => {
                for (i, t) in types.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "{t}")?;
                }
                Ok(())
            }
            ParamType::Any => f.write_str("any value"),
        }
    }
}

fn found(v: &Value) -> String {
    let shown = v.to_string();
    let shown = if shown.chars().count() > 60 {
        format!("{}…", shown.chars().take(60).collect::<String>())
    } else {
        shown
    };
    format!("{} {shown}", v.kind())
}

/// Split at `sep` outside parentheses.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Parse `addr/prefix`.
pub fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = s.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((addr, prefix))
}

/// Split `12.5MiB` into its number and unit.
fn number_and_unit(s: &str) -> Option<(f64, &str)> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let number: f64 = s.get(..end)?.parse().ok()?;
    Some((number, s.get(end..)?.trim()))
}

/// A size in bytes: `1048576`, `64MiB`, `1GB` (Pigsty and PostgreSQL read
/// `MB` as 2^20, and so does pig).
pub fn parse_size(s: &str) -> Option<u64> {
    let (n, unit) = number_and_unit(s)?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "K" | "KB" | "KiB" | "k" | "kB" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        "T" | "TB" | "TiB" => 1 << 40,
        _ => return None,
    };
    let bytes = n * scale as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// A duration in milliseconds: `10s`, `0.5s`, `24h`, `7300d`, `1h30m`;
/// a bare number is seconds.
pub fn parse_duration_ms(s: &str) -> Option<u64> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest.get(..end)?.parse().ok()?;
        rest = rest.get(end..)?;
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_end)?;
        rest = rest.get(unit_end..)?;
        let ms = match unit {
            "ms" => 1.0,
            "" | "s" => 1000.0,
            "m" | "min" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "w" => 604_800_000.0,
            _ => return None,
        };
        total += n * ms;
    }
    (total.is_finite() && total < u64::MAX as f64).then_some(total as u64)
}

/// Where a resolved parameter value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Pigsty's default from the table.
    Default,
    /// Generated by `seed init`, from the `pig.secrets` section.
    Generated,
    /// Set in the inventory at this YAML path.
    Set(String),
}

/// A resolved value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The value, type-checked against the table.
    pub node: Node,
    /// Where it came from.
    pub origin: Origin,
}

/// A host's parameters after precedence: explicit values over generated
/// secrets over Pigsty's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    set: BTreeMap<String, Resolved>,
}

impl Params {
    pub(crate) fn insert(&mut self, name: &str, node: Node, origin: Origin) {
        self.set.insert(name.to_string(), Resolved { node, origin });
    }

    /// The value of `name`: set, generated or Pigsty's default; `None` for
    /// an unknown name or a parameter without default that is not set.
    pub fn get(&self, name: &str) -> Option<&Node> {
        if let Some(r) = self.set.get(name) {
            return Some(&r.node);
        }
        defaults::spec(name)?.default.as_ref()
    }

    /// The value of `name` with its origin; defaults come from the table.
    pub fn resolved(&self, name: &str) -> Option<Resolved> {
        if let Some(r) = self.set.get(name) {
            return Some(r.clone());
        }
        let spec: &ParamSpec = defaults::spec(name)?;
        spec.default.clone().map(|node| Resolved {
            node,
            origin: Origin::Default,
        })
    }

    /// Whether `name` is set in the inventory or generated, not defaulted.
    pub fn is_set(&self, name: &str) -> bool {
        self.set.contains_key(name)
    }

    /// Parameters set in the inventory or generated, by name.
    pub fn explicit(&self) -> impl Iterator<Item = (&str, &Resolved)> {
        self.set.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// A string parameter (numbers read as text).
    pub fn str(&self, name: &str) -> Option<String> {
        self.get(name).and_then(Node::scalar_text)
    }

    /// An integer parameter.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Node::as_int)
    }

    /// A boolean parameter.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Node::as_bool)
    }

    /// A list parameter's items as text, skipping non-scalars.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.get(name)
            .and_then(Node::as_seq)
            .map(|items| items.iter().filter_map(Node::scalar_text).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(v: Value) -> Node {
        Node::synthetic(v)
    }

    #[test]
    fn types_accept_and_reject() {
        let t = |s: &str| ParamType::parse(s).unwrap();
        assert!(t("port").check(&node(Value::Int(5432))).is_ok());
        assert!(t("port").check(&node(Value::Int(70000))).is_err());
        assert!(
            t("ip")
                .check(&node(Value::Str("10.10.10.10".into())))
                .is_ok()
        );
        assert!(
            t("cidr")
                .check(&node(Value::Str("10.10.10.2/24".into())))
                .is_ok()
        );
        assert!(
            t("cidr")
                .check(&node(Value::Str("10.10.10.2/33".into())))
                .is_err()
        );
        assert!(
            t("int|enum(auto)")
                .check(&node(Value::Str("auto".into())))
                .is_ok()
        );
        assert!(t("int|enum(auto)").check(&node(Value::Int(100))).is_ok());
        let e = t("enum(oltp,olap)")
            .check(&node(Value::Str("fast".into())))
            .unwrap_err();
        assert_eq!(e, "expected one of oltp, olap, found string \"fast\"");
        let list = node(Value::Seq(vec![
            node(Value::Int(22)),
            node(Value::Str("x".into())),
        ]));
        let e = t("list(port)").check(&list).unwrap_err();
        assert!(e.starts_with("[1]: expected a port"), "{e}");
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("1GB"), Some(1 << 30));
        assert_eq!(parse_size("1048576"), Some(1048576));
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_duration_ms("0.5s"), Some(500));
        assert_eq!(parse_duration_ms("24h"), Some(86_400_000));
        assert_eq!(parse_duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration_ms("7300d"), Some(7300 * 86_400_000));
        assert_eq!(parse_duration_ms("soon"), None);
        assert_eq!(parse_duration_ms(""), None);
    }
}
