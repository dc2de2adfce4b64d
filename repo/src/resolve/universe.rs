//! The package universe the resolver works on: packages from several
//! repositories, indexed by name and by provided name, with apt's candidate
//! rule. Format-agnostic: versions are text ordered by the comparator of the
//! format the packages came from (dpkg's for Debian).

pub use crate::op::Op;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// Index of a repository in a [`Universe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoId(pub(crate) u32);

/// Index of a package in a [`Universe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PkgId(pub(crate) u32);

/// How a package may be used across architectures (Debian `Multi-Arch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MultiArch {
    /// No field, or `no`.
    #[default]
    No,
    /// `same`: co-installable with itself of other architectures.
    Same,
    /// `foreign`: satisfies dependencies of any architecture.
    Foreign,
    /// `allowed`: dependents may say `name:any`.
    Allowed,
}

/// One alternative of a dependency: a name, an optional architecture
/// qualifier (`any`, `native` or an architecture) and an optional version
/// constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    pub name: String,
    /// The text after `:` in `name:any`.
    pub arch_qualifier: Option<String>,
    /// `(op version)`, the version as written.
    pub constraint: Option<(Op, String)>,
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(q) = &self.arch_qualifier {
            write!(f, ":{q}")?;
        }
        if let Some((op, v)) = &self.constraint {
            write!(f, " ({} {v})", op.deb_symbol())?;
        }
        Ok(())
    }
}

/// Alternatives of one dependency (`a | b (>= 2)`); any one satisfies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group(pub Vec<Atom>);

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// A name a package provides, with the exact version it provides, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provide {
    pub name: String,
    /// The version of `name (= version)`.
    pub version: Option<String>,
}

/// The kinds of positive dependency the resolver follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    /// `Pre-Depends`
    PreDepends,
    /// `Depends`
    Depends,
    /// `Recommends`
    Recommends,
}

impl DepKind {
    /// Pre-Depends and Depends must be satisfied; Recommends may be skipped.
    pub fn is_critical(self) -> bool {
        self != DepKind::Recommends
    }
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DepKind::PreDepends => "Pre-Depends",
            DepKind::Depends => "Depends",
            DepKind::Recommends => "Recommends",
        })
    }
}

/// One package version as the resolver sees it.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    /// The version as written in the index.
    pub version: String,
    /// Its architecture; `all` is usable on every architecture.
    pub arch: String,
    pub repo: RepoId,
    pub multi_arch: MultiArch,
    /// `Essential: yes`; apt prefers essential providers.
    pub essential: bool,
    /// `Important: yes` (or `Protected: yes`); apt prefers them next.
    pub important: bool,
    /// apt's rank of the Debian `Priority` field: 1 required … 5 extra,
    /// 0 when absent. Lower ranks are preferred among providers.
    pub priority_rank: u8,
    pub provides: Vec<Provide>,
    /// Dependencies in the order apt walks them (Pre-Depends, Depends,
    /// Recommends), each group with its kind.
    pub depends: Vec<(DepKind, Group)>,
    /// Conflicts and Breaks (the field name, then the relation), recorded
    /// and checked in the closure.
    pub conflicts: Vec<(String, Group)>,
    /// Where the file lies in its repository and what it must hash to.
    pub filename: String,
    /// Size of the file in bytes.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone)]
struct Repo {
    name: String,
    priority: i32,
}

/// Packages from several repositories for one architecture.
pub struct Universe {
    arch: String,
    repos: Vec<Repo>,
    packages: Vec<Package>,
    /// Every name mentioned, as a package, dependency target or provided
    /// name.
    names: HashMap<String, NameEntry, BuildHasherDefault<NameHasher>>,
    version_order: fn(&str, &str) -> Ordering,
    rules: FormatRules,
}

