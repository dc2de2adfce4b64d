//! Debian relation fields: `Depends`, `Pre-Depends`, `Recommends`,
//! `Suggests`, `Enhances`, `Conflicts`, `Breaks`, `Replaces`, `Provides` and
//! the source fields `Build-Depends*`/`Build-Conflicts*`.
//!
//! The syntax is Debian Policy §7.1 as dpkg (`f_dependency` in
//! `lib/dpkg/fields.c`) and `Dpkg::Deps` read it:
//! `name[:arch] [(op version)] [[arch …]] [<profile …> …]`, alternatives
//! separated by `|`, relations by `,`. Two leniencies follow `Dpkg::Deps`:
//! a trailing comma is accepted (common in `debian/control`), and the
//! obsolete `<` and `>` mean `<=` and `>=`, as dpkg has always read them.

use std::fmt;

use super::control::Paragraph;
use super::version::{self, Version};
pub use crate::op::Op;
use crate::{Error, Result};

/// A whole relation field: every [`Relation`] must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Relations(pub Vec<Relation>);

/// One comma-separated entry: at least one of its alternatives must hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relation {
    pub alternatives: Vec<Dependency>,
}

/// One package reference with its optional restrictions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dependency {
    pub name: String,
    /// `any`, `native` or an architecture name after `name:`.
    pub arch_qualifier: Option<String>,
    pub constraint: Option<(Op, Version)>,
    /// `[amd64 i386]` or `[!amd64]` (source packages only).
    pub arches: Option<ArchRestriction>,
    /// `<!nocheck> <stage1 cross>`: the dependency applies when any one
    /// group holds, and a group holds when all its terms do.
    pub profiles: Vec<Vec<ProfileTerm>>,
}

/// An architecture restriction list. Policy forbids mixing negated and plain
/// names, so negation applies to the whole list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArchRestriction {
    pub negated: bool,
    pub arches: Vec<String>,
}

/// One term of a build-profile restriction: `nocheck` or `!nocheck`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileTerm {
    pub negated: bool,
    pub name: String,
}

impl Dependency {
    /// Whether version `v` of the named package satisfies the constraint
    /// (always, when there is none).
    pub fn matches_version(&self, v: &Version) -> bool {
        match &self.constraint {
            Some((op, want)) => op.satisfied_by(v.cmp(want)),
            None => true,
        }
    }

    /// Whether the dependency applies when building for `arch` (a Debian
    /// architecture name such as `amd64`). Understands exact names, `any`,
    /// `linux-any` and other `<os>-any` wildcards; CPU wildcards
    /// (`any-arm`) need dpkg's CPU table and never match here.
    pub fn applies_to_arch(&self, arch: &str) -> bool {
        let Some(restriction) = &self.arches else {
            return true;
        };
        let listed = restriction
            .arches
            .iter()
            .any(|pattern| arch_matches(pattern, arch));
        listed != restriction.negated
    }
}

fn arch_matches(pattern: &str, arch: &str) -> bool {
    if pattern == arch || pattern == "any" {
        return true;
    }
    // Linux architectures are bare CPU names; others are `<os>-<cpu>`.
    let os = arch.split_once('-').map_or("linux", |(os, _)| os);
    pattern.strip_suffix("-any") == Some(os)
}

impl Relations {
    /// Parse a relation field's value. `input` names the file, `line` is the
    /// line where the field starts (continuation lines count from it), and
    /// `field` is the field's name; errors name all three.
    pub fn parse_in(text: &str, input: &str, line: usize, field: &str) -> Result<Relations> {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            input,
            line,
            field,
        }
        .relations()
    }

    /// Parse field `field` of `para`; an absent field is an empty list.
    pub fn from_field(para: &Paragraph, field: &str, input: &str) -> Result<Relations> {
        match para.field(field) {
            Some(f) => Relations::parse_in(&f.value, input, f.line, &f.name),
            None => Ok(Relations::default()),
        }
    }

    /// Parse a relation list given in code or on a command line.
    pub fn parse(text: &str) -> Result<Relations> {
        Relations::parse_in(text, "<text>", 1, "relations")
    }
}

