//! The PGSQL role: one member of a Patroni-managed PostgreSQL cluster
//! (etcd as DCS), Pigsty's directory layout and access model, pgBouncer in
//! front of it, the cluster's HAProxy services and the two exporters.
//!
//! Layout (Pigsty's): the cluster's files live under
//! `<pg_fs_main>/<cluster>-<version>` and `/pg` links there, so the data
//! directory is `/pg/data`, logs go to `/pg/log/…`, certificates to
//! `/pg/cert`, and configuration pig writes for PostgreSQL to `/pg/conf`.
//!
//! Debian's own cluster machinery stays out of the way: pig tells
//! postgresql-common not to create a main cluster and drops one that
//! exists, so `postgresql.service` (which only starts the clusters under
//! `/etc/postgresql`) has nothing to run; Patroni alone starts PostgreSQL.

pub mod access;
pub mod backup;
pub mod hba;
pub mod patroni;
pub mod pgbackrest;
pub mod services;
pub mod tune;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::{Context, RoleInputError};
use crate::engine::{CertSpec, Guard, Resource};

/// Where `/pg` points below `pg_fs_main`.
const LINK: &str = "/pg";
/// Configuration files pig writes for PostgreSQL (HBA, provisioning SQL).
const CONF: &str = "/pg/conf";
/// Certificates of the member.
const CERT_DIR: &str = "/pg/cert";
/// The seed CA's certificate.
pub const CA: &str = "/pg/cert/ca.crt";
/// The member's certificate: PostgreSQL's server certificate, pgBouncer's
/// client-side one, and Patroni's client certificate towards etcd (it is
/// issued for both server and client use).
pub const CERT: &str = "/pg/cert/server.crt";
/// Its key, readable by the database superuser only.
pub const KEY: &str = "/pg/cert/server.key";
/// The HBA file PostgreSQL reads (`hba_file`), outside the data directory
/// so that Patroni can bootstrap into an empty one.
pub const HBA: &str = "/pg/conf/pg_hba.conf";
/// The operating system user that runs PostgreSQL, Patroni and pgBouncer
/// (Debian's packages make it; its uid is theirs).
pub const DBSU: &str = "postgres";
/// Where PostgreSQL's Unix socket is.
pub const SOCKET_DIR: &str = "/var/run/postgresql";
const CREATECLUSTER: &str = "/etc/postgresql-common/createcluster.conf";

/// What every part of the role reads: the member's identity and paths.
pub struct Member {
    /// `pg_cluster`.
    pub cluster: String,
    /// `pg_seq`.
    pub seq: i64,
    /// `<cluster>-<seq>`, Patroni's member name.
    pub name: String,
    /// `pg_role` as the seed says (Patroni decides the live one).
    pub role: String,
    /// The major version.
    pub version: i64,
    /// The server binaries (Debian's layout).
    pub bin_dir: String,
    /// `pg_port`.
    pub port: i64,
    /// `pg_data`.
    pub data: String,
    /// The node's address.
    pub ip: IpAddr,
}

impl Member {
    /// The member described by this host's parameters.
    pub fn of(ctx: &Context) -> Result<Member, RoleInputError> {
        let cluster = ctx.str("pg_cluster")?;
        let seq = ctx.int("pg_seq")?;
        let version = ctx.int("pg_version")?;
        Ok(Member {
            name: format!("{cluster}-{seq}"),
            cluster,
            seq,
            role: ctx.str("pg_role")?,
            version,
            bin_dir: format!("/usr/lib/postgresql/{version}/bin"),
            port: ctx.int("pg_port")?,
            data: ctx.str("pg_data")?,
            ip: ctx.host.ip,
        })
    }
}

/// Resources of the pgsql role, in apply order.
pub fn resources(ctx: &Context) -> Result<Vec<Resource>, RoleInputError> {
    let member = Member::of(ctx)?;
    let mut out = Vec::new();
    debian_cluster_off(&member, &mut out);
    out.push(Resource::Packages {
        names: packages(&member),
    });
    layout(ctx, &member, &mut out)?;
    certificates(ctx, &member, &mut out)?;
    out.push(Resource::File {
        path: PathBuf::from(HBA),
        content: hba::pg_hba_conf(ctx)?.into_bytes(),
        owner: DBSU.into(),
        group: DBSU.into(),
        mode: 0o640,
        secret: false,
    });
    patroni::resources(ctx, &member, &mut out)?;
    // A changed HBA is loaded without a restart.
    out.push(Resource::Command {
        name: "pg-reload-hba".into(),
        argv: psql(&member, &["-c", "SELECT pg_reload_conf()"]),
        guard: Guard::OnChange(vec![PathBuf::from(HBA)]),
    });
    access::resources(ctx, &member, &mut out)?;
    pgbackrest::resources(ctx, &member, &mut out)?;
    services::resources(ctx, &member, &mut out)?;
    Ok(out)
}

