//! Recipes: what a bundle for one target OS is made of.
//!
//! A recipe (`recipes/<os>.yml`) names the upstream repositories a bundle is
//! resolved from, by role (`${mirror.debian}`), and the package sets of each
//! Pigsty module and extension category. It is data: the resolver, fetcher and
//! bundle writer read it; nothing here touches the network.
//!
//! Unknown keys are errors that name the file, the line and the YAML path
//! (`recipes/d12.yml:14:5: upstream[2].suit: unknown field ...`), so a typo
//! cannot silently drop a repository or a package set.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// Selector prefix that picks one extension category (`ext:gis`).
const EXT_PREFIX: &str = "ext:";
/// Selector that picks every extension category.
const EXT_ALL: &str = "ext";

/// One target OS: upstream repositories, module package sets and extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Target OS code as Pigsty spells it: `d12`, `d13`, `el9`.
    pub os: String,
    /// Target architecture, `x86_64`.
    pub arch: String,
    /// Bundle version, e.g. `v3.6.0`; part of the bundle file name.
    pub version: String,
    /// Package format of the target OS.
    pub kind: PackageKind,
    /// Upstream repositories the bundle is resolved from.
    pub upstream: Vec<Upstream>,
    /// Module name (`node`, `infra`, `pgsql`, …) → package names.
    pub modules: BTreeMap<String, Vec<String>>,
    /// Extension category (`gis`, `time`, `fdw`, …) → package names.
    #[serde(default)]
    pub extensions: BTreeMap<String, Vec<String>>,
}

/// Package format of a target OS or an upstream repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// Debian `.deb` packages in an APT repository.
    Deb,
    /// `.rpm` packages in a `repodata/` repository.
    Rpm,
}

impl fmt::Display for PackageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PackageKind::Deb => "deb",
            PackageKind::Rpm => "rpm",
        })
    }
}

/// One upstream repository, named by role; its host comes from the mirror
/// configuration at build time, never from the recipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Short unique name (`debian`, `pgdg17`, `pigsty-infra`).
    pub name: String,
    /// Repository format; must match the recipe's `kind`.
    pub kind: PackageKind,
    /// Who publishes it, for third-party repositories in particular.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// APT archive root template (deb only), e.g. `${mirror.debian}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// APT suites (deb only), e.g. `bookworm`, `bookworm-updates`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suites: Vec<String>,
    /// APT components (deb only), e.g. `main`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Template of the directory holding `repodata/` (rpm only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseurl: Option<String>,
    /// OpenPGP keyring that signs the repository: a file relative to the
    /// recipe directory (`keys/pgdg.asc`) or an absolute system path.
    pub keyring: String,
    /// Preference when several upstreams offer a package, like an apt pin:
    /// the higher wins.
    #[serde(default = "default_priority")]
    pub priority: i32,
    /// Not part of the target distribution: packages the OS lacks.
    #[serde(default)]
    pub third_party: bool,
}

fn default_priority() -> i32 {
    500
}

/// A package a selection asks for, and the module or extension category
/// (`ext:<category>`) that asked for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Wanted {
    /// Package name as the target OS spells it.
    pub name: String,
    /// Module name, or `ext:<category>` for an extension category.
    pub module: String,
}

