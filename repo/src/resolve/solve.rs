//! The closure itself: apt-get's `MarkInstall` walk over a [`Universe`],
//! for a system where nothing is installed yet.
//!
//! What is mirrored from apt (2.6, `apt-pkg/depcache.cc`):
//! - `apt-get install a b c` first marks every wanted package (they become
//!   *protected*), then walks the dependencies of each wanted package whose
//!   own dependencies are not yet satisfied, in the order given.
//! - A package's dependency groups are collected when it is marked; a group
//!   already satisfied by a marked package is skipped (a protected package
//!   re-examines them, see below). For the others apt lists every
//!   alternative's candidates (the real package's candidate if it satisfies
//!   the atom, then every provider whose candidate provides it), each
//!   alternative's list sorted by apt's `CompareProviders`, and marks the
//!   first that can be installed.
//! - `CompareProviders`: protected packages first, then the package named
//!   by the dependency, then essential, then important ones, then the lower
//!   `Priority` rank, then the package apt created later.
//! - Protection spreads along Depends/Pre-Depends that have exactly one
//!   possible solution, so a wanted package's sole providers win later ties.
//! - A package one of whose Depends has no alternative with a candidate is
//!   not installable; unless protected, its candidate is dropped, which
//!   makes later groups fall through to their next alternative.
//! - Unsatisfiable Recommends are skipped.
//!
//! Essential packages: with an empty dpkg status, `apt-get install` does
//! not add the Essential set; it installs an essential package only when
//! something depends on it. The closure does the same.
//!
//! Where apt errors but a recipe needs an answer, one rule: a wanted virtual
//! name with several providers resolves to the provider that is itself in
//! the wanted set (apt would refuse the name); with none of them wanted it
//! is an error listing the providers, as apt reports it.

use std::collections::{HashMap, HashSet};

use super::universe::{Atom, DepKind, Group, PkgId, Universe};

/// What to follow besides Depends and Pre-Depends.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResolveOptions {
    /// Follow Recommends too (apt's `APT::Install-Recommends`).
    pub with_recommends: bool,
}

/// Why a package is in the closure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Named in the wanted list.
    Wanted,
    /// Pulled in by `parent`'s dependency `dependency` of kind `kind`.
    Dependency {
        parent: String,
        kind: DepKind,
        dependency: String,
    },
}

/// One package of the closure.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The package in the universe: [`Universe::package`] gives its
    /// filename, size and sha256 for a lock.
    pub id: PkgId,
    pub name: String,
    pub version: String,
    /// Its architecture as indexed (`all` stays `all`).
    pub arch: String,
    /// Name of the repository it comes from.
    pub repo: String,
    pub reason: Reason,
}

/// The packages to install, sorted by name.
#[derive(Debug, Clone)]
pub struct Closure {
    pub packages: Vec<Selected>,
}

impl Closure {
    /// The selected package called `name`.
    pub fn get(&self, name: &str) -> Option<&Selected> {
        self.packages
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.packages.get(i))
    }

    /// The chain of dependencies from a wanted package to `name`, one step a
    /// line (`postgresql-15 Depends postgresql-common (>= 252)`); empty for
    /// a wanted package, `None` for a package not in the closure.
    pub fn why(&self, name: &str) -> Option<Vec<String>> {
        let mut steps = Vec::new();
        let mut seen = HashSet::new();
        let mut current = self.get(name)?;
        while let Reason::Dependency {
            parent,
            kind,
            dependency,
        } = &current.reason
        {
            if !seen.insert(current.name.as_str()) {
                break;
            }
            steps.push(format!("{parent} {kind} {dependency}"));
            match self.get(parent) {
                Some(p) => current = p,
                None => break,
            }
        }
        steps.reverse();
        Some(steps)
    }
}

