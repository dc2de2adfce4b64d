//! Access in front of PostgreSQL: pgBouncer on `pgbouncer_port`, the
//! cluster's HAProxy services (Pigsty's primary 5433 and replica 5434
//! through pgBouncer, default 5436 and offline 5438 direct, each checked
//! against Patroni's REST API), and the two exporters.
//!
//! HAProxy: the node role writes `/etc/haproxy/haproxy.cfg` (global,
//! defaults, admin page); this role adds one file per service beside it
//! and points Debian's unit at the directory (`CONFIG=/etc/haproxy` in
//! `/etc/default/haproxy`), as Pigsty runs `haproxy -f /etc/haproxy`.
//! HAProxy reads a directory's `*.cfg` in lexical order, so service files
//! are named `pgsql-…` to come after `haproxy.cfg` and its `defaults`.

use std::net::IpAddr;
use std::path::PathBuf;

use super::patroni::host_text;
use super::{CA, CERT, DBSU, KEY, Member, access};
use super::{hba, tune};
use crate::engine::Resource;
use crate::roles::{Context, RoleInputError};
use crate::seed::yaml::Node;

const PGB_DIR: &str = "/etc/pgbouncer";
const PGB_INI: &str = "/etc/pgbouncer/pgbouncer.ini";
const PGB_DATABASES: &str = "/etc/pgbouncer/database.txt";
const PGB_USEROPTS: &str = "/etc/pgbouncer/useropts.txt";
const PGB_USERLIST: &str = "/etc/pgbouncer/userlist.txt";
const PGB_HBA: &str = "/etc/pgbouncer/pgb_hba.conf";
const HAPROXY_DEFAULT: &str = "/etc/default/haproxy";
const PG_EXPORTER: &str = "/etc/default/prometheus-postgres-exporter";
const PGB_EXPORTER_UNIT: &str = "/etc/systemd/system/pig-pgbouncer-exporter.service";

/// Resources of pgBouncer, HAProxy services and exporters.
pub fn resources(
    ctx: &Context,
    member: &Member,
    out: &mut Vec<Resource>,
) -> Result<(), RoleInputError> {
    if ctx.bool("pgbouncer_enabled") {
        pgbouncer(ctx, member, out)?;
    }
    if ctx.bool("haproxy_enabled") {
        haproxy(ctx, member, out)?;
    }
    if ctx.bool("pg_exporter_enabled") {
        pg_exporter(ctx, member, out)?;
    }
    if ctx.bool("pgbouncer_enabled") && ctx.bool("pgbouncer_exporter_enabled") {
        pgbouncer_exporter(ctx, member, out)?;
    }
    Ok(())
}

/// pig-install's own pgBouncer exporter (Debian 12's fails against its
/// pgBouncer), as a unit of its own.
fn pgbouncer_exporter(
    ctx: &Context,
    member: &Member,
    out: &mut Vec<Resource>,
) -> Result<(), RoleInputError> {
    let port = ctx.int("pgbouncer_exporter_port")?;
    let unit = ctx.render(
        "pgsql/pig-pgbouncer-exporter.service",
        include_str!("../../../templates/pgsql/pig-pgbouncer-exporter.service"),
        &[
            ("name", member.name.clone()),
            ("port", port.to_string()),
            ("pgbouncer_port", ctx.int("pgbouncer_port")?.to_string()),
            ("dbsu", DBSU.into()),
        ],
    )?;
    out.push(Resource::file(PGB_EXPORTER_UNIT, unit, 0o644));
    out.push(Resource::daemon_reload_on(PGB_EXPORTER_UNIT));
    out.push(Resource::running_service(
        "pig-pgbouncer-exporter",
        &[PGB_EXPORTER_UNIT],
    ));
    out.push(Resource::listening("pgbouncer-exporter", port));
    Ok(())
}

fn pgb_file(path: &str, text: String, secret: bool) -> Resource {
    Resource::File {
        path: PathBuf::from(path),
        content: text.into_bytes(),
        owner: DBSU.into(),
        group: DBSU.into(),
        mode: 0o600,
        secret,
    }
}