impl Recipe {
    /// Read and check a recipe file.
    pub fn load(path: &Path) -> Result<Recipe> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading recipe {}", path.display()))?;
        Recipe::parse(&text, &path.display().to_string())
    }

    /// Parse and check recipe text; `input` names it in errors.
    pub fn parse(text: &str, input: &str) -> Result<Recipe> {
        let recipe: Recipe =
            serde_saphyr::from_str(text).map_err(|e| yaml_error(text, input, &e))?;
        recipe
            .check()
            .map_err(|e| anyhow::anyhow!("{input}: {e}"))?;
        Ok(recipe)
    }

    /// Packages picked by `selectors`: module names, `ext:<category>`, or
    /// `ext` for every extension category; no selector means every module
    /// (without extensions). Order follows the selectors, then the file. A
    /// package named by two selected sets appears once per set, so callers
    /// can record every module that wants it.
    pub fn packages(&self, selectors: &[String]) -> Result<Vec<Wanted>> {
        let mut sets: Vec<(String, &Vec<String>)> = Vec::new();
        if selectors.is_empty() {
            sets.extend(self.modules.iter().map(|(m, p)| (m.clone(), p)));
        }
        for selector in selectors {
            if selector == EXT_ALL {
                sets.extend(
                    self.extensions
                        .iter()
                        .map(|(c, p)| (format!("{EXT_PREFIX}{c}"), p)),
                );
            } else if let Some(category) = selector.strip_prefix(EXT_PREFIX) {
                let Some(packages) = self.extensions.get(category) else {
                    bail!(
                        "unknown selector {selector:?}; valid selectors: {}",
                        self.selectors().join(", ")
                    );
                };
                sets.push((selector.clone(), packages));
            } else if let Some(packages) = self.modules.get(selector) {
                sets.push((selector.clone(), packages));
            } else {
                bail!(
                    "unknown selector {selector:?}; valid selectors: {}",
                    self.selectors().join(", ")
                );
            }
        }
        let mut seen = BTreeSet::new();
        let mut wanted = Vec::new();
        for (module, packages) in sets {
            for name in packages {
                let w = Wanted {
                    name: name.clone(),
                    module: module.clone(),
                };
                if seen.insert(w.clone()) {
                    wanted.push(w);
                }
            }
        }
        Ok(wanted)
    }

    /// Every valid selector: module names, `ext`, and `ext:<category>`.
    pub fn selectors(&self) -> Vec<String> {
        let mut all: Vec<String> = self.modules.keys().cloned().collect();
        if !self.extensions.is_empty() {
            all.push(EXT_ALL.to_string());
        }
        all.extend(self.extensions.keys().map(|c| format!("{EXT_PREFIX}{c}")));
        all
    }

    /// The upstream called `name`.
    pub fn upstream(&self, name: &str) -> Option<&Upstream> {
        self.upstream.iter().find(|u| u.name == name)
    }

    /// Where `upstream`'s keyring is: absolute paths as given, others
    /// relative to the directory holding the recipe.
    pub fn keyring_path(&self, upstream: &Upstream, recipe_dir: &Path) -> PathBuf {
        let keyring = Path::new(&upstream.keyring);
        if keyring.is_absolute() {
            keyring.to_path_buf()
        } else {
            recipe_dir.join(keyring)
        }
    }

    /// File name of the bundle: `pigsty-pkg-<version>.<os>.<arch>.tgz`.
    pub fn bundle_name(&self) -> String {
        format!("pigsty-pkg-{}.{}.{}.tgz", self.version, self.os, self.arch)
    }

    /// Rules serde cannot express: formats agree, deb and rpm upstreams
    /// carry their own fields, names are unique and plausible.
    fn check(&self) -> Result<()> {
        for (field, value) in [
            ("os", &self.os),
            ("arch", &self.arch),
            ("version", &self.version),
        ] {
            if !is_token(value) {
                bail!("{field}: {value:?} must be a non-empty word without spaces or '/'");
            }
        }
        if self.upstream.is_empty() {
            bail!("upstream: at least one repository is needed");
        }
        let mut names = BTreeSet::new();
        for (i, up) in self.upstream.iter().enumerate() {
            let place = format!("upstream[{i}] ({})", up.name);
            if !is_token(&up.name) {
                bail!("upstream[{i}].name: {:?} must be a non-empty word", up.name);
            }
            if !names.insert(up.name.as_str()) {
                bail!("{place}: duplicate upstream name");
            }
            if up.kind != self.kind {
                bail!(
                    "{place}: kind {} differs from the recipe's kind {}",
                    up.kind,
                    self.kind
                );
            }
            match up.kind {
                PackageKind::Deb => {
                    if up.url.is_none() || up.suites.is_empty() || up.components.is_empty() {
                        bail!("{place}: a deb upstream needs url, suites and components");
                    }
                    if up.baseurl.is_some() {
                        bail!("{place}: baseurl is for rpm upstreams; use url, suites, components");
                    }
                }
                PackageKind::Rpm => {
                    if up.baseurl.is_none() {
                        bail!("{place}: an rpm upstream needs baseurl");
                    }
                    if up.url.is_some() || !up.suites.is_empty() || !up.components.is_empty() {
                        bail!(
                            "{place}: url, suites and components are for deb upstreams; use baseurl"
                        );
                    }
                }
            }
            mirror_refs(up.url_template()).map_err(|e| anyhow::anyhow!("{place}: {e}"))?;
            if up.keyring.is_empty() {
                bail!("{place}: keyring is empty");
            }
        }
        if self.modules.is_empty() {
            bail!("modules: at least one module is needed");
        }
        for (section, sets) in [("modules", &self.modules), ("extensions", &self.extensions)] {
            for (set, packages) in sets {
                if !is_token(set) || set.contains(':') {
                    bail!("{section}.{set}: name must be a word without ':'");
                }
                if packages.is_empty() {
                    bail!("{section}.{set}: empty package list");
                }
                let mut seen = BTreeSet::new();
                for (i, p) in packages.iter().enumerate() {
                    if !is_package_name(p) {
                        bail!("{section}.{set}[{i}]: {p:?} is not a package name");
                    }
                    if !seen.insert(p) {
                        bail!("{section}.{set}[{i}]: {p} listed twice");
                    }
                }
            }
        }
        Ok(())
    }
}