/// Why no closure could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A wanted name no package has or provides.
    #[error("unable to locate package {0}")]
    NotFound(String),
    /// A `name=version` pin no package matches.
    #[error("version {version} of {name} not found; available: {}", list_or_none(.available))]
    NoSuchVersion {
        name: String,
        version: String,
        available: Vec<String>,
    },
    /// A wanted virtual name with several providers, none of them wanted.
    #[error("{name} is a virtual package provided by {}; name one of them", .providers.join(", "))]
    Virtual {
        name: String,
        providers: Vec<String>,
    },
    /// A Depends or Pre-Depends no candidate satisfies, with the chain of
    /// packages from a wanted one down to the one that has it.
    #[error("{} → {dependency}: no candidate satisfies; candidates: {}", .chain.join(" → "), list_or_none(.candidates))]
    Unsatisfiable {
        chain: Vec<String>,
        dependency: String,
        candidates: Vec<String>,
    },
    /// Two packages of the closure conflict (Conflicts or Breaks).
    #[error("{package} {kind} {relation}, but {other} is in the closure too")]
    Conflict {
        package: String,
        kind: String,
        relation: String,
        other: String,
    },
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Resolve the install closure of `wanted` (names, or `name=version`
/// pins) as `apt-get install` would on a system with nothing installed.
pub fn resolve(
    u: &Universe,
    wanted: &[String],
    opts: &ResolveOptions,
) -> Result<Closure, ResolveError> {
    let mut s = Solver {
        u,
        opts: *opts,
        pins: HashMap::new(),
        discarded: HashSet::new(),
        selected: HashMap::new(),
        protected: HashSet::new(),
        reasons: HashMap::new(),
    };
    let roots = s.pick_wanted(wanted)?;
    for &id in &roots {
        let name = u.package(id).name.as_str();
        s.selected.insert(name, id);
        s.protected.insert(name);
        s.reasons.insert(name, Reason::Wanted);
    }
    for &id in &roots {
        if s.broken(id) {
            s.mark_install(id, true, true, Reason::Wanted, 0);
        }
    }
    s.check()?;
    let mut packages: Vec<Selected> = s
        .selected
        .iter()
        .map(|(&name, &id)| {
            let p = u.package(id);
            Selected {
                id,
                name: name.to_string(),
                version: p.version.clone(),
                arch: p.arch.clone(),
                repo: u.repo_name(p.repo).to_string(),
                reason: s.reasons.get(name).cloned().unwrap_or(Reason::Wanted),
            }
        })
        .collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Closure { packages })
}

/// Deeper than any real dependency chain; stops a runaway walk on a
/// pathological universe instead of overflowing the stack.
const MAX_DEPTH: usize = 3000;

struct Solver<'u> {
    u: &'u Universe,
    opts: ResolveOptions,
    /// `name=version` from the wanted list: apt's `SetCandidateVersion`.
    pins: HashMap<&'u str, PkgId>,
    /// Packages whose candidate apt dropped because a Depends of it has no
    /// installable alternative.
    discarded: HashSet<&'u str>,
    selected: HashMap<&'u str, PkgId>,
    protected: HashSet<&'u str>,
    reasons: HashMap<&'u str, Reason>,
}

impl<'u> Solver<'u> {
    fn pick_wanted(&mut self, wanted: &[String]) -> Result<Vec<PkgId>, ResolveError> {
        let plain: HashSet<&str> = wanted
            .iter()
            .map(|w| w.split_once('=').map_or(w.as_str(), |(n, _)| n))
            .collect();
        let mut roots = Vec::new();
        for w in wanted {
            let id = match w.split_once('=') {
                Some((name, version)) => {
                    let versions = self.u.versions_of(name);
                    let id = versions
                        .iter()
                        .copied()
                        .find(|&id| self.u.compare(&self.u.package(id).version, version).is_eq())
                        .ok_or_else(|| ResolveError::NoSuchVersion {
                            name: name.to_string(),
                            version: version.to_string(),
                            available: versions
                                .iter()
                                .map(|&id| self.u.package(id).version.clone())
                                .collect(),
                        })?;
                    self.pins.insert(self.u.package(id).name.as_str(), id);
                    id
                }
                None => match self.u.candidate(w) {
                    Some(id) => id,
                    None => self.wanted_virtual(w, &plain)?,
                },
            };
            if !roots.contains(&id) {
                roots.push(id);
            }
        }
        Ok(roots)
    }

    /// apt selects the only provider of a wanted virtual name and refuses a
    /// name with several; we take the one also wanted by its own name.
    fn wanted_virtual(&self, name: &str, plain: &HashSet<&str>) -> Result<PkgId, ResolveError> {
        let mut providers: Vec<PkgId> = self
            .u
            .providers_of(name)
            .map(|(id, _)| id)
            .filter(|&id| self.candidate(&self.u.package(id).name) == Some(id))
            .collect();
        providers.dedup();
        match providers.as_slice() {
            [] => Err(ResolveError::NotFound(name.to_string())),
            [one] => Ok(*one),
            many => {
                let wanted: Vec<PkgId> = many
                    .iter()
                    .copied()
                    .filter(|&id| plain.contains(self.u.package(id).name.as_str()))
                    .collect();
                match wanted.as_slice() {
                    [one] => Ok(*one),
                    _ => {
                        let mut names: Vec<String> = many
                            .iter()
                            .map(|&id| self.u.package(id).name.clone())
                            .collect();
                        names.sort();
                        Err(ResolveError::Virtual {
                            name: name.to_string(),
                            providers: names,
                        })
                    }
                }
            }
        }
    }