/// Where the package formats differ in how the universe matches packages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FormatRules {
    /// The architecture usable everywhere: Debian's `all`, RPM's `noarch`.
    pub shared_arch: &'static str,
    /// Whether a provide without a version satisfies versioned
    /// dependencies too: never for Debian (apt), always for RPM (rpm and
    /// libsolv take it as providing every version).
    pub unversioned_provides_any: bool,
}

impl FormatRules {
    /// Debian's rules.
    pub(crate) const DEB: FormatRules = FormatRules {
        shared_arch: "all",
        unversioned_provides_any: false,
    };
}

impl fmt::Debug for Universe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Universe")
            .field("arch", &self.arch)
            .field("repos", &self.repos)
            .field("packages", &self.packages.len())
            .finish()
    }
}

impl Universe {
    /// An empty universe for `arch` whose versions order by `version_order`
    /// (for Debian, `crate::deb::version::compare`).
    pub fn with_order(arch: &str, version_order: fn(&str, &str) -> Ordering) -> Self {
        Universe::with_rules(arch, version_order, FormatRules::DEB)
    }

    pub(crate) fn with_rules(
        arch: &str,
        version_order: fn(&str, &str) -> Ordering,
        rules: FormatRules,
    ) -> Self {
        Universe {
            arch: arch.to_string(),
            repos: Vec::new(),
            packages: Vec::new(),
            names: HashMap::default(),
            version_order,
            rules,
        }
    }

    /// The architecture packages are resolved for.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// Register a repository. `priority` is apt's pin priority: candidates
    /// come from the highest-priority repositories first, whatever their
    /// versions; a negative priority keeps the repository's packages out.
    pub fn add_repo(&mut self, name: &str, priority: i32) -> RepoId {
        self.repos.push(Repo {
            name: name.to_string(),
            priority,
        });
        RepoId(self.repos.len() as u32 - 1)
    }

    /// The name a repository was added with.
    pub fn repo_name(&self, repo: RepoId) -> &str {
        self.repos
            .get(repo.0 as usize)
            .map_or("", |r| r.name.as_str())
    }

    /// Add a package in any format. Packages for other architectures than
    /// the universe's (and `all`, or `noarch` for RPM) are kept but never
    /// chosen.
    pub fn add_package(&mut self, package: Package) -> PkgId {
        let id = PkgId(self.packages.len() as u32);
        let usable = self.usable_arch(&package.arch);
        let entry = self.name(&package.name);
        if usable {
            entry.versions.push(id);
        }
        let dependencies = package.depends.iter().map(|(_, g)| g);
        for group in dependencies.chain(package.conflicts.iter().map(|(_, g)| g)) {
            for atom in &group.0 {
                self.name(&atom.name);
            }
        }
        for (i, p) in package.provides.iter().enumerate() {
            let entry = self.name(&p.name);
            if usable {
                entry.providers.push((id, i));
            }
        }
        self.packages.push(package);
        id
    }

    /// The entry of `name`, made on its first mention.
    fn name(&mut self, name: &str) -> &mut NameEntry {
        // Look up before inserting: most mentions are repeats, and the key
        // would otherwise be allocated every time.
        if !self.names.contains_key(name) {
            let rank = self.names.len() as u32;
            self.names.insert(
                name.to_string(),
                NameEntry {
                    rank,
                    versions: Vec::new(),
                    providers: Vec::new(),
                },
            );
        }
        self.names.get_mut(name).expect("inserted above")
    }

    fn usable_arch(&self, arch: &str) -> bool {
        arch == self.arch || arch == self.rules.shared_arch
    }

    /// Number of packages added (of every architecture).
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether no package was added.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    /// The package `id` refers to. Ids come from this universe; one from
    /// another universe may panic.
    pub fn package(&self, id: PkgId) -> &Package {
        &self.packages[id.0 as usize]
    }

    /// Every usable version of `name`, in the order they were added.
    pub fn versions_of(&self, name: &str) -> &[PkgId] {
        self.names.get(name).map_or(&[], |e| e.versions.as_slice())
    }