impl Upstream {
    /// The URL template (`url` for deb, `baseurl` for rpm), with
    /// `${mirror.NAME}` references for the caller to expand.
    pub fn url_template(&self) -> &str {
        self.url
            .as_deref()
            .or(self.baseurl.as_deref())
            .unwrap_or_default()
    }

    /// Mirror names the URL template refers to (`debian` for
    /// `${mirror.debian}`), in order of appearance.
    pub fn mirror_refs(&self) -> Vec<&str> {
        mirror_refs(self.url_template()).unwrap_or_default()
    }
}

/// The `NAME`s of `${mirror.NAME}` in `template`; any other `${` is an error.
fn mirror_refs(template: &str) -> Result<Vec<&str>> {
    let mut refs = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            bail!("unterminated ${{ in url template {template:?}");
        };
        let Some(name) = after[..end].strip_prefix("mirror.") else {
            bail!("url template {template:?}: only ${{mirror.NAME}} may be used");
        };
        if !is_token(name) {
            bail!("url template {template:?}: bad mirror name {name:?}");
        }
        refs.push(name);
        rest = &after[end + 1..];
    }
    Ok(refs)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c.is_control())
}

/// Debian and RPM package names: letters, digits and `+-._`.
fn is_package_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-._".contains(c))
}

/// `input:line:column: yaml.path: message` for a serde-saphyr error.
fn yaml_error(text: &str, input: &str, err: &serde_saphyr::Error) -> anyhow::Error {
    let message = message_without_location(err);
    let Some(loc) = err.location().filter(|l| l.line() > 0) else {
        return anyhow::anyhow!("{input}: {message}");
    };
    let at = format!("{input}:{}:{}", loc.line(), loc.column());
    match yaml_path_at(text, loc.line(), loc.column()) {
        Some(path) if !path.is_empty() => anyhow::anyhow!("{at}: {path}: {message}"),
        _ => anyhow::anyhow!("{at}: {message}"),
    }
}