    fn candidate(&self, name: &str) -> Option<PkgId> {
        if self.discarded.contains(name) {
            return None;
        }
        if let Some(&id) = self.pins.get(name) {
            return Some(id);
        }
        self.u.candidate(name)
    }

    fn is_important(&self, kind: DepKind) -> bool {
        kind.is_critical() || self.opts.with_recommends
    }

    /// apt's `DepInstall`: a marked package satisfies the atom.
    fn atom_installed(&self, atom: &Atom) -> bool {
        if let Some(&id) = self.selected.get(atom.name.as_str())
            && self.u.satisfies_directly(id, atom)
        {
            return true;
        }
        self.u.providers_of(&atom.name).any(|(id, provide)| {
            let p = self.u.package(id);
            self.selected.get(p.name.as_str()) == Some(&id)
                && self.u.provide_satisfies(provide, p.multi_arch, atom)
        })
    }

    fn group_installed(&self, group: &Group) -> bool {
        group.0.iter().any(|a| self.atom_installed(a))
    }

    /// apt's `VersionVector::FromDependency(CANDIDATE)`: the named package's
    /// candidate if it satisfies, then each provider whose candidate does.
    fn atom_solutions(&self, atom: &Atom) -> Vec<PkgId> {
        let mut out = Vec::new();
        if let Some(id) = self.candidate(&atom.name)
            && self.u.satisfies_directly(id, atom)
        {
            out.push(id);
        }
        for (id, provide) in self.u.providers_of(&atom.name) {
            let p = self.u.package(id);
            if self.candidate(&p.name) == Some(id)
                && self.u.provide_satisfies(provide, p.multi_arch, atom)
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
        out
    }

    /// apt's `getAllPossibleSolutions`: each alternative's solutions sorted
    /// by `CompareProviders`, concatenated, adjacent duplicates removed.
    fn group_solutions(&self, group: &Group) -> Vec<PkgId> {
        let mut all = Vec::new();
        for atom in &group.0 {
            let mut list = self.atom_solutions(atom);
            list.sort_by(|&a, &b| self.compare_providers(&atom.name, a, b));
            all.extend(list);
        }
        all.dedup();
        all
    }

    /// apt's `CompareProviders`, as an ordering (`Less` = preferred).
    fn compare_providers(&self, target: &str, a: PkgId, b: PkgId) -> std::cmp::Ordering {
        let (pa, pb) = (self.u.package(a), self.u.package(b));
        let prefer = |x: bool, y: bool| y.cmp(&x);
        prefer(
            self.protected.contains(pa.name.as_str()),
            self.protected.contains(pb.name.as_str()),
        )
        .then_with(|| prefer(pa.name == target, pb.name == target))
        .then_with(|| prefer(pa.essential, pb.essential))
        .then_with(|| prefer(pa.important, pb.important))
        .then_with(|| pa.priority_rank.cmp(&pb.priority_rank))
        .then_with(|| {
            self.u
                .mention_rank(&pb.name)
                .cmp(&self.u.mention_rank(&pa.name))
        })
    }

    fn important_groups(&self, id: PkgId) -> impl Iterator<Item = &'u (DepKind, Group)> + '_ {
        self.u
            .package(id)
            .depends
            .iter()
            .filter(|(kind, _)| self.is_important(*kind))
    }

    /// apt's `InstBroken`/`InstPolicyBroken`: an important group is open.
    fn broken(&self, id: PkgId) -> bool {
        self.important_groups(id)
            .any(|(_, g)| !self.group_installed(g))
    }

    /// apt's `IsInstallOkDependenciesSatisfiableByCandidates`.
    fn satisfiable(&self, id: PkgId) -> bool {
        self.u.package(id).depends.iter().all(|(kind, g)| {
            !kind.is_critical()
                || g.0
                    .iter()
                    .any(|a| self.atom_installed(a) || !self.atom_solutions(a).is_empty())
        })
    }

    /// apt's `MarkInstall(Pkg, AutoInst, Depth, FromUser)`.
    fn mark_install(
        &mut self,
        id: PkgId,
        auto_inst: bool,
        from_user: bool,
        reason: Reason,
        depth: usize,
    ) -> bool {
        let u = self.u;
        let p = u.package(id);
        let name = p.name.as_str();
        if depth > MAX_DEPTH || self.candidate(name) != Some(id) {
            return false;
        }
        let protected = self.protected.contains(name);
        if !protected && self.selected.get(name) == Some(&id) && !self.broken(id) {
            return true;
        }
        if auto_inst && !self.satisfiable(id) {
            if !protected {
                self.discarded.insert(name);
            }
            return false;
        }
        let to_install: Vec<&'u (DepKind, Group)> = if auto_inst {
            self.important_groups(id)
                .filter(|(_, g)| protected || !self.group_installed(g))
                .collect()
        } else {
            Vec::new()
        };
        let was_selected = self.selected.insert(name, id).is_some();
        self.reasons.entry(name).or_insert(reason);
        if !auto_inst {
            return true;
        }
        let mut failed = false;
        for (kind, group) in to_install {
            let critical = kind.is_critical();
            let because = Reason::Dependency {
                parent: name.to_string(),
                kind: *kind,
                dependency: group.to_string(),
            };
            if self.group_installed(group) {
                if !protected || !critical {
                    continue;
                }
                let solutions = self.group_solutions(group);
                if let [only] = solutions.as_slice() {
                    let only_name = u.package(*only).name.as_str();
                    if !self.protected.contains(only_name) {
                        self.protected.insert(only_name);
                        if !self.mark_install(*only, true, false, because, depth + 1) {
                            failed = true;
                        }
                    }
                }
                continue;
            }
            let solutions = self.group_solutions(group);
            let mut found = false;
            for &candidate in &solutions {
                if protected && critical && solutions.len() == 1 {
                    if !self.mark_install(candidate, false, false, because.clone(), depth + 1) {
                        continue;
                    }
                    self.protected.insert(u.package(candidate).name.as_str());
                }
                if self.mark_install(candidate, true, false, because.clone(), depth + 1) {
                    found = true;
                    break;
                }
            }
            if !found && critical {
                failed = true;
                if !protected && !from_user {
                    break;
                }
            }
        }
        if failed && !protected && !from_user {
            if !was_selected {
                self.selected.remove(name);
                self.reasons.remove(name);
            }
            return false;
        }
        !failed
    }

