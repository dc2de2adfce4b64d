//! Patroni: `/etc/patroni/patroni.yml` (etcd3 DCS over TLS with the
//! member's certificate, REST API, bootstrap with checksums and SCRAM,
//! PostgreSQL's parameters) and its systemd unit, started once the
//! cluster's leader exists (or this member is the one to make it).

use std::path::PathBuf;

use super::{CA, CERT, DBSU, HBA, KEY, Member, SOCKET_DIR, tune};
use crate::engine::{Guard, Resource};
use crate::roles::{Context, RoleInputError};

/// Patroni's configuration, Pigsty's path.
pub const CONFIG: &str = "/etc/patroni/patroni.yml";
/// pig's own unit (see the template for why not Debian's).
pub const UNIT: &str = "/etc/systemd/system/patroni.service";

/// A YAML scalar for `text`: a JSON string is a valid YAML flow scalar,
/// whatever the characters in it.
pub fn yaml_str(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// Lines `key: value` indented by `indent` spaces.
fn yaml_map(indent: usize, entries: &[(String, String)]) -> String {
    let pad = " ".repeat(indent);
    entries
        .iter()
        .map(|(k, v)| format!("{pad}{k}: {v}\n"))
        .collect()
}

/// Patroni's cluster-wide settings, written to the DCS at bootstrap:
/// the failover timers of `pg_rto` and `pg_rpo`, and the parameters
/// Patroni keeps equal on every member, sized for this node.
fn dcs(ctx: &Context, tuning: &[(&str, String)]) -> Result<String, RoleInputError> {
    let failover = tune::cluster_failover(ctx)?;
    let rto = &failover.rto;
    let top = vec![
        ("ttl".to_string(), rto.ttl.to_string()),
        ("loop_wait".into(), rto.loop_wait.to_string()),
        ("retry_timeout".into(), rto.retry_timeout.to_string()),
        (
            "primary_start_timeout".into(),
            rto.primary_start_timeout.to_string(),
        ),
        (
            "maximum_lag_on_failover".into(),
            failover.maximum_lag_on_failover.to_string(),
        ),
        (
            "synchronous_mode".into(),
            failover.synchronous_mode.to_string(),
        ),
        (
            "synchronous_mode_strict".into(),
            failover.synchronous_mode_strict.to_string(),
        ),
    ];
    let mut text = yaml_map(4, &top);
    text.push_str(
        "    postgresql:\n      use_pg_rewind: true\n      use_slots: true\n      parameters:\n",
    );
    let mut params: Vec<(String, String)> = tuning
        .iter()
        .filter(|(k, _)| DCS_PARAMETERS.contains(k))
        .map(|(k, v)| (k.to_string(), yaml_str(v)))
        .collect();
    params.extend([
        ("max_wal_senders".into(), "50".into()),
        ("max_replication_slots".into(), "50".into()),
        ("wal_level".into(), "replica".into()),
        ("wal_log_hints".into(), yaml_str("on")),
        ("hot_standby".into(), yaml_str("on")),
        ("wal_keep_size".into(), yaml_str("1GB")),
    ]);
    text.push_str(&yaml_map(8, &params));
    Ok(text)
}

/// Parameters Patroni takes from the DCS only, since a replica must not
/// have less of them than its primary.
const DCS_PARAMETERS: [&str; 4] = [
    "max_connections",
    "max_locks_per_transaction",
    "max_prepared_transactions",
    "max_worker_processes",
];

/// This node's sizing for `pg_conf`, less the parameters its PostgreSQL
/// version does not know.
fn tuning(ctx: &Context, member: &Member) -> Result<Vec<(&'static str, String)>, RoleInputError> {
    let machine = ctx.machine.ok_or_else(|| {
        ctx.error(
            "the pgsql role needs the machine's memory, CPUs and disk, which were not measured",
        )
    })?;
    let mut params = tune::node_tuning(ctx, &machine)?.parameters();
    params.retain(|(k, _)| tune::introduced_in(k) <= member.version);
    Ok(params)
}

/// `initdb` options: encoding, locales and data checksums.
fn initdb(ctx: &Context) -> Result<String, RoleInputError> {
    let mut lines = vec![
        format!("    - encoding: {}", yaml_str(&ctx.str("pg_encoding")?)),
        format!("    - locale: {}", yaml_str(&ctx.str("pg_locale")?)),
        format!("    - lc-collate: {}", yaml_str(&ctx.str("pg_lc_collate")?)),
        format!("    - lc-ctype: {}", yaml_str(&ctx.str("pg_lc_ctype")?)),
        format!("    - auth-local: {}", yaml_str("peer")),
    ];
    if ctx.bool("pg_checksum") {
        lines.push("    - data-checksums".into());
    }
    Ok(lines.join("\n") + "\n")
}

/// PostgreSQL parameters of this member: TLS, the HBA file outside the
/// data directory, logging, the node's sizing, then the seed's
/// `pg_parameters` on top.
fn parameters(ctx: &Context, tuning: &[(&str, String)]) -> Result<String, RoleInputError> {
    let mut params: Vec<(String, String)> = vec![
        (
            "password_encryption".into(),
            yaml_str(&ctx.str("pg_pwd_enc")?),
        ),
        ("ssl".into(), yaml_str("on")),
        ("ssl_cert_file".into(), yaml_str(CERT)),
        ("ssl_key_file".into(), yaml_str(KEY)),
        ("ssl_ca_file".into(), yaml_str(CA)),
        ("hba_file".into(), yaml_str(HBA)),
        ("unix_socket_directories".into(), yaml_str(SOCKET_DIR)),
        (
            "shared_preload_libraries".into(),
            yaml_str(&ctx.str("pg_libs")?),
        ),
        ("logging_collector".into(), yaml_str("on")),
        ("log_destination".into(), yaml_str("csvlog")),
        ("log_directory".into(), yaml_str(&ctx.str("pg_log_dir")?)),
        ("log_filename".into(), yaml_str("postgresql-%Y-%m-%d.log")),
        ("log_truncate_on_rotation".into(), yaml_str("on")),
    ];
    params.extend(
        tuning
            .iter()
            .filter(|(k, _)| !DCS_PARAMETERS.contains(k))
            .map(|(k, v)| (k.to_string(), yaml_str(v))),
    );
    // Continuous WAL archiving into the pgBackRest repository.
    if ctx.bool("pgbackrest_enabled") {
        let stanza = ctx.str("pg_cluster")?;
        params.push(("archive_mode".into(), yaml_str("on")));
        params.push((
            "archive_command".into(),
            yaml_str(&super::backup::archive_command(&stanza)),
        ));
    }
    if let Some(extra) = ctx.host.vars.get("pg_parameters").and_then(|n| n.as_map()) {
        for (key, value) in extra {
            let text = value
                .scalar_text()
                .ok_or_else(|| ctx.error(format!("pg_parameters.{key} is not a scalar")))?;
            params.retain(|(k, _)| k != key);
            params.push((key.clone(), yaml_str(&text)));
        }
    }
    Ok(yaml_map(4, &params))
}

/// Resources: configuration, unit, service and health checks.
pub fn resources(
    ctx: &Context,
    member: &Member,
    out: &mut Vec<Resource>,
) -> Result<(), RoleInputError> {
    let rest_port = ctx.int("patroni_port")?;
    let tuning = tuning(ctx, member)?;
    let etcd_port = ctx.int("etcd_port")?;
    let members = ctx.seed.etcd_members();
    if members.is_empty() {
        return Err(ctx.error("pgsql needs etcd: the inventory has no etcd group"));
    }
    let etcd_hosts: Vec<String> = members
        .iter()
        .map(|m| {
            let port = ctx
                .seed
                .host(m.ip)
                .and_then(|h| h.vars.int("etcd_port"))
                .unwrap_or(etcd_port);
            format!("{}:{port}", host_text(m.ip))
        })
        .collect();
    let etcd_auth = match ctx.host.vars.str("pg_etcd_password") {
        Some(p) if !p.is_empty() => format!(
            "  username: {}\n  password: {}\n",
            yaml_str(&member.cluster),
            yaml_str(&p)
        ),
        _ => String::new(),
    };
    let dbsu_password = match ctx.host.vars.str("pg_dbsu_password") {
        Some(p) if !p.is_empty() => format!("      password: {}", yaml_str(&p)),
        _ => String::new(),
    };
    let namespace = ctx.str("pg_namespace")?;
    let ip = host_text(member.ip);
    let config = ctx.render(
        "pgsql/patroni.yml",
        include_str!("../../../templates/pgsql/patroni.yml"),
        &[
            ("scope", yaml_str(&member.cluster)),
            ("namespace", yaml_str(&namespace)),
            ("name", yaml_str(&member.name)),
            ("log_dir", yaml_str(&ctx.str("patroni_log_dir")?)),
            ("rest_port", rest_port.to_string()),
            ("ip", ip),
            ("rest_username", yaml_str(&ctx.str("patroni_username")?)),
            ("rest_password", yaml_str(&ctx.str("patroni_password")?)),
            ("etcd_hosts", yaml_str(&etcd_hosts.join(","))),
            ("ca", yaml_str(CA)),
            ("cert", yaml_str(CERT)),
            ("key", yaml_str(KEY)),
            ("etcd_auth", etcd_auth),
            ("dcs", dcs(ctx, &tuning)?),
            ("initdb", initdb(ctx)?),
            ("listen", ctx.str("pg_listen")?),
            ("port", member.port.to_string()),
            ("data", yaml_str(&member.data)),
            ("bin_dir", yaml_str(&member.bin_dir)),
            ("dbsu", yaml_str(DBSU)),
            ("dbsu_password", dbsu_password),
            (
                "repl_username",
                yaml_str(&ctx.str("pg_replication_username")?),
            ),
            (
                "repl_password",
                yaml_str(&ctx.str("pg_replication_password")?),
            ),
            ("parameters", parameters(ctx, &tuning)?),
        ],
    )?;
    let unit = ctx.render(
        "pgsql/patroni.service",
        include_str!("../../../templates/pgsql/patroni.service"),
        &[
            ("name", member.name.clone()),
            ("scope", member.cluster.clone()),
        ],
    )?;
    out.push(Resource::directory("/etc/patroni", "root", DBSU, 0o750));
    out.push(Resource::File {
        path: PathBuf::from(CONFIG),
        content: config.into_bytes(),
        owner: DBSU.into(),
        group: DBSU.into(),
        mode: 0o600,
        secret: true,
    });
    out.push(Resource::file(UNIT, unit, 0o644));
    out.push(Resource::daemon_reload_on(UNIT));
    // A member that has no data yet waits for the cluster's leader unless
    // the seed makes it the primary, so the seed's primary bootstraps the
    // cluster even when every node applies at once.
    if member.role != "primary" {
        let mut argv = Resource::argv(&[
            "python3",
            "-c",
            include_str!("../../../templates/pgsql/wait-leader.py"),
            &format!("{}/PG_VERSION", member.data),
        ]);
        for m in ctx
            .seed
            .pg_clusters()
            .get(&member.cluster)
            .into_iter()
            .flatten()
        {
            argv.push(format!("http://{}:{rest_port}/primary", host_text(m.ip)));
        }
        out.push(Resource::HealthCheck {
            name: "pg-cluster-has-leader".into(),
            argv,
            timeout_secs: 600,
        });
    }
    // Debian's unit was skipped at boot by its ConditionPathExists, and
    // the Service resource leaves a unit skipped by a condition alone; the
    // unit that replaces it has no condition, so start it explicitly, and
    // wait for the REST API: a reload before Patroni handles SIGHUP ends it.
    out.push(Resource::Command {
        name: "start-patroni".into(),
        argv: Resource::argv(&[
            "sh",
            "-c",
            "systemctl start patroni.service && python3 -c \"$1\" \"$2\"",
            "sh",
            include_str!("../../../templates/pgsql/wait-restapi.py"),
            &format!("http://127.0.0.1:{rest_port}/liveness"),
        ]),
        guard: Guard::Unless(Resource::argv(&[
            "systemctl",
            "is-active",
            "--quiet",
            "patroni.service",
        ])),
    });
    // Reloaded, not restarted: Patroni applies what it can online and
    // flags what needs a restart; PostgreSQL re-reads certificates on reload.
    out.push(Resource::Service {
        name: "patroni".into(),
        enabled: true,
        active: true,
        restart_on: vec![
            PathBuf::from(CONFIG),
            PathBuf::from(CA),
            PathBuf::from(CERT),
            PathBuf::from(KEY),
        ],
        reload: true,
    });
    out.push(Resource::HealthCheck {
        name: "patroni-member-running".into(),
        argv: Resource::argv(&[
            "python3",
            "-c",
            "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)",
            &format!("http://127.0.0.1:{rest_port}/health"),
        ]),
        timeout_secs: 300,
    });
    // `bootstrap.dcs` counts only when the cluster is made: a changed
    // `pg_rto` or `pg_rpo` reaches a running cluster through the DCS.
    let failover = tune::cluster_failover(ctx)?;
    // Members applying at once race on the DCS key: patronictl refuses
    // a concurrent change, so a few tries.
    let mut argv = Resource::argv(&[
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do \"$@\" && exit 0; sleep 1; done; exit 1",
        "sh",
        "patronictl",
        "-c",
        CONFIG,
        "edit-config",
        "--force",
        "--quiet",
    ]);
    for (key, value) in [
        ("ttl", failover.rto.ttl.to_string()),
        ("loop_wait", failover.rto.loop_wait.to_string()),
        ("retry_timeout", failover.rto.retry_timeout.to_string()),
        (
            "primary_start_timeout",
            failover.rto.primary_start_timeout.to_string(),
        ),
        (
            "maximum_lag_on_failover",
            failover.maximum_lag_on_failover.to_string(),
        ),
        ("synchronous_mode", failover.synchronous_mode.to_string()),
        (
            "synchronous_mode_strict",
            failover.synchronous_mode_strict.to_string(),
        ),
    ] {
        argv.push("-s".into());
        argv.push(format!("{key}={value}"));
    }
    out.push(Resource::Command {
        name: "patroni-dcs-failover-settings".into(),
        argv,
        guard: Guard::OnChange(vec![PathBuf::from(CONFIG)]),
    });
    out.push(Resource::HealthCheck {
        name: "postgres-accepts-connections".into(),
        argv: super::psql(member, &["-Atc", "SELECT 1"]),
        timeout_secs: 60,
    });
    Ok(())
}

/// An address as it appears before `:port`.
pub fn host_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}
