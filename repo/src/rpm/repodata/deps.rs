//! Which of a package's dependencies repodata lists: createrepo_c's rules,
//! so that metadata written by pig resolves exactly as createrepo_c's does.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::rpm::header::{Dependency, RpmInfo, SENSE_MISSINGOK, is_primary_file};
use crate::rpm::version::{Evr, Op, rpmvercmp};

/// A package's dependencies as repodata lists them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dependencies {
    pub provides: Vec<Dependency>,
    pub requires: Vec<Dependency>,
    pub conflicts: Vec<Dependency>,
    pub obsoletes: Vec<Dependency>,
    pub suggests: Vec<Dependency>,
    pub enhances: Vec<Dependency>,
    pub recommends: Vec<Dependency>,
    pub supplements: Vec<Dependency>,
}

/// The dependencies of `info` that go into `primary.xml`, in order.
///
/// Requires are filtered as createrepo_c filters them: `rpmlib(…)` features
/// are dropped, as are requires of the package's own primary files, requires
/// the package itself provides (same name, operator and version), and
/// repeats of the previous require of the same name. Of several
/// `libc.so.6(…)` requires only the highest version is kept (last). A
/// legacy weak require (`RPMSENSE_MISSINGOK`) is listed as a recommends.
pub fn indexed_dependencies(info: &RpmInfo) -> Dependencies {
    let provided: HashSet<(&str, Option<Op>, Option<&Evr>)> = info
        .provides
        .iter()
        .map(|d| (d.name.as_str(), d.op, d.evr.as_ref()))
        .collect();
    let own_files: HashSet<&str> = info.files.iter().map(|f| f.path.as_str()).collect();

    let mut requires = Vec::new();
    let mut legacy_recommends = Vec::new();
    let mut last_seen: HashMap<&str, (Option<Op>, Option<&Evr>, bool)> = HashMap::new();
    let mut libc: Option<&Dependency> = None;
    for d in &info.requires {
        let name = d.name.as_str();
        if name.starts_with("rpmlib(") {
            continue;
        }
        if name.starts_with('/') && own_files.contains(name) && is_primary_file(name) {
            continue;
        }
        if provided.contains(&(name, d.op, d.evr.as_ref())) {
            continue;
        }
        if last_seen.get(name) == Some(&(d.op, d.evr.as_ref(), d.pre)) {
            continue;
        }
        if d.flags & SENSE_MISSINGOK != 0 {
            legacy_recommends.push(d.clone());
            continue;
        }
        if name.starts_with("libc.so.6") {
            libc = match libc {
                Some(best) if compare_libc(&best.name, name) != Ordering::Less => Some(best),
                _ => Some(d),
            };
            continue;
        }
        requires.push(d.clone());
        last_seen.insert(name, (d.op, d.evr.as_ref(), d.pre));
    }
    requires.extend(libc.cloned());

    let mut recommends = legacy_recommends;
    recommends.extend(info.recommends.iter().cloned());
    Dependencies {
        provides: info.provides.clone(),
        requires,
        conflicts: info.conflicts.clone(),
        obsoletes: info.obsoletes.clone(),
        suggests: info.suggests.clone(),
        enhances: info.enhances.clone(),
        recommends,
        supplements: info.supplements.clone(),
    }
}

/// createrepo_c's `cr_compare_dependency` for `libc.so.6(GLIBC_2.x)…`:
/// by the version inside the first parentheses; no parentheses is lowest.
fn compare_libc(a: &str, b: &str) -> Ordering {
    fn version(s: &str) -> Option<&str> {
        let open = s.find('(')?;
        let inner = &s[open + 1..];
        let close = inner.find(')')?;
        let inner = &inner[..close];
        let digit = inner.find(|c: char| c.is_ascii_digit())?;
        Some(&inner[digit..])
    }
    match (version(a), version(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => rpmvercmp(x, y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpm::header::{FileKind, RpmFile};

    fn dep(name: &str) -> Dependency {
        Dependency::any(name)
    }

    #[test]
    fn filters_requires_like_createrepo_c() {
        let mut pre = dep("/bin/sh");
        pre.pre = true;
        let info = RpmInfo {
            provides: vec![dep("self-cap")],
            requires: vec![
                dep("rpmlib(CompressedFileNames)"),
                dep("/usr/bin/own"),
                dep("self-cap"),
                pre.clone(),
                pre.clone(),
                dep("/bin/sh"),
                dep("libc.so.6(GLIBC_2.4)(64bit)"),
                dep("libc.so.6(GLIBC_2.34)(64bit)"),
                dep("libc.so.6()(64bit)"),
                dep("zlib"),
            ],
            files: vec![RpmFile {
                path: "/usr/bin/own".into(),
                kind: FileKind::File,
            }],
            ..RpmInfo::default()
        };
        let names: Vec<_> = indexed_dependencies(&info)
            .requires
            .iter()
            .map(|d| (d.name.clone(), d.pre))
            .collect();
        assert_eq!(
            names,
            [
                ("/bin/sh".to_string(), true),
                ("/bin/sh".to_string(), false),
                ("zlib".to_string(), false),
                ("libc.so.6(GLIBC_2.34)(64bit)".to_string(), false),
            ]
        );
    }
}
