//! Reading RPM repodata packages into a [`Universe`].
//!
//! What a package contributes, and how it maps to the apt-like walk:
//! - Requires become one dependency group each, in `primary.xml` order.
//!   `rpmlib(…)` and `config(…)` requires are satisfied by rpm itself and
//!   dropped. A rich dependency of plain operands joined by `or` becomes
//!   one group of alternatives, one joined by `and` one group per operand;
//!   any other rich dependency (`if`, `unless`, `with`, `without`, nesting)
//!   is kept as a single name no package provides, so a closure that needs
//!   it fails naming the whole expression.
//! - Recommends become Recommends (followed only when asked, as dnf's
//!   `install_weak_deps`); Suggests, Supplements and Enhances are ignored.
//! - Provides keep their version when it is `=`; any other provide is
//!   unversioned, and an unversioned provide satisfies every version of its
//!   name, as in rpm and libsolv. Every file `primary.xml` lists for the
//!   package is provided too: those are the files dnf resolves file
//!   requires against.
//! - Conflicts are checked in the closure. Obsoletes are not: on an empty
//!   root they only matter when two packages of the closure obsolete each
//!   other, which the closure does not model.
//! - Versions are `[epoch:]version-release` (epoch shown only when not 0)
//!   and compare as rpm compares them; a side without a release matches
//!   any release, so `foo >= 1.0` accepts `1.0-3`.
//!
//! As with apt, each name has one candidate (the best version of the
//! preferred repositories); a require only an older version satisfies
//! (`foo < 2`) fails where dnf would fall back to that version.
//!
//! Repository priority: dnf prefers the *lowest* `priority=` number, the
//! universe the highest. Callers give the recipe's priority, where higher
//! is preferred for both formats; within equal priorities the best version
//! wins, as in dnf.

use std::cmp::Ordering;

use crate::rpm::header::Dependency;
use crate::rpm::repodata::RepoPackage;
use crate::rpm::version::{Evr, rpmvercmp};
use crate::{Error, Result};

use super::universe::{
    Atom, DepKind, FormatRules, Group, MultiArch, Op, Package, PkgId, Provide, RepoId, Universe,
};

impl FormatRules {
    /// RPM's rules.
    const RPM: FormatRules = FormatRules {
        shared_arch: "noarch",
        unversioned_provides_any: true,
    };
}

impl Universe {
    /// An empty universe of RPM packages for `arch` (`x86_64`, …): packages
    /// of that architecture and `noarch` are usable, others (`i686`) are
    /// kept but never chosen. Versions order as rpm orders them.
    pub fn new_rpm(arch: &str) -> Self {
        Universe::with_rules(arch, compare_evr, FormatRules::RPM)
    }

    /// Add one package of a repository's `primary.xml`. Errors name the
    /// repository and the package.
    pub fn add_rpm(&mut self, repo: RepoId, p: &RepoPackage) -> Result<PkgId> {
        let version = evr_string(p);
        let input = format!("{} primary.xml", self.repo_name(repo));
        let place = format!("package {}-{version}.{}", p.name, p.arch);
        if p.name.is_empty() {
            return Err(Error::invalid(input, place, "package without a name"));
        }
        if p.checksum_type != "sha256" {
            return Err(Error::invalid(
                input,
                place,
                format!(
                    "checksum type {:?}: only sha256 can be pinned",
                    p.checksum_type
                ),
            ));
        }
        let mut depends = Vec::new();
        for d in &p.deps.requires {
            if !implicit(&d.name) {
                depends.extend(groups(d).into_iter().map(|g| (DepKind::Depends, g)));
            }
        }
        for d in &p.deps.recommends {
            depends.extend(groups(d).into_iter().map(|g| (DepKind::Recommends, g)));
        }
        let conflicts = p
            .deps
            .conflicts
            .iter()
            .flat_map(groups)
            .map(|g| ("Conflicts".to_string(), g))
            .collect();
        let mut provides: Vec<Provide> = p
            .deps
            .provides
            .iter()
            .map(|d| Provide {
                name: d.name.clone(),
                version: match (d.op, &d.evr) {
                    (Some(Op::Eq), Some(evr)) => Some(evr.to_string()),
                    _ => None,
                },
            })
            .collect();
        provides.extend(p.files.iter().map(|f| Provide {
            name: f.path.clone(),
            version: None,
        }));
        Ok(self.add_package(Package {
            name: p.name.clone(),
            version,
            arch: p.arch.clone(),
            repo,
            multi_arch: MultiArch::No,
            essential: false,
            important: false,
            priority_rank: 0,
            provides,
            depends,
            conflicts,
            filename: p.location_href.clone(),
            size: p.size,
            sha256: p.checksum.clone(),
        }))
    }
}

/// A package's `[epoch:]version-release`, the epoch only when it is not 0
/// (as `rpm -q` and dnf print it). This is the version the universe, the
/// closure and locks carry.
pub fn evr_string(p: &RepoPackage) -> String {
    if p.epoch == 0 {
        format!("{}-{}", p.version, p.release)
    } else {
        format!("{}:{}-{}", p.epoch, p.version, p.release)
    }
}

