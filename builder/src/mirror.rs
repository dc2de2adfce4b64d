//! Upstream mirrors by role: `debian`, `debian-security`, `pgdg`, `grafana`, …
//!
//! A recipe names a repository by role (`${mirror.debian}/dists/…`); the base
//! URL comes from, in order of precedence, a `--mirror NAME=URL` flag, a
//! `PIG_MIRROR_<NAME>` environment variable, or the build host's own apt
//! sources. No mirror host name is written into pig itself.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use pig_repo::deb::control;

/// Prefix of the environment variables that set a mirror.
pub const ENV_PREFIX: &str = "PIG_MIRROR_";

/// Where a mirror's URL came from, for messages such as `pig-build mirrors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorOrigin {
    /// A `--mirror NAME=URL` flag.
    Flag,
    /// The named `PIG_MIRROR_*` environment variable.
    Env(String),
    /// An apt source entry at this file and 1-based line.
    Apt { file: PathBuf, line: usize },
}

impl fmt::Display for MirrorOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MirrorOrigin::Flag => f.write_str("--mirror"),
            MirrorOrigin::Env(var) => write!(f, "${var}"),
            MirrorOrigin::Apt { file, line } => write!(f, "{}:{line}", file.display()),
        }
    }
}

/// Base URLs of upstream repositories, keyed by role name. URLs are kept
/// without a trailing `/`, so templates write `${mirror.debian}/dists/…`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    map: BTreeMap<String, (String, MirrorOrigin)>,
}