/// A pgBouncer value: double-quoted, quotes doubled.
fn pgb_quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

fn pgbouncer(
    ctx: &Context,
    member: &Member,
    out: &mut Vec<Resource>,
) -> Result<(), RoleInputError> {
    let port = ctx.int("pgbouncer_port")?;
    let ini = ctx.render(
        "pgsql/pgbouncer.ini",
        include_str!("../../../templates/pgsql/pgbouncer.ini"),
        &[
            ("name", member.name.clone()),
            ("log_dir", ctx.str("pgbouncer_log_dir")?),
            ("port", port.to_string()),
            ("dbsu", DBSU.into()),
            ("monitor", ctx.str("pg_monitor_username")?),
            ("pool_mode", ctx.str("pgbouncer_poolmode")?),
            (
                "ignore",
                ctx.host.vars.strings("pgbouncer_ignore_param").join(","),
            ),
            ("sslmode", ctx.str("pgbouncer_sslmode")?),
            ("cert", CERT.into()),
            ("key", KEY.into()),
            ("ca", CA.into()),
        ],
    )?;
    // Databases reach PostgreSQL over the local socket.
    let mut databases = String::from("; Managed by pig-install (pgsql role).\n");
    for (name, db) in access::databases(ctx)? {
        if db.get("pgbouncer").and_then(Node::as_bool) == Some(false) {
            continue;
        }
        let mut line = format!(
            "{name} = host={} port={} dbname={name}",
            super::SOCKET_DIR,
            member.port
        );
        if let Some(mode) = db.get("pool_mode").and_then(Node::scalar_text) {
            line.push_str(&format!(" pool_mode={mode}"));
        }
        if let Some(size) = db.get("pool_size").and_then(Node::as_int) {
            line.push_str(&format!(" pool_size={size}"));
        }
        databases.push_str(&line);
        databases.push('\n');
    }
    let mut useropts = String::from("; Managed by pig-install (pgsql role).\n");
    // pgBouncer looks every user up in the list, even for peer logins to
    // its admin console; the superuser has no password there.
    let mut userlist = format!("{} \"\"\n", pgb_quote(DBSU));
    let mut users = access::roles(ctx, "pg_default_roles")?;
    users.extend(access::roles(ctx, "pg_users")?);
    for user in users.iter().filter(|u| u.pgbouncer()) {
        let mut opts = Vec::new();
        if let Some(mode) = user.text("pool_mode") {
            opts.push(format!("pool_mode={mode}"));
        }
        if let Some(limit) = user.node.get("pool_connlimit").and_then(Node::as_int) {
            opts.push(format!("max_user_connections={limit}"));
        }
        if !opts.is_empty() {
            useropts.push_str(&format!("{} = {}\n", user.name, opts.join(" ")));
        }
        // Plain passwords let pgBouncer answer SCRAM itself and log in to
        // PostgreSQL with SCRAM too; the file is the superuser's only.
        if let Some(p) = &user.password {
            userlist.push_str(&format!("{} {}\n", pgb_quote(&user.name), pgb_quote(p)));
        }
    }
    out.push(Resource::directory(PGB_DIR, DBSU, DBSU, 0o750));
    out.push(pgb_file(PGB_INI, ini, false));
    out.push(pgb_file(PGB_DATABASES, databases, false));
    out.push(pgb_file(PGB_USEROPTS, useropts, false));
    out.push(pgb_file(PGB_USERLIST, userlist, true));
    out.push(pgb_file(PGB_HBA, hba::pgbouncer_hba_conf(ctx)?, false));
    // Listening addresses change only with a restart; the rest reloads.
    out.push(Resource::running_service(
        "pgbouncer",
        &[PGB_INI, CERT, KEY],
    ));
    out.push(Resource::Service {
        name: "pgbouncer".into(),
        enabled: true,
        active: true,
        restart_on: [PGB_DATABASES, PGB_USEROPTS, PGB_USERLIST, PGB_HBA]
            .iter()
            .map(PathBuf::from)
            .collect(),
        reload: true,
    });
    out.push(Resource::listening("pgbouncer", port));
    Ok(())
}

