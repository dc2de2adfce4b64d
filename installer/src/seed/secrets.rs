//! Credentials: Pigsty's well-known default passwords, which pig refuses,
//! and strong random ones for new seeds.

use rand::RngCore;
use rand::rngs::OsRng;

use super::yaml::Node;

/// Values Pigsty's templates ship as credentials. Anyone who has read the
/// Pigsty docs knows them, so a seed that still carries one is refused
/// unless the operator asks for it (`--insecure-default-passwords`).
pub const WELL_KNOWN: &[&str] = &[
    "pigsty",
    "DBUser.DBA",
    "DBUser.Monitor",
    "DBUser.Replicator",
    "DBUser.Meta",
    "DBUser.Viewer",
    "DBUser.Grafana",
    "DBUser.Bytebase",
    "DBUser.Kong",
    "DBUser.Gitea",
    "DBUser.Wiki",
    "DBUser.Noco",
    "DBUser.Odoo",
    "DBUser.Dify",
    "DBUser.Supa",
    "Patroni.API",
    "Etcd.Root",
    "S3User.MinIO",
    "S3User.Backup",
    "S3User.Meta",
    "S3User.Data",
    "minioadmin",
    "pgBackRest",
    "redis.ms",
    "redis.meta",
    "redis.test",
    "test",
];

/// Whether `value` is one of Pigsty's well-known default credentials.
pub fn is_well_known(value: &str) -> bool {
    WELL_KNOWN.contains(&value)
}

/// Credentials nested inside structured parameters: the parameter, then
/// where in each item the secret sits.
const NESTED: &[(&str, Nested)] = &[
    ("pg_users", Nested::ItemField("password")),
    ("pg_default_roles", Nested::ItemField("password")),
    ("minio_users", Nested::ItemField("secret_key")),
    ("redis_sentinel_monitor", Nested::ItemField("password")),
    ("pgbackrest_repo", Nested::EntryField("s3_key_secret")),
    ("pgbackrest_repo", Nested::EntryField("cipher_pass")),
    ("nginx_users", Nested::EntryValue),
];

#[derive(Clone, Copy)]
enum Nested {
    /// `param[i].field` in a list of mappings.
    ItemField(&'static str),
    /// `param.key.field` in a mapping of mappings.
    EntryField(&'static str),
    /// `param.key` in a mapping of strings.
    EntryValue,
}

/// Well-known credentials nested in the value of `param` written at
/// `path`: (path of the credential, its value, line).
pub fn nested_well_known(param: &str, node: &Node, path: &str) -> Vec<(String, String, u64)> {
    let mut found = Vec::new();
    let mut check = |p: String, n: &Node| {
        if let Some(v) = n.as_str().filter(|v| is_well_known(v)) {
            found.push((p, v.to_string(), n.line));
        }
    };
    for (name, shape) in NESTED {
        if *name != param {
            continue;
        }
        match shape {
            Nested::ItemField(field) => {
                for (i, item) in node.as_seq().unwrap_or_default().iter().enumerate() {
                    if let Some(n) = item.get(field) {
                        check(format!("{path}[{i}].{field}"), n);
                    }
                }
            }
            Nested::EntryField(field) => {
                for (key, entry) in node.as_map().unwrap_or_default() {
                    if let Some(n) = entry.get(field) {
                        check(format!("{path}.{key}.{field}"), n);
                    }
                }
            }
            Nested::EntryValue => {
                for (key, n) in node.as_map().unwrap_or_default() {
                    check(format!("{path}.{key}"), n);
                }
            }
        }
    }
    found
}

/// A new random password: 24 bytes from the operating system's generator,
/// base64url without padding (32 characters, 192 bits).
pub fn generate_password() -> String {
    let mut bytes = [0u8; 24];
    OsRng.fill_bytes(&mut bytes);
    base64url(&bytes)
}

/// Base64url (RFC 4648 §5) without padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let index = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc4648_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn passwords_are_long_url_safe_and_distinct() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
    }
}