/// Fields in which dpkg refuses alternatives.
const NO_ALTERNATIVES: [&str; 4] = ["Conflicts", "Breaks", "Replaces", "Provides"];

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    input: &'a str,
    line: usize,
    field: &'a str,
}

/// Bytes that end a name, an architecture or a profile term.
fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || b"|,:()[]<>!".contains(&b)
}

impl<'a> Parser<'a> {
    fn error_at(&self, pos: usize, message: impl fmt::Display) -> Error {
        let before = self.bytes.get(..pos).unwrap_or(self.bytes);
        let line = self.line + before.iter().filter(|&&b| b == b'\n').count();
        Error::syntax(self.input, line, format!("{} field: {message}", self.field))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// Consume `b` if it comes next.
    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.pos += 1;
        }
        found
    }

    /// The run of non-delimiter bytes at the cursor (delimiters are ASCII,
    /// so the run ends on a char boundary).
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_delimiter(b)) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    /// The character at the cursor, for messages.
    fn here(&self) -> String {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) => format!("{c:?}"),
            None => "end of field".to_string(),
        }
    }

    fn relations(&mut self) -> Result<Relations> {
        let mut relations = Vec::new();
        self.skip_space();
        while self.peek().is_some() {
            let start = self.pos;
            let relation = self.relation()?;
            if relation.alternatives.len() > 1
                && NO_ALTERNATIVES
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(self.field))
            {
                return Err(self.error_at(start, "alternatives ('|') are not allowed"));
            }
            relations.push(relation);
            if self.peek().is_none() {
                break;
            }
            if !self.eat(b',') {
                let name = relations
                    .last()
                    .and_then(|r| r.alternatives.last())
                    .map_or("", |d| d.name.as_str());
                return Err(self.error_at(
                    self.pos,
                    format!("expected ',' or '|' after {name:?}, found {}", self.here()),
                ));
            }
            self.skip_space();
        }
        Ok(Relations(relations))
    }

    fn relation(&mut self) -> Result<Relation> {
        let mut alternatives = vec![self.dependency()?];
        while self.eat(b'|') {
            self.skip_space();
            alternatives.push(self.dependency()?);
        }
        Ok(Relation { alternatives })
    }

    /// One dependency and the blanks after it.
    fn dependency(&mut self) -> Result<Dependency> {
        let start = self.pos;
        let name = self.word();
        if name.is_empty() {
            return Err(self.error_at(
                start,
                format!(
                    "missing package name, or garbage where package name expected: {}",
                    self.here()
                ),
            ));
        }
        check_package_name(name)
            .map_err(|m| self.error_at(start, format!("invalid package name {name:?}: {m}")))?;
        let arch_qualifier = if self.eat(b':') {
            let at = self.pos;
            let arch = self.word();
            check_arch_name(arch).map_err(|m| {
                self.error_at(
                    at,
                    format!("{name:?}: invalid architecture name {arch:?}: {m}"),
                )
            })?;
            Some(arch.to_string())
        } else {
            None
        };
        self.skip_space();
        let constraint = if self.eat(b'(') {
            Some(self.constraint(name)?)
        } else {
            None
        };
        let arches = if self.eat(b'[') {
            Some(self.arch_restriction(name)?)
        } else {
            None
        };
        let mut profiles = Vec::new();
        while self.eat(b'<') {
            profiles.push(self.profile_group(name)?);
        }
        Ok(Dependency {
            name: name.to_string(),
            arch_qualifier,
            constraint,
            arches,
            profiles,
        })
    }

    /// After `(`: `op version )` and the blanks after it.
    fn constraint(&mut self, name: &str) -> Result<(Op, Version)> {
        self.skip_space();
        let at = self.pos;
        let first = self.peek();
        let op = match first {
            Some(c @ (b'<' | b'>')) => {
                self.pos += 1;
                let second = self.peek();
                let (strict, loose) = if c == b'<' {
                    (Op::Lt, Op::Le)
                } else {
                    (Op::Gt, Op::Ge)
                };
                match second {
                    Some(b'=') => {
                        self.pos += 1;
                        loose
                    }
                    Some(s) if s == c => {
                        self.pos += 1;
                        strict
                    }
                    Some(s @ (b'<' | b'>')) => {
                        return Err(self.error_at(
                            at,
                            format!(
                                "{name:?}: bad version relationship {}{}",
                                c as char, s as char
                            ),
                        ));
                    }
                    _ => loose,
                }
            }
            Some(b'=') => {
                self.pos += 1;
                Op::Eq
            }
            _ => {
                return Err(self.error_at(
                    at,
                    format!(
                        "{name:?}: expected a relation (<<, <=, =, >=, >>), found {}",
                        self.here()
                    ),
                ));
            }
        };
        self.skip_space();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| !b.is_ascii_whitespace() && b != b'(' && b != b')')
        {
            self.pos += 1;
        }
        let text = self.text.get(start..self.pos).unwrap_or("");
        self.skip_space();
        match self.peek() {
            Some(b')') => self.pos += 1,
            None => return Err(self.error_at(self.pos, format!("{name:?}: version unterminated"))),
            Some(_) => {
                return Err(self.error_at(
                    self.pos,
                    format!("{name:?}: version contains {}", self.here()),
                ));
            }
        }
        let version = version::parse_str(text)
            .map_err(|m| self.error_at(start, format!("{name:?}: version {text:?}: {m}")))?;
        self.skip_space();
        Ok((op, version))
    }

    /// After `[`: `[!]arch …]` and the blanks after it.
    fn arch_restriction(&mut self, name: &str) -> Result<ArchRestriction> {
        let open = self.pos;
        let mut negated = None;
        let mut arches = Vec::new();
        loop {
            self.skip_space();
            let at = self.pos;
            if self.eat(b']') {
                break;
            }
            if self.peek().is_none() {
                return Err(
                    self.error_at(open, format!("{name:?}: unterminated architecture list"))
                );
            }
            let not = self.eat(b'!');
            let arch = self.word();
            check_arch_name(arch).map_err(|m| {
                self.error_at(
                    at,
                    format!("{name:?}: invalid architecture name {arch:?} in restriction: {m}"),
                )
            })?;
            if *negated.get_or_insert(not) != not {
                return Err(self.error_at(
                    at,
                    format!("{name:?}: architecture list mixes negated and plain names"),
                ));
            }
            arches.push(arch.to_string());
        }
        let Some(negated) = negated else {
            return Err(self.error_at(open, format!("{name:?}: empty architecture list")));
        };
        self.skip_space();
        Ok(ArchRestriction { negated, arches })
    }

    /// After `<`: `[!]profile …>` and the blanks after it.
    fn profile_group(&mut self, name: &str) -> Result<Vec<ProfileTerm>> {
        let open = self.pos;
        let mut terms = Vec::new();
        loop {
            self.skip_space();
            let at = self.pos;
            if self.eat(b'>') {
                break;
            }
            if self.peek().is_none() {
                return Err(self.error_at(
                    open,
                    format!("{name:?}: unterminated build profile restriction"),
                ));
            }
            let negated = self.eat(b'!');
            let profile = self.word();
            check_profile_name(profile).map_err(|m| {
                self.error_at(
                    at,
                    format!("{name:?}: invalid build profile {profile:?}: {m}"),
                )
            })?;
            terms.push(ProfileTerm {
                negated,
                name: profile.to_string(),
            });
        }
        if terms.is_empty() {
            return Err(self.error_at(open, format!("{name:?}: empty build profile restriction")));
        }
        self.skip_space();
        Ok(terms)
    }
}