impl Mirrors {
    /// Mirrors from `--mirror NAME=URL` flags, then `PIG_MIRROR_<NAME>`
    /// variables in `env` (`PIG_MIRROR_DEBIAN_SECURITY` sets `debian-security`;
    /// empty values are ignored, as an unset variable), then the apt sources
    /// under `apt_root` (`/` normally). Earlier sources win. Pass the process
    /// environment as `std::env::vars_os()` with non-UTF-8 entries dropped,
    /// since `std::env::vars()` panics on them.
    pub fn discover(
        flags: &[String],
        env: impl IntoIterator<Item = (String, String)>,
        apt_root: &Path,
    ) -> Result<Mirrors> {
        let mut mirrors = Mirrors::from_host(apt_root)?;
        let mut from_env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, v)| k.starts_with(ENV_PREFIX) && !v.is_empty())
            .collect();
        // Sorted so that two variables naming one mirror (`PIG_MIRROR_A_B` and
        // `PIG_MIRROR_A-B`) resolve the same way every run.
        from_env.sort();
        for (var, value) in from_env {
            let raw = &var[ENV_PREFIX.len()..];
            let name = normalise_name(raw)
                .with_context(|| format!("environment variable {var}: bad mirror name"))?;
            let url = check_url(&value).with_context(|| format!("environment variable {var}"))?;
            mirrors.map.insert(name, (url, MirrorOrigin::Env(var)));
        }
        for flag in flags {
            let (name, url) = parse_flag(flag)?;
            mirrors.map.insert(name, (url, MirrorOrigin::Flag));
        }
        Ok(mirrors)
    }

    /// Mirrors inferred from the apt sources under `apt_root`:
    /// `debian` from the first `deb` entry for the release's codename with the
    /// `main` component, `debian-security` from the first `<codename>-security`
    /// entry. The codename is `VERSION_CODENAME` from `os-release`, or, without
    /// one, the first plain suite with `main`. No sources means no mirrors.
    pub fn from_host(apt_root: &Path) -> Result<Mirrors> {
        let entries = read_apt_sources(apt_root)?;
        let codename = os_codename(apt_root)?.or_else(|| {
            entries
                .iter()
                .find(|e| !e.suite.contains(['-', '/']) && e.has_main())
                .map(|e| e.suite.clone())
        });
        let mut mirrors = Mirrors::default();
        let Some(codename) = codename else {
            return Ok(mirrors);
        };
        let security = format!("{codename}-security");
        for e in &entries {
            // apt writes local repositories as `file:/srv/repo`; other
            // methods (`cdrom:`, `mirror+http:`) are not something we fetch.
            let uri = match e.uri.strip_prefix("file:") {
                Some(path) if !path.starts_with("//") => format!("file://{path}"),
                _ => e.uri.clone(),
            };
            let Ok(uri) = check_url(&uri) else {
                continue;
            };
            let role = if e.suite == codename && e.has_main() {
                "debian"
            } else if e.suite == security {
                "debian-security"
            } else {
                continue;
            };
            mirrors.map.entry(role.to_string()).or_insert_with(|| {
                let origin = MirrorOrigin::Apt {
                    file: e.file.clone(),
                    line: e.line,
                };
                (uri, origin)
            });
        }
        Ok(mirrors)
    }

    /// The base URL of mirror `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(|(url, _)| url.as_str())
    }

    /// Where mirror `name`'s URL came from.
    pub fn origin(&self, name: &str) -> Option<&MirrorOrigin> {
        self.map.get(name).map(|(_, origin)| origin)
    }

    /// Set mirror `name` (normalised as a flag's name) to `url`.
    pub fn set(&mut self, name: &str, url: &str, origin: MirrorOrigin) -> Result<()> {
        let name = normalise_name(name)?;
        let url = check_url(url)?;
        self.map.insert(name, (url, origin));
        Ok(())
    }

    /// All mirrors in name order: `(name, url, origin)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &MirrorOrigin)> {
        self.map
            .iter()
            .map(|(name, (url, origin))| (name.as_str(), url.as_str(), origin))
    }

    /// `template` with every `${mirror.NAME}` replaced by that mirror's URL.
    /// Other `${…}` text is left as it is for the caller's own variables.
    pub fn expand(&self, template: &str) -> Result<String> {
        const OPEN: &str = "${mirror.";
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find(OPEN) {
            out.push_str(&rest[..start]);
            let after = &rest[start + OPEN.len()..];
            let Some(end) = after.find('}') else {
                bail!("{template:?}: `{OPEN}` without a closing `}}`");
            };
            let name = &after[..end];
            match self.get(name) {
                Some(url) => out.push_str(url),
                None => bail!(
                    "{template:?} uses mirror `{name}`, which is not set: give \
                     `--mirror {name}=URL` or set {}",
                    env_var_name(name)
                ),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The environment variable that sets mirror `name`: `debian-security` →
/// `PIG_MIRROR_DEBIAN_SECURITY`.
pub fn env_var_name(name: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// Mirror names are lower case, with `-` between words; `_` and upper case
/// are accepted (they are how an environment variable spells the same name).
fn normalise_name(raw: &str) -> Result<String> {
    let name = raw.to_ascii_lowercase().replace('_', "-");
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if name.is_empty() || !valid || name.starts_with('-') || name.ends_with('-') {
        bail!("mirror name {raw:?} must be letters, digits and `-` (like `debian-security`)");
    }
    Ok(name)
}

/// A URL we can fetch from, without its trailing `/`.
fn check_url(url: &str) -> Result<String> {
    let url = url.trim();
    let known = ["http://", "https://", "file://"];
    match known.iter().find(|p| url.starts_with(**p)) {
        Some(p) if url.len() > p.len() => Ok(url.trim_end_matches('/').to_string()),
        _ => bail!("mirror URL {url:?} must start with http://, https:// or file://"),
    }
}

fn parse_flag(flag: &str) -> Result<(String, String)> {
    let Some((name, url)) = flag.split_once('=') else {
        bail!("--mirror {flag:?}: expected NAME=URL, like `pgdg=https://mirror.example/pgdg`");
    };
    let name = normalise_name(name).with_context(|| format!("--mirror {flag:?}"))?;
    let url = check_url(url).with_context(|| format!("--mirror {flag:?}"))?;
    Ok((name, url))
}

/// One `deb` line of an apt source, reduced to what mirror discovery needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AptEntry {
    uri: String,
    suite: String,
    components: Vec<String>,
    file: PathBuf,
    line: usize,
}

impl AptEntry {
    fn has_main(&self) -> bool {
        self.components.iter().any(|c| c == "main")
    }
}

/// Entries of `etc/apt/sources.list` and then `etc/apt/sources.list.d/*.list`
/// and `*.sources` in file-name order, as apt reads them. Files with other
/// suffixes (`.disabled`, `.save`) are skipped, as apt skips them.
fn read_apt_sources(apt_root: &Path) -> Result<Vec<AptEntry>> {
    let apt = apt_root.join("etc/apt");
    let mut files = vec![apt.join("sources.list")];
    let dir = apt.join("sources.list.d");
    match fs::read_dir(&dir) {
        Ok(read) => {
            let mut found = Vec::new();
            for entry in read {
                let path = entry
                    .with_context(|| format!("reading {}", dir.display()))?
                    .path();
                let ext = path.extension().and_then(|e| e.to_str());
                if matches!(ext, Some("list" | "sources")) {
                    found.push(path);
                }
            }
            found.sort();
            files.extend(found);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    }
    let mut entries = Vec::new();
    for file in files {
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        if file.extension().is_some_and(|e| e == "sources") {
            entries.extend(parse_deb822(&text, &file)?);
        } else {
            entries.extend(parse_one_line(&text, &file)?);
        }
    }
    Ok(entries)
}

/// One-line format: `deb [opt=val …] URI SUITE [COMPONENT …]`.
fn parse_one_line(text: &str, file: &Path) -> Result<Vec<AptEntry>> {
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let place = || format!("{}:{line_no}", file.display());
        let mut words = line.split_whitespace();
        let kind = words.next().unwrap_or("");
        if kind != "deb" && kind != "deb-src" {
            bail!("{}: expected `deb` or `deb-src`, found {kind:?}", place());
        }
        let mut rest: Vec<&str> = words.collect();
        if rest.first().is_some_and(|w| w.starts_with('[')) {
            // Options run to the word that closes the bracket: `[ arch=amd64 ]`.
            let Some(close) = rest.iter().position(|w| w.ends_with(']')) else {
                bail!("{}: `[` of the options is never closed", place());
            };
            rest.drain(..=close);
        }
        let [uri, suite, components @ ..] = rest.as_slice() else {
            bail!("{}: expected a URI and a suite after `{kind}`", place());
        };
        if kind == "deb" {
            entries.push(AptEntry {
                uri: uri.to_string(),
                suite: suite.to_string(),
                components: components.iter().map(|c| c.to_string()).collect(),
                file: file.to_path_buf(),
                line: line_no,
            });
        }
    }
    Ok(entries)
}

/// deb822 format: paragraphs with `Types`, `URIs`, `Suites`, `Components`
/// and optionally `Enabled: no`. Each URI × suite pair is one entry.
fn parse_deb822(text: &str, file: &Path) -> Result<Vec<AptEntry>> {
    let input = file.display().to_string();
    let mut entries = Vec::new();
    for para in control::parse(text, &input)? {
        let words = |name: &str| -> Vec<String> {
            para.get(name)
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default()
        };
        if para
            .get("Enabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("no"))
        {
            continue;
        }
        let types = words("Types");
        if types.is_empty() {
            bail!("{input}:{}: source has no Types field", para.line);
        }
        if !types.iter().any(|t| t == "deb") {
            continue;
        }
        let uris = words("URIs");
        let suites = words("Suites");
        if uris.is_empty() || suites.is_empty() {
            bail!("{input}:{}: source needs both URIs and Suites", para.line);
        }
        let components = words("Components");
        for uri in &uris {
            for suite in &suites {
                entries.push(AptEntry {
                    uri: uri.clone(),
                    suite: suite.clone(),
                    components: components.clone(),
                    file: file.to_path_buf(),
                    line: para.line,
                });
            }
        }
    }
    Ok(entries)
}

/// `VERSION_CODENAME` from `etc/os-release`, else `usr/lib/os-release`.
fn os_codename(root: &Path) -> Result<Option<String>> {
    for rel in ["etc/os-release", "usr/lib/os-release"] {
        let path = root.join(rel);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let codename = text.lines().find_map(|l| {
            let value = l.trim().strip_prefix("VERSION_CODENAME=")?;
            let value = value.trim().trim_matches(['"', '\'']);
            (!value.is_empty()).then(|| value.to_string())
        });
        return Ok(codename);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirrors(pairs: &[(&str, &str)]) -> Mirrors {
        let mut m = Mirrors::default();
        for (name, url) in pairs {
            m.set(name, url, MirrorOrigin::Flag).unwrap();
        }
        m
    }

    #[test]
    fn one_line_entries_with_options_and_comments() {
        let text = "# header\n\
                    deb [ arch=amd64 signed-by=/k.asc ] http://a.example.invalid/d bookworm main contrib\n\
                    deb-src http://a.example.invalid/d bookworm main\n\
                    deb [trusted=yes] file:/srv/r ./ # local\n";
        let got = parse_one_line(text, Path::new("x.list")).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].uri, "http://a.example.invalid/d");
        assert_eq!(got[0].suite, "bookworm");
        assert_eq!(got[0].components, ["main", "contrib"]);
        assert_eq!(got[0].line, 2);
        assert_eq!(got[1].suite, "./");
        assert!(got[1].components.is_empty());
    }

    #[test]
    fn one_line_errors_name_file_and_line() {
        for bad in ["deb\n", "rpm http://x y\n", "deb [arch=amd64 http://x y\n"] {
            let err = parse_one_line(&format!("\n{bad}"), Path::new("s.list")).unwrap_err();
            assert!(err.to_string().starts_with("s.list:2:"), "{err}");
        }
    }

    #[test]
    fn deb822_entries_expand_uris_and_suites() {
        let text = "Types: deb deb-src\nURIs: http://a.example.invalid/d\n\
                    Suites: trixie trixie-updates\nComponents: main\n\n\
                    Types: deb\nURIs: http://b.example.invalid/x\nSuites: trixie\nEnabled: no\n\n\
                    Types: deb-src\nURIs: http://c.example.invalid/x\nSuites: trixie\n";
        let got = parse_deb822(text, Path::new("d.sources")).unwrap();
        let pairs: Vec<_> = got
            .iter()
            .map(|e| (e.uri.as_str(), e.suite.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("http://a.example.invalid/d", "trixie"),
                ("http://a.example.invalid/d", "trixie-updates")
            ]
        );
        let err = parse_deb822("URIs: http://x\n", Path::new("d.sources")).unwrap_err();
        assert!(err.to_string().contains("d.sources:1"), "{err}");
    }

    #[test]
    fn expand_replaces_known_and_names_unknown() {
        let m = mirrors(&[
            ("debian", "http://127.0.0.1:1/debian/"),
            ("pgdg", "file:///srv/pgdg"),
        ]);
        assert_eq!(
            m.expand("${mirror.debian}/dists/${arch}/${mirror.pgdg}")
                .unwrap(),
            "http://127.0.0.1:1/debian/dists/${arch}/file:///srv/pgdg"
        );
        let err = m
            .expand("${mirror.debian-security}/x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`debian-security`"), "{err}");
        assert!(err.contains("--mirror debian-security=URL"), "{err}");
        assert!(err.contains("PIG_MIRROR_DEBIAN_SECURITY"), "{err}");
        assert!(m.expand("${mirror.debian").is_err());
    }

    #[test]
    fn flag_syntax() {
        assert_eq!(
            parse_flag("Debian_Security=http://h.example.invalid/ds/").unwrap(),
            (
                "debian-security".into(),
                "http://h.example.invalid/ds".into()
            )
        );
        for bad in [
            "debian",
            "=http://x",
            "debian=",
            "debian=ftp://x",
            "de bian=http://x",
            "-x=http://y",
        ] {
            assert!(parse_flag(bad).is_err(), "{bad}");
        }
    }
}