/// Debian's packages for this member.
fn packages(member: &Member) -> Vec<String> {
    let v = member.version;
    [
        format!("postgresql-{v}"),
        format!("postgresql-client-{v}"),
        "patroni".into(),
        "python3-etcd".into(),
        "python3-psycopg2".into(),
        "pgbouncer".into(),
        "prometheus-postgres-exporter".into(),
    ]
    .into()
}

/// Keep Debian's per-version clusters from running beside Patroni's.
fn debian_cluster_off(member: &Member, out: &mut Vec<Resource>) {
    // Read by postgresql-common when the server package is installed.
    out.push(Resource::file(
        CREATECLUSTER,
        "# Managed by pig-install (pgsql role): Patroni makes the cluster, not the package.\n\
         create_main_cluster = false\n",
        0o644,
    ));
    let v = member.version.to_string();
    let main = format!("/etc/postgresql/{v}/main");
    // A main cluster made before the file above existed (a root
    // filesystem built with the packages in it) would take the port.
    out.push(Resource::Command {
        name: format!("drop-debian-cluster-{v}-main"),
        argv: Resource::argv(&["pg_dropcluster", "--stop", &v, "main"]),
        guard: Guard::Unless(Resource::argv(&[
            "sh",
            "-c",
            "! test -e \"$1\"",
            "sh",
            &main,
        ])),
    });
}

/// Pigsty's directories: the cluster's home below `pg_fs_main`, `/pg`
/// linked to it, and the data, log, configuration and scratch directories.
fn layout(ctx: &Context, member: &Member, out: &mut Vec<Resource>) -> Result<(), RoleInputError> {
    let main = ctx.str("pg_fs_main")?;
    if !main.starts_with('/') {
        return Err(ctx.error(format!("pg_fs_main {main:?} is not an absolute path")));
    }
    let home = format!(
        "{}/{}-{}",
        main.trim_end_matches('/'),
        member.cluster,
        member.version
    );
    let owned = |path: &str, mode: u32| Resource::directory(path, DBSU, DBSU, mode);
    out.push(Resource::directory(&main, "root", "root", 0o755));
    out.push(owned(&home, 0o700));
    out.push(Resource::Link {
        path: PathBuf::from(LINK),
        target: PathBuf::from(&home),
    });
    if !member.data.starts_with(LINK) {
        return Err(ctx.error(format!(
            "pg_data {:?} must be below {LINK} (Pigsty's layout)",
            member.data
        )));
    }
    out.push(owned(&member.data, 0o700));
    out.push(owned("/pg/log", 0o750));
    for param in ["pg_log_dir", "patroni_log_dir", "pgbouncer_log_dir"] {
        out.push(owned(&ctx.str(param)?, 0o750));
    }
    out.push(owned(CONF, 0o750));
    out.push(owned(CERT_DIR, 0o750));
    out.push(owned("/pg/tmp", 0o700));
    Ok(())
}

/// The seed CA and a certificate for the member's names and addresses.
fn certificates(
    ctx: &Context,
    member: &Member,
    out: &mut Vec<Resource>,
) -> Result<(), RoleInputError> {
    let ca = ctx
        .seed
        .pig()
        .ca
        .clone()
        .ok_or_else(|| ctx.error("pig.ca is missing: pgsql needs the seed's CA for TLS"))?;
    let mut dns_names = vec!["localhost".to_string(), member.name.clone()];
    if let Some(n) = ctx.host.nodename()
        && !dns_names.contains(&n)
    {
        dns_names.push(n);
    }
    out.push(Resource::File {
        path: PathBuf::from(CA),
        content: ca.cert.clone().into_bytes(),
        owner: DBSU.into(),
        group: DBSU.into(),
        mode: 0o644,
        secret: false,
    });
    out.push(Resource::Certificate(CertSpec {
        cert: PathBuf::from(CERT),
        key: PathBuf::from(KEY),
        owner: DBSU.into(),
        group: DBSU.into(),
        common_name: member.name.clone(),
        dns_names,
        ips: vec![member.ip, IpAddr::V4(Ipv4Addr::LOCALHOST)],
        ca_cert: ca.cert,
        ca_key: ca.key,
    }));
    Ok(())
}

/// `psql` as the database superuser over the local socket, stopping at
/// the first error, without reading `~/.psqlrc`.
pub fn psql(member: &Member, args: &[&str]) -> Vec<String> {
    let port = member.port.to_string();
    let mut argv = Resource::argv(&[
        "runuser",
        "-u",
        DBSU,
        "--",
        "psql",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        SOCKET_DIR,
        "-p",
        &port,
    ]);
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}