/// The error's own message, without the location and snippet serde-saphyr
/// appends (we print the location ourselves, in `file:line:col` form).
fn message_without_location(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

/// YAML document tree with key and item positions, used only to turn an
/// error position into a path like `upstream[2].suit`.
enum Node {
    Map(Vec<(Spanned<Scalar>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

/// A scalar rendered as text (a map key, for the path).
struct Scalar(String);

/// The path of the deepest key or item that starts at or before
/// (`line`, `column`) in `text`, if the text parses as YAML.
fn yaml_path_at(text: &str, line: u64, column: u64) -> Option<String> {
    let root: Node = serde_saphyr::from_str(text).ok()?;
    let mut path = String::new();
    let mut node = &root;
    let before = |l: &serde_saphyr::Location| (l.line(), l.column()) <= (line, column);
    loop {
        match node {
            Node::Map(entries) => {
                let (key, value) = entries.iter().rev().find(|(k, _)| before(&k.referenced))?;
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.value.0);
                if key.referenced.line() == line && key.referenced.column() == column {
                    return Some(path);
                }
                node = &value.value;
            }
            Node::Seq(items) => {
                let Some((i, item)) = items
                    .iter()
                    .enumerate()
                    .rev()
                    .find(|(_, v)| before(&v.referenced))
                else {
                    return Some(path);
                };
                path.push_str(&format!("[{i}]"));
                node = &item.value;
            }
            Node::Scalar => return Some(path),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(NodeVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar("null".to_string()))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "\
os: d12
arch: x86_64
version: v3.6.0
kind: deb
upstream:
  - name: debian
    kind: deb
    url: ${mirror.debian}
    suites: [bookworm, bookworm-updates]
    components: [main]
    keyring: /usr/share/keyrings/debian-archive-keyring.gpg
  - name: extra
    kind: deb
    url: ${mirror.extra}/debian
    suites: [bookworm]
    components: [main]
    keyring: keys/extra.asc
    priority: 100
    third_party: true
modules:
  node: [chrony, haproxy]
  infra: [nginx, chrony]
extensions:
  gis: [postgresql-15-postgis-3]
  time: [postgresql-15-cron]
";

    fn selectors(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_minimal_recipe() {
        let r = Recipe::parse(MINIMAL, "t.yml").unwrap();
        assert_eq!(r.bundle_name(), "pigsty-pkg-v3.6.0.d12.x86_64.tgz");
        assert_eq!(r.upstream[0].priority, 500);
        assert_eq!(r.upstream[1].mirror_refs(), vec!["extra"]);
        assert_eq!(r.upstream[1].url_template(), "${mirror.extra}/debian");
        let dir = Path::new("/r");
        assert_eq!(
            r.keyring_path(&r.upstream[1], dir),
            Path::new("/r/keys/extra.asc")
        );
        assert_eq!(
            r.keyring_path(&r.upstream[0], dir),
            Path::new("/usr/share/keyrings/debian-archive-keyring.gpg")
        );
    }

    #[test]
    fn selects_modules_and_extensions() {
        let r = Recipe::parse(MINIMAL, "t.yml").unwrap();
        let names = |w: Vec<Wanted>| {
            w.into_iter()
                .map(|w| format!("{}@{}", w.name, w.module))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(r.packages(&[]).unwrap()),
            ["nginx@infra", "chrony@infra", "chrony@node", "haproxy@node"]
        );
        assert_eq!(
            names(r.packages(&selectors(&["node", "ext:gis"])).unwrap()),
            [
                "chrony@node",
                "haproxy@node",
                "postgresql-15-postgis-3@ext:gis"
            ]
        );
        assert_eq!(r.packages(&selectors(&["ext"])).unwrap().len(), 2);
        let err = r
            .packages(&selectors(&["ext:nope"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"ext:nope\"") && err.contains("infra, node, ext, ext:gis, ext:time"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_yaml_path_and_line() {
        let text = MINIMAL.replace("    suites: [bookworm]\n", "    suit: [bookworm]\n");
        let err = Recipe::parse(&text, "recipes/d12.yml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("recipes/d12.yml:15:5: upstream[1].suit: unknown field"),
            "{err}"
        );
        assert!(err.contains("suites"), "{err}");
    }

    #[test]
    fn wrong_type_names_path() {
        let text = MINIMAL.replace("    priority: 100\n", "    priority: high\n");
        let err = Recipe::parse(&text, "d.yml").unwrap_err().to_string();
        assert!(
            err.starts_with("d.yml:18:") && err.contains("upstream[1].priority"),
            "{err}"
        );
    }

    #[test]
    fn semantic_checks() {
        let cases = [
            (
                "    kind: deb\n    url: ${mirror.extra}",
                "    kind: rpm\n    url: ${mirror.extra}",
                "differs",
            ),
            (
                "url: ${mirror.debian}\n",
                "url: ${debian}\n",
                "only ${mirror.NAME}",
            ),
            (
                "  infra: [nginx, chrony]",
                "  infra: [nginx, nginx]",
                "modules.infra[1]: nginx listed twice",
            ),
            (
                "  - name: extra",
                "  - name: debian",
                "duplicate upstream name",
            ),
            (
                "    components: [main]\n    keyring: keys",
                "    keyring: keys",
                "needs url, suites and components",
            ),
        ];
        for (from, to, want) in cases {
            let text = MINIMAL.replacen(from, to, 1);
            assert_ne!(text, MINIMAL, "{from}");
            let err = Recipe::parse(&text, "t.yml").unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn syntax_error_has_line() {
        let err = Recipe::parse("os: d12\narch: [x86_64\n", "t.yml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yml:"), "{err}");
    }
}
