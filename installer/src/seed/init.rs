//! Making a new seed: an inventory from a template, strong random
//! passwords and a fresh cluster CA, all in one file.
//!
//! The file holds the CA's private key and every password, so it is a
//! secret: it is written with mode 0600, atomically (temporary file,
//! fsync, rename), and never with Pigsty's default credentials.

use std::fmt::Write as _;
use std::io::Read as _;
use std::net::IpAddr;
use std::path::Path;

use chrono::Datelike;
use rand::RngCore;
use rand::rngs::OsRng;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SerialNumber,
};

use pig_repo::compress::Compression;

use super::defaults;
use super::pig_section::{CaPem, FORMAT};
use super::secrets;

/// The shape of a new cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// One node: infra, etcd and a single PostgreSQL primary.
    Singleton,
    /// Three nodes: infra on the first, etcd on all three, PostgreSQL
    /// primary on the first and replicas on the others.
    Ha3,
}

impl Template {
    /// How many hosts the template needs.
    pub fn host_count(self) -> usize {
        match self {
            Template::Singleton => 1,
            Template::Ha3 => 3,
        }
    }

    /// Addresses used when none are given (Pigsty's sandbox addresses).
    pub fn default_hosts(self) -> Vec<IpAddr> {
        let all = [[10, 10, 10, 10], [10, 10, 10, 11], [10, 10, 10, 12]];
        all.iter()
            .take(self.host_count())
            .map(|o| IpAddr::from(*o))
            .collect()
    }
}

/// Years a new CA is valid for.
const CA_YEARS: i32 = 10;

/// Make a new self-signed cluster CA (ECDSA P-256, CA:TRUE, 10 years).
pub fn generate_ca(common_name: &str) -> Result<CaPem, rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "pig");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let today = chrono::Utc::now().date_naive();
    let (year, month, day) = (today.year(), today.month() as u8, today.day() as u8);
    params.not_before = rcgen::date_time_ymd(year, month, day);
    // 29 February has no match ten years on.
    let end_day = if (month, day) == (2, 29) { 28 } else { day };
    params.not_after = rcgen::date_time_ymd(year + CA_YEARS, month, end_day);
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    serial[0] &= 0x7f; // positive, as RFC 5280 requires
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let cert = params.self_signed(&key)?;
    Ok(CaPem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Credentials `seed init` generates: every credential parameter whose
/// Pigsty default is a well-known password.
pub fn generated_secret_names() -> Vec<&'static str> {
    defaults::table()
        .values()
        .filter(|s| {
            s.secret
                && s.default
                    .as_ref()
                    .and_then(|d| d.as_str())
                    .is_some_and(secrets::is_well_known)
        })
        .map(|s| s.name.as_str())
        .collect()
}

/// The PostgreSQL major version a seed gets when no bundle says better:
/// Debian 12's.
pub const DEFAULT_PG_VERSION: u32 = 15;

/// The highest `N` of the `postgresql-N` packages listed in the
/// `pigsty/MANIFEST.json` of bundle tarball `bundle` (tar + gzip), or
/// `None` if it lists none. Errors name the bundle.
pub fn bundle_pg_version(bundle: &Path) -> Result<Option<u32>, String> {
    let fail = |what: String| format!("{}: {what}", bundle.display());
    let file = std::fs::File::open(bundle).map_err(|e| fail(e.to_string()))?;
    let gz = Compression::Gzip
        .reader(file)
        .map_err(|e| fail(e.to_string()))?;
    let mut archive = tar::Archive::new(gz);
    let entries = archive.entries().map_err(|e| fail(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| fail(format!("reading the tarball: {e}")))?;
        let is_manifest = entry
            .path()
            .is_ok_and(|p| p.as_ref() == Path::new("pigsty/MANIFEST.json"));
        if !is_manifest {
            continue;
        }
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|e| fail(format!("pigsty/MANIFEST.json: {e}")))?;
        let doc: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| fail(format!("pigsty/MANIFEST.json: {e}")))?;
        let packages = doc
            .get("packages")
            .and_then(|p| p.as_array())
            .ok_or_else(|| fail("pigsty/MANIFEST.json: no packages list".into()))?;
        return Ok(packages
            .iter()
            .filter_map(|p| {
                p.get("name")?
                    .as_str()?
                    .strip_prefix("postgresql-")?
                    .parse()
                    .ok()
            })
            .max());
    }
    Err(fail(
        "no pigsty/MANIFEST.json in it: not a pig bundle".into(),
    ))
}