/// One member as HAProxy's services see it.
struct Server {
    name: String,
    ip: IpAddr,
    role: String,
    offline_query: bool,
    weight: i64,
}

/// Pigsty's service selectors: `[]` (every member) or `[? … ]` with
/// clauses joined by `||` and `&&`, each `pg_role == \`x\``,
/// `pg_offline_query` or its negation `!pg_offline_query`.
fn selected(ctx: &Context, selector: &str, server: &Server) -> Result<bool, RoleInputError> {
    let s = selector.trim();
    if s == "[]" {
        return Ok(true);
    }
    let bad = || {
        ctx.error(format!(
            "service selector {selector:?} is not one pig understands"
        ))
    };
    let body = s
        .strip_prefix("[?")
        .and_then(|b| b.strip_suffix(']'))
        .ok_or_else(bad)?;
    let mut any = false;
    for alternative in body.split("||") {
        let mut all = true;
        for clause in alternative.split("&&") {
            let clause = clause.trim();
            let hit = if clause == "pg_offline_query" {
                server.offline_query
            } else if clause == "!pg_offline_query" {
                !server.offline_query
            } else if let Some(value) = clause.strip_prefix("pg_role") {
                let value = value.trim().strip_prefix("==").ok_or_else(bad)?.trim();
                let role = value
                    .strip_prefix('`')
                    .and_then(|v| v.strip_suffix('`'))
                    .ok_or_else(bad)?;
                server.role == role
            } else {
                return Err(bad());
            };
            all &= hit;
        }
        any |= all;
    }
    Ok(any)
}

fn haproxy(ctx: &Context, member: &Member, out: &mut Vec<Resource>) -> Result<(), RoleInputError> {
    let plan = tune::cluster_failover(ctx)?.rto;
    let rest_port = ctx.int("patroni_port")?;
    let mut servers = Vec::new();
    for m in ctx
        .seed
        .pg_clusters()
        .get(&member.cluster)
        .into_iter()
        .flatten()
    {
        let vars = ctx.seed.host(m.ip).map(|h| &h.vars);
        servers.push(Server {
            name: format!("{}-{}", member.cluster, m.seq),
            ip: m.ip,
            role: m.role.clone(),
            offline_query: vars
                .and_then(|v| v.bool("pg_offline_query"))
                .unwrap_or(false),
            weight: vars.and_then(|v| v.int("pg_weight")).unwrap_or(100),
        });
    }
    let mut services: Vec<&Node> = Vec::new();
    for param in ["pg_default_services", "pg_services"] {
        if let Some(list) = ctx.host.vars.get(param).and_then(Node::as_seq) {
            services.extend(list.iter());
        }
    }
    let default_dest = ctx.str("pg_default_service_dest")?;
    let mut paths = vec![PathBuf::from(HAPROXY_DEFAULT)];
    let mut files = Vec::new();
    let mut ports = Vec::new();
    for svc in services {
        let text = |key: &str| svc.get(key).and_then(Node::scalar_text);
        let name = text("name")
            .ok_or_else(|| ctx.error(format!("a service has no name (line {})", svc.line)))?;
        access::check_name(ctx, "service", &name)?;
        let port = svc
            .get("port")
            .and_then(Node::as_int)
            .ok_or_else(|| ctx.error(format!("service {name} has no port")))?;
        let dest = match text("dest").unwrap_or_else(|| "default".into()) {
            d if d == "default" => default_dest.clone(),
            d => d,
        };
        let dest_port = match dest.as_str() {
            "postgres" => member.port,
            "pgbouncer" => ctx.int("pgbouncer_port")?,
            other => other.parse().map_err(|_| {
                ctx.error(format!(
                    "service {name}: dest {other:?} is not postgres, pgbouncer or a port"
                ))
            })?,
        };
        let selector = text("selector").unwrap_or_else(|| "[]".into());
        let backup = text("backup");
        let mut lines = Vec::new();
        for server in &servers {
            let is_backup = match &backup {
                Some(b) => selected(ctx, b, server)?,
                None => false,
            };
            if !(selected(ctx, &selector, server)? || is_backup) {
                continue;
            }
            lines.push(format!(
                "    server {} {}:{dest_port} check port {rest_port} weight {}{}",
                server.name,
                host_text(server.ip),
                server.weight,
                if is_backup { " backup" } else { "" }
            ));
        }
        let full = format!("{}-{name}", member.cluster);
        let cfg = ctx.render(
            "pgsql/service.cfg",
            include_str!("../../../templates/pgsql/service.cfg"),
            &[
                ("service", full.clone()),
                ("cluster", member.cluster.clone()),
                ("port", port.to_string()),
                (
                    "balance",
                    text("balance").unwrap_or_else(|| "roundrobin".into()),
                ),
                ("check", text("check").unwrap_or_else(|| "/".into())),
                // HAProxy takes no fractions ("0.5s"): whole milliseconds.
                ("inter", format!("{}ms", plan.inter_ms)),
                ("fastinter", format!("{}ms", plan.fastinter_ms)),
                ("downinter", format!("{}ms", plan.downinter_ms)),
                ("rise", plan.rise.to_string()),
                ("fall", plan.fall.to_string()),
                ("servers", lines.join("\n")),
            ],
        )?;
        let path = format!("/etc/haproxy/pgsql-{full}.cfg");
        paths.push(PathBuf::from(&path));
        files.push(Resource::file(&path, cfg, 0o644));
        ports.push((full, port));
    }
    out.push(Resource::file(
        HAPROXY_DEFAULT,
        "# Managed by pig-install (pgsql role): HAProxy reads every *.cfg of\n\
         # /etc/haproxy in lexical order (haproxy.cfg, then the services).\n\
         CONFIG=\"/etc/haproxy\"\n",
        0o644,
    ));
    out.extend(files);
    // The directory takes a restart (a reload keeps the old -f); new
    // service files a reload.
    out.push(Resource::Service {
        name: "haproxy".into(),
        enabled: true,
        active: true,
        restart_on: vec![PathBuf::from(HAPROXY_DEFAULT)],
        reload: false,
    });
    out.push(Resource::Service {
        name: "haproxy".into(),
        enabled: true,
        active: true,
        restart_on: paths.split_off(1),
        reload: true,
    });
    for (name, port) in ports {
        out.push(Resource::listening(&name, port));
    }
    Ok(())
}