/// rpm's order of two `[epoch:]version[-release]` texts; when either has
/// no release, releases are not compared (rpm's `rpmdsCompare`), so a
/// constraint without a release matches every release.
pub fn compare_evr(a: &str, b: &str) -> Ordering {
    match (Evr::parse(a), Evr::parse(b)) {
        (Ok(mut a), Ok(mut b)) => {
            if a.release.is_none() || b.release.is_none() {
                a.release = None;
                b.release = None;
            }
            a.compare(&b)
        }
        _ => rpmvercmp(a, b),
    }
}

/// Requires rpm satisfies by itself.
fn implicit(name: &str) -> bool {
    name.starts_with("rpmlib(") || name.starts_with("config(")
}

/// The dependency groups of one require (or conflict, or recommend).
fn groups(d: &Dependency) -> Vec<Group> {
    if d.name.starts_with('(') {
        return match rich(&d.name) {
            Some(Rich::Or(atoms)) => vec![Group(atoms)],
            Some(Rich::And(atoms)) => atoms.into_iter().map(|a| Group(vec![a])).collect(),
            None => vec![Group(vec![plain(&d.name, None)])],
        };
    }
    let constraint = match (d.op, &d.evr) {
        (Some(op), Some(evr)) => Some((op, evr.to_string())),
        _ => None,
    };
    vec![Group(vec![plain(&d.name, constraint)])]
}

fn plain(name: &str, constraint: Option<(Op, String)>) -> Atom {
    Atom {
        name: name.to_string(),
        arch_qualifier: None,
        constraint,
    }
}

/// A rich dependency of plain operands joined by one operator.
#[derive(Debug, PartialEq)]
enum Rich {
    Or(Vec<Atom>),
    And(Vec<Atom>),
}

/// Parse `(a or b >= 2 or c)` / `(a and b)`; `None` for anything else.
/// Operand names may hold parentheses (`perl(Foo)`, `libc.so.6()(64bit)`),
/// but no operand starts with one, so a token starting with `(` is nesting.
fn rich(text: &str) -> Option<Rich> {
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    let mut tokens = inner.split_whitespace().peekable();
    let mut atoms = Vec::new();
    let mut joiner: Option<&str> = None;
    loop {
        let name = tokens.next()?;
        if name.starts_with('(') || matches!(name, "or" | "and") || symbol(name).is_some() {
            return None;
        }
        let constraint = match tokens.peek().and_then(|t| symbol(t)) {
            Some(op) => {
                tokens.next();
                let version = tokens.next()?;
                if version.starts_with('(') || version.ends_with(')') {
                    return None;
                }
                Some((op, version.to_string()))
            }
            None => None,
        };
        if name.ends_with(')') && !name.contains('(') {
            return None;
        }
        atoms.push(plain(name, constraint));
        match tokens.next() {
            None => break,
            Some(word @ ("or" | "and")) if joiner.is_none_or(|j| j == word) => {
                joiner = Some(word);
            }
            Some(_) => return None,
        }
    }
    match joiner {
        Some("and") => Some(Rich::And(atoms)),
        _ => Some(Rich::Or(atoms)),
    }
}

fn symbol(token: &str) -> Option<Op> {
    Some(match token {
        "<" => Op::Lt,
        "<=" => Op::Le,
        "=" => Op::Eq,
        ">=" => Op::Ge,
        ">" => Op::Gt,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: Rich) -> Vec<String> {
        let atoms = match r {
            Rich::Or(a) | Rich::And(a) => a,
        };
        atoms.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn rich_or_and_and() {
        let r = rich("(pig-a or pig-b >= 1.0-2 or perl(Foo::Bar))").unwrap();
        assert!(matches!(r, Rich::Or(_)));
        assert_eq!(names(r), ["pig-a", "pig-b (>= 1.0-2)", "perl(Foo::Bar)"]);
        let r = rich("(libc.so.6()(64bit) and b)").unwrap();
        assert!(matches!(r, Rich::And(_)));
        assert_eq!(names(r), ["libc.so.6()(64bit)", "b"]);
        assert_eq!(names(rich("(single)").unwrap()), ["single"]);
    }

    #[test]
    fn rich_others_are_refused() {
        for text in [
            "(a if b)",
            "(a unless b)",
            "(a or (b and c))",
            "(a or b and c)",
            "(a with b)",
            "(a or)",
            "(or a)",
            "(a >=)",
            "()",
            "(a or b",
        ] {
            assert_eq!(rich(text), None, "{text}");
        }
    }

    #[test]
    fn release_less_side_matches_every_release() {
        assert_eq!(compare_evr("1.0-3", "1.0"), Ordering::Equal);
        assert_eq!(compare_evr("1.0-3", "1.0-2"), Ordering::Greater);
        assert_eq!(compare_evr("1:0.1-1", "2.0-1"), Ordering::Greater);
        assert_eq!(compare_evr("0:2.0-1", "2.0-1"), Ordering::Equal);
        assert_eq!(compare_evr("1.0~rc1-1", "1.0-1"), Ordering::Less);
    }
}
