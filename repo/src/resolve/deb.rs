//! Reading Debian `Packages` stanzas into a [`Universe`].

use crate::deb::control::Paragraph;
use crate::deb::relation::{self, Relations};
use crate::deb::version::{self, Version};
use crate::{Error, Result};

use super::universe::{
    Atom, DepKind, Group, MultiArch, Op, Package, PkgId, Provide, RepoId, Universe,
};

impl Universe {
    /// An empty universe of Debian packages for `arch` (`amd64`, …), whose
    /// versions order as dpkg orders them.
    pub fn new(arch: &str) -> Self {
        Universe::with_order(arch, version::compare)
    }

    /// Add one stanza of a `Packages` index from `repo`. `input` names the
    /// index in errors, which give its line and field.
    pub fn add_deb(&mut self, repo: RepoId, para: &Paragraph, input: &str) -> Result<PkgId> {
        let name = para.require("Package", input)?.to_string();
        let version_text = para.require("Version", input)?;
        let version = Version::parse_in(version_text, input, &place(para, "Version"))?;
        let arch = para.require("Architecture", input)?.to_string();
        let multi_arch = match para.get("Multi-Arch") {
            None | Some("no") => MultiArch::No,
            Some("same") => MultiArch::Same,
            Some("foreign") => MultiArch::Foreign,
            Some("allowed") => MultiArch::Allowed,
            Some(other) => {
                return Err(Error::invalid(
                    input,
                    place(para, "Multi-Arch"),
                    format!("unknown value {other:?}"),
                ));
            }
        };
        let yes = |field: &str| {
            para.get(field)
                .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
        };
        let mut depends = Vec::new();
        for (field, kind) in [
            ("Pre-Depends", DepKind::PreDepends),
            ("Depends", DepKind::Depends),
            ("Recommends", DepKind::Recommends),
        ] {
            for group in groups(para, field, input)? {
                depends.push((kind, group));
            }
        }
        let mut conflicts = Vec::new();
        for field in ["Conflicts", "Breaks"] {
            for group in groups(para, field, input)? {
                conflicts.push((field.to_string(), group));
            }
        }
        let mut provides = Vec::new();
        for group in groups(para, "Provides", input)? {
            for atom in group.0 {
                let version = match atom.constraint {
                    None => None,
                    Some((Op::Eq, v)) => Some(v),
                    Some((op, v)) => {
                        return Err(Error::invalid(
                            input,
                            place(para, "Provides"),
                            format!(
                                "{} ({} {v}): only `=` versions can be provided",
                                atom.name,
                                op.deb_symbol()
                            ),
                        ));
                    }
                };
                provides.push(Provide {
                    name: atom.name,
                    version,
                });
            }
        }
        let size_text = para.require("Size", input)?;
        let size = size_text.parse::<u64>().map_err(|_| {
            Error::invalid(
                input,
                place(para, "Size"),
                format!("not a size: {size_text:?}"),
            )
        })?;
        let package = Package {
            name,
            version: version.as_str().to_string(),
            arch,
            repo,
            multi_arch,
            essential: yes("Essential"),
            important: yes("Important") || yes("Protected"),
            priority_rank: priority_rank(para.get("Priority")),
            provides,
            depends,
            conflicts,
            filename: para.require("Filename", input)?.to_string(),
            size,
            sha256: para.require("SHA256", input)?.to_string(),
        };
        Ok(self.add_package(package))
    }
}

/// `input`'s place of `field` in `para`: the line of the field if present.
fn place(para: &Paragraph, field: &str) -> String {
    match para.field(field) {
        Some(f) => format!("line {}: {field}", f.line),
        None => format!("line {}: {field}", para.line),
    }
}

/// apt's numbering of `Priority` (`pkgCache::State::VerPriority`); an
/// unknown word counts as `extra`, as in apt's list parser.
fn priority_rank(priority: Option<&str>) -> u8 {
    match priority {
        None => 0,
        Some("required") => 1,
        Some("important") => 2,
        Some("standard") => 3,
        Some("optional") => 4,
        Some(_) => 5,
    }
}

fn groups(para: &Paragraph, field: &str, input: &str) -> Result<Vec<Group>> {
    let relations = Relations::from_field(para, field, input)?;
    Ok(relations
        .0
        .into_iter()
        .map(|r| Group(r.alternatives.into_iter().map(atom).collect()))
        .collect())
}

fn atom(d: relation::Dependency) -> Atom {
    Atom {
        name: d.name,
        arch_qualifier: d.arch_qualifier,
        constraint: d.constraint.map(|(op, v)| (op, v.as_str().to_string())),
    }
}