/// Percent-encoding for a URL's user information.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn pg_exporter(
    ctx: &Context,
    member: &Member,
    out: &mut Vec<Resource>,
) -> Result<(), RoleInputError> {
    let port = ctx.int("pg_exporter_port")?;
    let dsn = match ctx.host.vars.str("pg_exporter_url") {
        Some(url) if !url.is_empty() => url,
        _ => format!(
            "postgresql://{}:{}@127.0.0.1:{}/postgres?{}",
            url_encode(&ctx.str("pg_monitor_username")?),
            url_encode(&ctx.str("pg_monitor_password")?),
            member.port,
            ctx.str("pg_exporter_params")?
        ),
    };
    if dsn.contains(['"', '\\', '\n']) {
        return Err(ctx.error("pg_exporter_url must not contain quotes, backslashes or newlines"));
    }
    let text = ctx.render(
        "pgsql/postgres-exporter.default",
        include_str!("../../../templates/pgsql/postgres-exporter.default"),
        &[
            ("dsn", dsn),
            ("port", port.to_string()),
            (
                "options",
                ctx.host.vars.str("pg_exporter_options").unwrap_or_default(),
            ),
        ],
    )?;
    out.push(Resource::File {
        path: PathBuf::from(PG_EXPORTER),
        content: text.into_bytes(),
        owner: "root".into(),
        group: "root".into(),
        mode: 0o600,
        secret: true,
    });
    out.push(Resource::running_service(
        "prometheus-postgres-exporter",
        &[PG_EXPORTER],
    ));
    out.push(Resource::listening("pg-exporter", port));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_user_information() {
        assert_eq!(url_encode("a b@c"), "a%20b%40c");
        assert_eq!(pgb_quote("x\"y"), "\"x\"\"y\"");
    }
}