    /// The closure must leave no Depends open and no Conflicts/Breaks hit;
    /// the first problem found, in name order, is the error.
    fn check(&self) -> Result<(), ResolveError> {
        let mut names: Vec<&str> = self.selected.keys().copied().collect();
        names.sort_unstable();
        for name in &names {
            let id = self.selected[name];
            let p = self.u.package(id);
            for (kind, group) in &p.depends {
                if kind.is_critical() && !self.group_installed(group) {
                    return Err(self.unsatisfiable(name, group));
                }
            }
            for (kind, group) in &p.conflicts {
                for atom in &group.0 {
                    if let Some(other) = self.conflicting(id, atom) {
                        return Err(ResolveError::Conflict {
                            package: name.to_string(),
                            kind: kind.clone(),
                            relation: atom.to_string(),
                            other,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// A marked package other than `id` itself that `atom` (a Conflicts or
    /// Breaks target) hits, directly or through what it provides.
    fn conflicting(&self, id: PkgId, atom: &Atom) -> Option<String> {
        if let Some(&other) = self.selected.get(atom.name.as_str())
            && other != id
            && self.u.satisfies_directly(other, atom)
        {
            return Some(self.u.package(other).name.clone());
        }
        self.u
            .providers_of(&atom.name)
            .find(|&(other, provide)| {
                let p = self.u.package(other);
                other != id
                    && self.selected.get(p.name.as_str()) == Some(&other)
                    && self.u.provide_satisfies(provide, p.multi_arch, atom)
            })
            .map(|(other, _)| self.u.package(other).name.clone())
    }

    fn unsatisfiable(&self, name: &str, group: &Group) -> ResolveError {
        let mut chain = vec![name.to_string()];
        let mut seen = HashSet::from([name]);
        let mut current = name;
        while let Some(Reason::Dependency { parent, .. }) = self.reasons.get(current) {
            if !seen.insert(parent.as_str()) {
                break;
            }
            chain.push(parent.clone());
            current = parent;
        }
        chain.reverse();
        // With alternatives, say which package each version belongs to.
        let named = group.0.len() > 1;
        let mut candidates = Vec::new();
        for atom in &group.0 {
            for &id in self.u.versions_of(&atom.name) {
                let version = &self.u.package(id).version;
                candidates.push(if named {
                    format!("{} {version}", atom.name)
                } else {
                    version.clone()
                });
            }
            for (id, provide) in self.u.providers_of(&atom.name) {
                let p = self.u.package(id);
                candidates.push(match &provide.version {
                    Some(v) => format!("{} (provides {} = {v})", p.name, atom.name),
                    None => format!("{} (provides {})", p.name, atom.name),
                });
            }
        }
        candidates.dedup();
        ResolveError::Unsatisfiable {
            chain,
            dependency: group.to_string(),
            candidates,
        }
    }
}
