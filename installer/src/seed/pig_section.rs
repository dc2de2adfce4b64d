//! The `pig:` section of a seed: what pig adds to a Pigsty inventory.
//!
//! ```yaml
//! pig:
//!   format: 1
//!   bundle: sha256:…          # optional: the bundle this seed was made for
//!   ca: { cert: "-----BEGIN CERTIFICATE-----…", key: "-----BEGIN PRIVATE KEY-----…" }
//!   secrets: { pg_admin_password: …, patroni_password: … }
//! ```
//!
//! It holds the cluster CA's private key and every generated password, so
//! a seed file is a secret: `seed init` writes it with mode 0600.

use super::defaults;
use super::error::Problem;
use super::yaml::{Node, Value};

/// The seed format this pig-install reads and writes.
pub const FORMAT: i64 = 1;

/// The cluster CA, PEM-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPem {
    /// The self-signed CA certificate.
    pub cert: String,
    /// Its private key (PKCS#8).
    pub key: String,
}

/// The parsed `pig:` section; empty for a plain Pigsty inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PigSection {
    /// `format`, `None` when there is no `pig:` section.
    pub format: Option<i64>,
    /// Digest of the bundle the seed was made for.
    pub bundle: Option<String>,
    /// The cluster CA.
    pub ca: Option<CaPem>,
    secrets: Vec<(String, String)>,
}

impl PigSection {
    /// Generated secrets by parameter name, in file order.
    pub fn secrets(&self) -> &[(String, String)] {
        &self.secrets
    }

    /// Check and read the section at YAML path `pig`, adding any problems.
    pub fn parse(node: &Node, problems: &mut Vec<Problem>) -> PigSection {
        let mut out = PigSection::default();
        let mut format_seen = false;
        let mut problem = |path: String, line: u64, message: String| {
            problems.push(Problem {
                path,
                line,
                message,
            })
        };
        let Some(entries) = node.as_map() else {
            problem("pig".into(), node.line, "expected a mapping".into());
            return out;
        };
        for (key, value) in entries {
            let path = format!("pig.{key}");
            format_seen |= key == "format";
            match key.as_str() {
                "format" => match value.as_int() {
                    Some(FORMAT) => out.format = Some(FORMAT),
                    _ => problem(
                        path,
                        value.line,
                        format!(
                            "unsupported seed format {}; this pig-install reads format {FORMAT}",
                            value.value
                        ),
                    ),
                },
                "bundle" => match value.as_str() {
                    Some(d) if is_digest(d) => out.bundle = Some(d.to_string()),
                    _ => problem(
                        path,
                        value.line,
                        format!("expected sha256:<64 hex digits>, found {}", value.value),
                    ),
                },
                "ca" => out.ca = parse_ca(value, &mut problem),
                "secrets" => {
                    for (name, secret) in value.as_map().unwrap_or_default() {
                        let secret_path = format!("pig.secrets.{name}");
                        let known = defaults::spec(name).is_some_and(|s| s.secret);
                        match secret.as_str() {
                            _ if !known => problem(
                                secret_path,
                                secret.line,
                                "not a credential parameter pig knows".into(),
                            ),
                            Some(s) if !s.is_empty() => {
                                out.secrets.push((name.clone(), s.to_string()))
                            }
                            _ => problem(
                                secret_path,
                                secret.line,
                                format!("expected a non-empty string, found {}", secret.value),
                            ),
                        }
                    }
                    if !matches!(value.value, Value::Map(_)) {
                        problem(path, value.line, "expected a mapping".into());
                    }
                }
                _ => problem(
                    path,
                    value.line,
                    "unknown key (expected format, bundle, ca or secrets)".into(),
                ),
            }
        }
        if !format_seen {
            problem("pig.format".into(), node.line, "missing".into());
        }
        out
    }
}

fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
}

fn parse_ca(node: &Node, problem: &mut impl FnMut(String, u64, String)) -> Option<CaPem> {
    let pem = |field: &str, label: &str, problem: &mut dyn FnMut(String, u64, String)| {
        let path = format!("pig.ca.{field}");
        match node.get(field) {
            Some(n) => match n.as_str() {
                Some(s) if s.contains(&format!("-----BEGIN {label}-----")) => Some(s.to_string()),
                _ => {
                    problem(path, n.line, format!("expected a PEM {label}"));
                    None
                }
            },
            None => {
                problem(path, node.line, "missing".into());
                None
            }
        }
    };
    for (key, value) in node.as_map().unwrap_or_default() {
        if key != "cert" && key != "key" {
            problem(
                format!("pig.ca.{key}"),
                value.line,
                "unknown key (expected cert and key)".into(),
            );
        }
    }
    let cert = pem("cert", "CERTIFICATE", problem);
    let key = pem("key", "PRIVATE KEY", problem);
    let key = key.filter(|k| {
        let ok = rcgen::KeyPair::from_pem(k).is_ok();
        if !ok {
            problem(
                "pig.ca.key".into(),
                node.get("key").map_or(node.line, |n| n.line),
                "the CA key does not parse as a PKCS#8 private key".into(),
            );
        }
        ok
    });
    Some(CaPem {
        cert: cert?,
        key: key?,
    })
}