/// The text of a new seed for `template` on `hosts` (one per template
/// slot), pinned to the bundle with digest `bundle` (`sha256:…`) if given,
/// for PostgreSQL `pg_version`.
pub fn render(
    template: Template,
    hosts: &[IpAddr],
    bundle: Option<&str>,
    pg_version: u32,
) -> Result<String, String> {
    if hosts.len() != template.host_count() {
        return Err(format!(
            "this template needs {} host address(es), got {}",
            template.host_count(),
            hosts.len()
        ));
    }
    let mut unique = hosts.to_vec();
    unique.sort();
    unique.dedup();
    if unique.len() != hosts.len() {
        return Err("host addresses must be distinct".into());
    }
    let ca = generate_ca("pigsty-ca").map_err(|e| format!("making the CA: {e}"))?;
    let key = |ip: &IpAddr| format!("\"{ip}\"");
    let Some(first) = hosts.first() else {
        return Err("no host address given".into());
    };

    let mut s = String::new();
    s.push_str(
        "# pig seed: a Pigsty inventory (all:) plus pig's own section (pig:).\n\
         # It holds the cluster CA key and every password: keep it secret.\n\
         # Made by `pig-install seed init`; check it with `pig-install seed check`.\n\
         all:\n  children:\n",
    );
    s.push_str("    infra:\n      hosts:\n");
    let _ = writeln!(s, "        {}: {{ infra_seq: 1 }}", key(first));
    s.push_str("    etcd:\n      hosts:\n");
    for (i, ip) in hosts.iter().enumerate() {
        let _ = writeln!(s, "        {}: {{ etcd_seq: {} }}", key(ip), i + 1);
    }
    s.push_str("      vars: { etcd_cluster: etcd }\n");
    s.push_str("    pg-meta:\n      hosts:\n");
    for (i, ip) in hosts.iter().enumerate() {
        let role = if i == 0 { "primary" } else { "replica" };
        let _ = writeln!(
            s,
            "        {}: {{ pg_seq: {}, pg_role: {role} }}",
            key(ip),
            i + 1
        );
    }
    s.push_str("      vars:\n        pg_cluster: pg-meta\n        pg_users:\n");
    let _ = writeln!(
        s,
        "          - {{ name: dbuser_meta, password: \"{}\", pgbouncer: true, roles: [dbrole_admin], comment: owner of the meta database }}",
        secrets::generate_password()
    );
    s.push_str("        pg_databases:\n          - { name: meta, owner: dbuser_meta, comment: pig meta database }\n");
    s.push_str("  vars:\n");
    let _ = writeln!(s, "    admin_ip: {first}");
    // nginx basic-auth users default to Pigsty's admin/pigsty.
    let _ = writeln!(
        s,
        "    nginx_users: {{ admin: \"{}\" }}",
        secrets::generate_password()
    );
    s.push_str("    node_tune: oltp\n    pg_conf: oltp.yml\n");
    // Pigsty's default (18) is not in Debian 12: the bundle's, else 15.
    let _ = writeln!(s, "    pg_version: {pg_version}");
    // pgBouncer offers TLS on 6432 (and so through 5433), as PostgreSQL
    // does; Pigsty's default is disable.
    s.push_str("    pgbouncer_sslmode: prefer\n");
    if template == Template::Ha3 {
        s.push_str("    pg_rto: norm\n");
    }

    let _ = writeln!(s, "\npig:\n  format: {FORMAT}");
    if let Some(digest) = bundle {
        let _ = writeln!(s, "  bundle: {digest}");
    }
    s.push_str("  ca:\n    cert: |\n");
    indent_into(&mut s, &ca.cert, "      ");
    s.push_str("    key: |\n");
    indent_into(&mut s, &ca.key, "      ");
    s.push_str("  secrets:\n");
    for name in generated_secret_names() {
        let _ = writeln!(s, "    {name}: \"{}\"", secrets::generate_password());
    }
    Ok(s)
}

fn indent_into(out: &mut String, text: &str, prefix: &str) {
    for line in text.lines() {
        out.push_str(prefix);
        out.push_str(line);
        out.push('\n');
    }
}