    /// Usable packages that provide `name`, with the provided version.
    pub fn providers_of(&self, name: &str) -> impl Iterator<Item = (PkgId, &Provide)> {
        self.names
            .get(name)
            .into_iter()
            .flat_map(|e| &e.providers)
            .map(|&(id, i)| (id, &self.package(id).provides[i]))
    }

    /// The pin priority of the repository a package comes from.
    pub fn priority_of(&self, id: PkgId) -> i32 {
        self.repos
            .get(self.package(id).repo.0 as usize)
            .map_or(0, |r| r.priority)
    }

    /// apt's candidate for `name`: the highest version among the
    /// repositories of the highest priority (priority first, then version;
    /// the first added wins a tie). `None` when no usable version exists.
    pub fn candidate(&self, name: &str) -> Option<PkgId> {
        self.versions_of(name)
            .iter()
            .copied()
            .filter(|&id| self.priority_of(id) >= 0)
            .reduce(|best, id| {
                let by_priority = self.priority_of(id).cmp(&self.priority_of(best));
                let ordering = by_priority.then_with(|| self.compare_versions(id, best));
                if ordering == Ordering::Greater {
                    id
                } else {
                    best
                }
            })
    }

    fn compare_versions(&self, a: PkgId, b: PkgId) -> Ordering {
        (self.version_order)(&self.package(a).version, &self.package(b).version)
    }

    /// Compare two version strings of this universe's format.
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        (self.version_order)(a, b)
    }

    pub(crate) fn mention_rank(&self, name: &str) -> u32 {
        self.names.get(name).map_or(0, |e| e.rank)
    }

    /// Whether package `id` satisfies `atom` by its own name and version.
    pub fn satisfies_directly(&self, id: PkgId, atom: &Atom) -> bool {
        let p = self.package(id);
        if p.name != atom.name || !self.qualifier_accepts(atom, p.multi_arch) {
            return false;
        }
        match &atom.constraint {
            None => true,
            Some((op, v)) => op.satisfied_by(self.compare(&p.version, v)),
        }
    }

    /// Whether `provide` of a package with `multi_arch` satisfies `atom`: an
    /// unversioned Provides satisfies only unversioned dependencies (Debian)
    /// or every dependency on its name (RPM).
    pub fn provide_satisfies(&self, provide: &Provide, multi_arch: MultiArch, atom: &Atom) -> bool {
        if provide.name != atom.name || !self.qualifier_accepts(atom, multi_arch) {
            return false;
        }
        match (&atom.constraint, &provide.version) {
            (None, _) => true,
            (Some(_), None) => self.rules.unversioned_provides_any,
            (Some((op, want)), Some(have)) => op.satisfied_by(self.compare(have, want)),
        }
    }

    /// On a single-architecture system: no qualifier, `native` and the
    /// native architecture match anything usable; `any` needs
    /// `Multi-Arch: allowed` (apt's implicit `name:any` provides); a
    /// foreign architecture matches nothing.
    fn qualifier_accepts(&self, atom: &Atom, multi_arch: MultiArch) -> bool {
        match atom.arch_qualifier.as_deref() {
            None | Some("native") => true,
            Some("any") => multi_arch == MultiArch::Allowed,
            Some(arch) => arch == self.arch,
        }
    }
}

/// What the universe knows under one name.
#[derive(Debug)]
struct NameEntry {
    /// Order of first mention: apt's package ids follow it, and apt breaks
    /// ties between equally good providers by preferring the later id.
    rank: u32,
    /// Packages of this name usable on the architecture, in the order added.
    versions: Vec<PkgId>,
    /// Usable packages that provide it: (package, index in its provides).
    providers: Vec<(PkgId, usize)>,
}

/// FxHash (as in rustc): package names are short and come from signed
/// indexes, so a fast non-cryptographic hash is safe and halves load time
/// against SipHash.
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
