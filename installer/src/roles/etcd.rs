//! The ETCD role: one member of the etcd cluster formed by the inventory's
//! `etcd` group, TLS for peers and clients from the seed's CA, checked
//! healthy before the role is done.

use std::path::PathBuf;

use super::{Context, RoleInputError};
use crate::engine::{CertSpec, Resource};

const ENV_FILE: &str = "/etc/default/etcd";
const PKI: &str = "/etc/etcd/pki";
/// The CA certificate, shared by etcd and its clients.
pub const CA: &str = "/etc/etcd/pki/ca.crt";
/// This member's certificate (server and client use).
pub const CERT: &str = "/etc/etcd/pki/etcd.crt";
/// Its key, readable by etcd only.
pub const KEY: &str = "/etc/etcd/pki/etcd.key";

/// Resources of the etcd role.
pub fn resources(ctx: &Context) -> Result<Vec<Resource>, RoleInputError> {
    let host = ctx.host;
    let seq = ctx.int("etcd_seq")?;
    let cluster = ctx.str("etcd_cluster")?;
    let port = ctx.int("etcd_port")?;
    let peer_port = ctx.int("etcd_peer_port")?;
    let data = ctx.str("etcd_data")?;
    let ca = ctx
        .seed
        .pig()
        .ca
        .clone()
        .ok_or_else(|| ctx.error("pig.ca is missing: etcd needs the seed's CA for TLS"))?;
    let members = ctx.seed.etcd_members();
    let mut initial = Vec::new();
    for m in &members {
        let peer = ctx
            .seed
            .host(m.ip)
            .and_then(|h| h.vars.int("etcd_peer_port"))
            .unwrap_or(peer_port);
        initial.push(format!("{cluster}-{}={}", m.seq, url(m.ip, peer)));
    }
    let name = format!("{cluster}-{seq}");
    let mut dns_names = vec!["localhost".to_string(), name.clone()];
    if let Some(n) = host.nodename() {
        dns_names.push(n);
    }
    let loopback: std::net::IpAddr = std::net::Ipv4Addr::LOCALHOST.into();
    let env = ctx.render(
        "etcd/etcd.default",
        include_str!("../../templates/etcd/etcd.default"),
        &[
            ("name", name.clone()),
            ("data", data.clone()),
            ("ip", host_text(host.ip)),
            ("port", port.to_string()),
            ("peer_port", peer_port.to_string()),
            ("initial_cluster", initial.join(",")),
            ("cluster", cluster),
            ("init", ctx.str("etcd_init")?),
            (
                "election_timeout",
                ctx.int("etcd_election_timeout")?.to_string(),
            ),
            (
                "heartbeat_interval",
                ctx.int("etcd_heartbeat_interval")?.to_string(),
            ),
            ("cert", CERT.into()),
            ("key", KEY.into()),
            ("ca", CA.into()),
        ],
    )?;
    Ok(vec![
        Resource::Packages {
            names: Resource::argv(&["etcd-server", "etcd-client"]),
        },
        Resource::directory("/etc/etcd", "root", "root", 0o755),
        Resource::directory(PKI, "root", "etcd", 0o750),
        Resource::file(CA, ca.cert.clone(), 0o644),
        Resource::Certificate(CertSpec {
            cert: PathBuf::from(CERT),
            key: PathBuf::from(KEY),
            owner: "etcd".into(),
            group: "etcd".into(),
            common_name: name,
            dns_names,
            ips: vec![host.ip, loopback],
            ca_cert: ca.cert,
            ca_key: ca.key,
        }),
        Resource::Directory {
            path: PathBuf::from(&data),
            owner: "etcd".into(),
            group: "etcd".into(),
            mode: 0o700,
        },
        Resource::file(ENV_FILE, env, 0o644),
        Resource::running_service("etcd", &[ENV_FILE, CA, CERT, KEY]),
        Resource::HealthCheck {
            name: "etcd-endpoint-health".into(),
            argv: etcdctl(&url(loopback, port), &["endpoint", "health"]),
            timeout_secs: 90,
        },
    ])
}

/// An `etcdctl` command line against `endpoint` with this member's
/// certificate (the v3 API is the default of Debian's etcd-client 3.4).
pub fn etcdctl(endpoint: &str, args: &[&str]) -> Vec<String> {
    let mut argv = Resource::argv(&[
        "etcdctl",
        &format!("--endpoints={endpoint}"),
        &format!("--cacert={CA}"),
        &format!("--cert={CERT}"),
        &format!("--key={KEY}"),
    ]);
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

fn host_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

fn url(ip: std::net::IpAddr, port: i64) -> String {
    format!("https://{}:{port}", host_text(ip))
}