/// dpkg's `pkg_name_is_illegal`.
fn check_package_name(name: &str) -> std::result::Result<(), String> {
    check_word(name, "-+._")
}

/// dpkg's `dpkg_arch_name_is_illegal`.
fn check_arch_name(name: &str) -> std::result::Result<(), String> {
    check_word(name, "-")
}

/// Build profile names as `Dpkg::BuildProfiles` accepts them.
fn check_profile_name(name: &str) -> std::result::Result<(), String> {
    check_word(name, "-+.")
}

fn check_word(name: &str, also: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err("may not be empty string".to_string()),
        Some(c) if !c.is_ascii_alphanumeric() => {
            Err("must start with an alphanumeric character".to_string())
        }
        Some(_) => match chars.find(|&c| !c.is_ascii_alphanumeric() && !also.contains(c)) {
            Some(c) => Err(format!(
                "character {c:?} not allowed (only letters, digits and characters '{also}')"
            )),
            None => Ok(()),
        },
    }
}

impl fmt::Display for ArchRestriction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, arch) in self.arches.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if self.negated {
                f.write_str("!")?;
            }
            f.write_str(arch)?;
        }
        f.write_str("]")
    }
}

impl fmt::Display for ProfileTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        f.write_str(&self.name)
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(arch) = &self.arch_qualifier {
            write!(f, ":{arch}")?;
        }
        if let Some((op, version)) = &self.constraint {
            write!(f, " ({} {version})", op.deb_symbol())?;
        }
        if let Some(arches) = &self.arches {
            write!(f, " {arches}")?;
        }
        for group in &self.profiles {
            f.write_str(" <")?;
            for (i, term) in group.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{term}")?;
            }
            f.write_str(">")?;
        }
        Ok(())
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, dep) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{dep}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Relations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, relation) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{relation}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::control;

    fn parse(s: &str) -> Relations {
        Relations::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        Relations::parse_in(s, "control", 10, "Depends")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn parses_full_syntax_and_writes_canonical_form() {
        let r = parse(
            " a(>=1.0)|b:any [amd64]<!nocheck> ,\n c:amd64 (<< 2:3-1) [!i386 !armel] <stage1 cross> <!nocheck>,",
        );
        assert_eq!(r.0.len(), 2);
        let a = &r.0[0].alternatives[0];
        assert_eq!(a.name, "a");
        let (op, v) = a.constraint.as_ref().unwrap();
        assert_eq!((*op, v.as_str()), (Op::Ge, "1.0"));
        let b = &r.0[0].alternatives[1];
        assert_eq!(b.arch_qualifier.as_deref(), Some("any"));
        assert_eq!(
            b.arches,
            Some(ArchRestriction {
                negated: false,
                arches: vec!["amd64".into()]
            })
        );
        let c = &r.0[1].alternatives[0];
        assert_eq!(c.arches.as_ref().unwrap().arches, ["i386", "armel"]);
        assert!(c.arches.as_ref().unwrap().negated);
        assert_eq!(c.profiles.len(), 2);
        assert_eq!(
            c.profiles[0],
            [
                ProfileTerm {
                    negated: false,
                    name: "stage1".into()
                },
                ProfileTerm {
                    negated: false,
                    name: "cross".into()
                }
            ]
        );
        let text = r.to_string();
        assert_eq!(
            text,
            "a (>= 1.0) | b:any [amd64] <!nocheck>, c:amd64 (<< 2:3-1) [!i386 !armel] <stage1 cross> <!nocheck>"
        );
        assert_eq!(parse(&text), r);
    }

    #[test]
    fn operators_including_obsolete_ones() {
        for (text, op) in [
            ("<<", Op::Lt),
            ("<=", Op::Le),
            ("<", Op::Le),
            ("=", Op::Eq),
            (">=", Op::Ge),
            (">", Op::Ge),
            (">>", Op::Gt),
        ] {
            let r = parse(&format!("p ({text} 1)"));
            assert_eq!(r.0[0].alternatives[0].constraint.as_ref().unwrap().0, op);
        }
    }

    #[test]
    fn version_and_arch_matching() {
        let dep = &parse("p (>= 1.0-1) [linux-any]").0[0].alternatives[0];
        assert!(dep.matches_version(&"1.0-1".parse().unwrap()));
        assert!(dep.matches_version(&"1:0.1".parse().unwrap()));
        assert!(!dep.matches_version(&"1.0~rc1-1".parse().unwrap()));
        assert!(dep.applies_to_arch("amd64"));
        assert!(!dep.applies_to_arch("hurd-i386"));
        let dep = &parse("p [!amd64 !kfreebsd-any]").0[0].alternatives[0];
        assert!(!dep.applies_to_arch("amd64"));
        assert!(!dep.applies_to_arch("kfreebsd-amd64"));
        assert!(dep.applies_to_arch("i386"));
        assert!(parse("p").0[0].alternatives[0].applies_to_arch("s390x"));
        assert!(parse("p [any]").0[0].alternatives[0].applies_to_arch("s390x"));
    }

    #[test]
    fn empty_and_missing_fields() {
        assert_eq!(parse(""), Relations::default());
        assert_eq!(parse(" \n "), Relations::default());
        let para = control::parse_one("Package: x\nDepends: a,\n b\n", "ctl").unwrap();
        let deps = Relations::from_field(&para, "depends", "ctl").unwrap();
        assert_eq!(deps.to_string(), "a, b");
        assert_eq!(
            Relations::from_field(&para, "Breaks", "ctl").unwrap(),
            Relations::default()
        );
    }

    #[test]
    fn errors_name_input_line_and_field() {
        assert_eq!(
            err("a,\n b (>= 1.0"),
            "control:11: Depends field: \"b\": version unterminated"
        );
        assert_eq!(
            err("a,\n\n Foo$"),
            "control:12: Depends field: invalid package name \"Foo$\": \
             character '$' not allowed (only letters, digits and characters '-+._')"
        );
        assert_eq!(
            err("a, , b"),
            "control:10: Depends field: missing package name, or garbage where package name expected: ','"
        );
        assert_eq!(
            err("a (<> 1)"),
            "control:10: Depends field: \"a\": bad version relationship <>"
        );
        assert_eq!(
            err("a (1.0)"),
            "control:10: Depends field: \"a\": expected a relation (<<, <=, =, >=, >>), found '1'"
        );
        assert_eq!(
            err("a (= 1.0-)"),
            "control:10: Depends field: \"a\": version \"1.0-\": revision number is empty"
        );
        assert_eq!(
            err("a (= 1 0)"),
            "control:10: Depends field: \"a\": version contains '0'"
        );
        assert_eq!(
            err("a b"),
            "control:10: Depends field: expected ',' or '|' after \"a\", found 'b'"
        );
        assert_eq!(
            err("a [amd64 !i386]"),
            "control:10: Depends field: \"a\": architecture list mixes negated and plain names"
        );
        assert_eq!(
            err("a []"),
            "control:10: Depends field: \"a\": empty architecture list"
        );
        assert_eq!(
            err("a [amd64"),
            "control:10: Depends field: \"a\": unterminated architecture list"
        );
        assert_eq!(
            err("a <!nocheck"),
            "control:10: Depends field: \"a\": unterminated build profile restriction"
        );
        assert_eq!(
            err("a:"),
            "control:10: Depends field: \"a\": invalid architecture name \"\": may not be empty string"
        );
        let e = Relations::parse_in("a | b", "Packages", 3, "Conflicts").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Packages:3: Conflicts field: alternatives ('|') are not allowed"
        );
    }
}
