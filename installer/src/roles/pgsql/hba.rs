//! Host-based authentication: Pigsty's HBA rule model rendered into
//! `pg_hba.conf` (PostgreSQL) and `pgb_hba.conf` (pgBouncer).
//!
//! A rule is either the alias form `{user, db, addr, auth, title, role,
//! order}` or the raw form `{rules: [lines…], title, role, order}`. The
//! default rules (`pg_default_hba_rules`, `pgb_default_hba_rules`) and the
//! seed's own (`pg_hba_rules`, `pgb_hba_rules`) are merged and sorted by
//! `order` (first match wins in both files, so order is priority); rules
//! without `order` keep their list position after all ordered ones, which
//! is how Pigsty documents it. A rule whose `role` does not apply to this
//! instance is written commented out with `[DISABLED]`, as Pigsty does, so
//! the file shows the whole policy.

use std::fmt::{self, Write as _};
use std::net::IpAddr;

use super::super::{Context, RoleInputError};
use crate::seed::params::{Origin, parse_cidr};
use crate::seed::yaml::Node;
use crate::seed::{Host, Role};

/// Which configuration file the rules are rendered for; the two differ in
/// how `ident` is spelled and in what they refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HbaTarget {
    /// PostgreSQL's `pg_hba.conf`.
    Postgres,
    /// pgBouncer's `auth_hba_file`.
    Pgbouncer,
}

/// What the address and user aliases stand for on this instance, and how
/// it filters rules by role.
#[derive(Debug, Clone, PartialEq)]
pub struct HbaAliases {
    /// `<pg_cluster>-<pg_seq>`, for the file header.
    pub instance: String,
    /// This instance's `pg_role`: primary, replica or offline.
    pub pg_role: String,
    /// `pg_offline_query`: rules for role `offline` also apply here.
    pub offline_query: bool,
    /// The method `pwd` and `ssl` stand for: `scram-sha-256` or `md5` (`pg_pwd_enc`).
    pub password_method: String,
    /// `admin`: `admin_ip`.
    pub admin_ip: IpAddr,
    /// `infra`: hosts of group `infra`, sorted.
    pub infra: Vec<IpAddr>,
    /// `cluster`: this cluster's members, by `pg_seq`.
    pub cluster: Vec<IpAddr>,
    /// `intra`/`intranet`: `node_firewall_intranet`, or the RFC 1918 ranges when empty.
    pub intranet: Vec<String>,
    /// `${dbsu}`: `pg_dbsu`.
    pub dbsu: String,
    /// `${repl}`: `pg_replication_username`.
    pub replicator: String,
    /// `${monitor}`: `pg_monitor_username`.
    pub monitor: String,
    /// `${admin}`: `pg_admin_username`.
    pub admin: String,
}

/// The private ranges `intra` means when `node_firewall_intranet` is empty
/// (Pigsty's fallback in its HBA templates).
pub const RFC1918: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// A rule list to render and where it was written, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct RuleList<'a> {
    /// YAML path of the list, like `all.children.pg-test.vars.pg_hba_rules`.
    pub path: &'a str,
    /// The list itself.
    pub rules: &'a Node,
}

/// A rule that cannot be rendered, with the YAML path of the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", line_text(*line))]
pub struct HbaRuleError {
    /// YAML path of the rule, like `….pg_hba_rules[2]`.
    pub path: String,
    /// Line of the rule in the seed, 0 when unknown.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

fn line_text(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" (line {line})")
    }
}

/// Fields a rule may have; anything else is a typo worth reporting.
const FIELDS: [&str; 8] = [
    "user", "db", "addr", "auth", "title", "role", "order", "rules",
];

/// Roles a rule may be limited to; `default` and `common` apply everywhere.
const ROLES: [&str; 7] = [
    "default", "common", "primary", "replica", "offline", "standby", "delayed",
];

/// Address aliases with a meaning of their own.
const ADDR_ALIASES: [&str; 9] = [
    "local",
    "localhost",
    "admin",
    "infra",
    "cluster",
    "intra",
    "intranet",
    "world",
    "all",
];

/// One rule after checking, before rendering.
struct Rule {
    order: Option<i64>,
    title: String,
    role: String,
    body: Body,
}

enum Body {
    Raw(Vec<String>),
    Alias {
        user: String,
        db: String,
        addr: String,
        auth: String,
    },
}

impl HbaAliases {
    fn user(&self, user: &str) -> String {
        match user {
            "${dbsu}" => self.dbsu.clone(),
            "${repl}" => self.replicator.clone(),
            "${monitor}" => self.monitor.clone(),
            "${admin}" => self.admin.clone(),
            other => other.to_string(),
        }
    }

    /// Whether a rule limited to `role` applies to this instance.
    fn applies(&self, role: &str) -> bool {
        role == "default"
            || role == "common"
            || role == self.pg_role
            || (role == "offline" && self.offline_query)
    }

    /// The method an auth alias stands for in `target`, or `None` for an
    /// unknown alias.
    fn method(&self, target: HbaTarget, auth: &str) -> Option<String> {
        let os = match target {
            HbaTarget::Postgres => "ident",
            HbaTarget::Pgbouncer => "peer",
        };
        Some(
            match auth {
                "deny" | "reject" => "reject",
                "pwd" | "ssl" => &self.password_method,
                "sha" | "scram" | "ssl-sha" | "scram-sha-256" => "scram-sha-256",
                "md5" | "ssl-md5" => "md5",
                "cert" => "cert",
                "os" | "ident" => os,
                "peer" => "peer",
                "trust" => "trust",
                _ => return None,
            }
            .to_string(),
        )
    }
}

/// Whether `auth` requires a TLS connection (`hostssl`).
fn needs_ssl(auth: &str) -> bool {
    matches!(auth, "ssl" | "ssl-md5" | "ssl-sha" | "cert")
}

/// Render `lists` (defaults first, then the seed's own) into the text of
/// the HBA file for `target`. Pure: everything it needs is in `aliases`.
pub fn render(
    target: HbaTarget,
    aliases: &HbaAliases,
    lists: &[RuleList],
) -> Result<String, HbaRuleError> {
    let mut rules = Vec::new();
    for list in lists {
        let Some(items) = list.rules.as_seq() else {
            return Err(HbaRuleError {
                path: list.path.to_string(),
                line: list.rules.line,
                message: format!(
                    "expected a list of rules, found {}",
                    list.rules.value.kind()
                ),
            });
        };
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", list.path);
            rules.push(parse_rule(target, aliases, item, &path)?);
        }
    }
    // A stable sort keeps list order among equal orders and among the
    // rules that have none, which all come last.
    rules.sort_by_key(|r| r.order.unwrap_or(i64::MAX));

    let mut out = header(target, aliases);
    for rule in &rules {
        write_rule(&mut out, target, aliases, rule);
    }
    Ok(out)
}

fn header(target: HbaTarget, a: &HbaAliases) -> String {
    let (file, what) = match target {
        HbaTarget::Postgres => ("pg_hba.conf", "PostgreSQL"),
        HbaTarget::Pgbouncer => ("pgb_hba.conf", "pgBouncer"),
    };
    let ips = |list: &[IpAddr]| {
        list.iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {file}: {what} HBA rules of {} [{}]",
        a.instance, a.pg_role
    );
    s.push_str("# Written by pig-install from the seed; edit the seed, not this file.\n\n");
    s.push_str("# addr alias\n");
    let _ = writeln!(s, "# admin     : {}", a.admin_ip);
    let _ = writeln!(s, "# infra     : {}", ips(&a.infra));
    let _ = writeln!(s, "# intra     : {}", a.intranet.join(", "));
    let _ = writeln!(s, "# cluster   : {}", ips(&a.cluster));
    s.push_str("\n# user alias\n");
    let _ = writeln!(s, "# dbsu    :  {}", a.dbsu);
    let _ = writeln!(s, "# repl    :  {}", a.replicator);
    let _ = writeln!(s, "# monitor :  {}", a.monitor);
    let _ = writeln!(s, "# admin   :  {}", a.admin);
    s.push('\n');
    s
}

fn text_field(node: &Node, key: &str, path: &str) -> Result<Option<String>, HbaRuleError> {
    match node.get(key) {
        None => Ok(None),
        Some(v) => match v.scalar_text() {
            Some(t) => Ok(Some(t)),
            None => Err(HbaRuleError {
                path: format!("{path}.{key}"),
                line: v.line,
                message: format!("expected text, found {}", v.value.kind()),
            }),
        },
    }
}

fn parse_rule(
    target: HbaTarget,
    aliases: &HbaAliases,
    node: &Node,
    path: &str,
) -> Result<Rule, HbaRuleError> {
    let err = |message: String| HbaRuleError {
        path: path.to_string(),
        line: node.line,
        message,
    };
    let Some(entries) = node.as_map() else {
        return Err(err(format!(
            "expected a rule mapping like {{user: dbuser_app, db: app, addr: intra, auth: pwd}}, found {}",
            node.value.kind()
        )));
    };
    if let Some((key, _)) = entries.iter().find(|(k, _)| !FIELDS.contains(&k.as_str())) {
        return Err(err(format!(
            "unknown rule field {key:?}; a rule has {}",
            FIELDS.join(", ")
        )));
    }
    let order = match node.get("order") {
        None => None,
        Some(v) => Some(v.as_int().ok_or_else(|| HbaRuleError {
            path: format!("{path}.order"),
            line: v.line,
            message: format!("expected an integer, found {}", v.value.kind()),
        })?),
    };
    let title = text_field(node, "title", path)?.unwrap_or_default();
    let role = text_field(node, "role", path)?
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "default".to_string());
    if !ROLES.contains(&role.as_str()) {
        return Err(err(format!(
            "invalid role {role:?}; expected one of {}",
            ROLES.join(", ")
        )));
    }

    if let Some(raw) = node
        .get("rules")
        .and_then(Node::as_seq)
        .filter(|r| !r.is_empty())
    {
        let mut lines = Vec::new();
        for (i, line) in raw.iter().enumerate() {
            let text = line.as_str().ok_or_else(|| HbaRuleError {
                path: format!("{path}.rules[{i}]"),
                line: line.line,
                message: format!("expected an HBA line as text, found {}", line.value.kind()),
            })?;
            if text.contains('\n') {
                return Err(HbaRuleError {
                    path: format!("{path}.rules[{i}]"),
                    line: line.line,
                    message: "one HBA line per list item".into(),
                });
            }
            lines.push(text.to_string());
        }
        return Ok(Rule {
            order,
            title,
            role,
            body: Body::Raw(lines),
        });
    }

    let addr = text_field(node, "addr", path)?
        .filter(|a| !a.is_empty())
        .ok_or_else(|| err("a rule needs `addr` (or raw `rules`)".into()))?;
    let addr = if ADDR_ALIASES.contains(&addr.as_str()) {
        addr
    } else {
        literal_address(&addr).ok_or_else(|| {
            err(format!(
                "invalid addr {addr:?}: expected an address like 10.0.0.0/8 or one of {}",
                ADDR_ALIASES.join(", ")
            ))
        })?
    };
    let user = text_field(node, "user", path)?
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "all".into());
    let db = text_field(node, "db", path)?
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "all".into());
    if target == HbaTarget::Pgbouncer && db == "replication" {
        return Err(err(
            "db: replication is not allowed in pgBouncer HBA rules".into()
        ));
    }
    let auth = text_field(node, "auth", path)?
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "pwd".into());
    if aliases.method(target, &auth).is_none() {
        return Err(err(format!(
            "unsupported auth {auth:?}: use deny, pwd, ssl, sha, scram, md5, ssl-md5, ssl-sha, cert, os, ident, peer or trust, or a raw `rules` entry"
        )));
    }
    Ok(Rule {
        order,
        title,
        role,
        body: Body::Alias {
            user: aliases.user(&user),
            db,
            addr,
            auth,
        },
    })
}

/// A literal address as an HBA `address` column: a bare address gets a
/// host prefix, since PostgreSQL requires one.
fn literal_address(addr: &str) -> Option<String> {
    if let Some((ip, prefix)) = parse_cidr(addr) {
        return Some(format!("{ip}/{prefix}"));
    }
    let ip: IpAddr = addr.parse().ok()?;
    Some(host_cidr(ip))
}

fn host_cidr(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}/32"),
        IpAddr::V6(v6) => format!("{v6}/128"),
    }
}

fn write_rule(out: &mut String, target: HbaTarget, a: &HbaAliases, rule: &Rule) {
    let enabled = a.applies(&rule.role);
    let prefix = if enabled { "" } else { "#" };
    out.push('#');
    if !rule.title.is_empty() {
        let _ = write!(out, " {}", rule.title);
    }
    let _ = write!(out, " [{}]", rule.role);
    if !enabled {
        out.push_str(" [DISABLED]");
    }
    out.push('\n');
    match &rule.body {
        Body::Raw(lines) => {
            for line in lines {
                let _ = writeln!(out, "{prefix}{line}");
            }
        }
        Body::Alias {
            user,
            db,
            addr,
            auth,
        } => {
            let method = a.method(target, auth).unwrap_or_default();
            let conn = if needs_ssl(auth) { "hostssl" } else { "host" };
            let mut line = |conn: &str, address: &str| {
                let _ = writeln!(
                    out,
                    "{}",
                    Line {
                        prefix,
                        conn,
                        db,
                        user,
                        address,
                        method: &method
                    }
                );
            };
            match addr.as_str() {
                "local" => line("local", ""),
                "localhost" => {
                    line("local", "");
                    line("host", "127.0.0.1/32");
                    line("host", "::1/128");
                }
                "admin" => line(conn, &host_cidr(a.admin_ip)),
                "infra" => a.infra.iter().for_each(|ip| line(conn, &host_cidr(*ip))),
                "cluster" => a.cluster.iter().for_each(|ip| line(conn, &host_cidr(*ip))),
                "intra" | "intranet" => a.intranet.iter().for_each(|net| line(conn, net)),
                "world" | "all" => {
                    line(conn, "0.0.0.0/0");
                    line(conn, "::/0");
                }
                literal => line(conn, literal),
            }
        }
    }
    out.push('\n');
}

/// One HBA line in Pigsty's column layout.
struct Line<'a> {
    prefix: &'a str,
    conn: &'a str,
    db: &'a str,
    user: &'a str,
    address: &'a str,
    method: &'a str,
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{:<8} {:<18} {:<18} {:<18} {}",
            self.prefix, self.conn, self.db, self.user, self.address, self.method
        )
    }
}

/// The aliases of this node's instance, read from the seed.
pub fn aliases(ctx: &Context) -> Result<HbaAliases, RoleInputError> {
    let vars = &ctx.host.vars;
    let cluster = ctx.str("pg_cluster")?;
    let seq = ctx.int("pg_seq")?;
    let admin_ip = ctx.str("admin_ip")?;
    let admin_ip: IpAddr = admin_ip
        .parse()
        .map_err(|_| ctx.error(format!("admin_ip {admin_ip:?} is not an IP address")))?;
    let mut infra: Vec<IpAddr> = ctx
        .seed
        .hosts_with(Role::Infra)
        .map(|h: &Host| h.ip)
        .collect();
    infra.sort();
    let members = ctx
        .seed
        .pg_clusters()
        .remove(&cluster)
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.ip)
        .collect();
    let mut intranet = vars.strings("node_firewall_intranet");
    if intranet.is_empty() {
        intranet = RFC1918.iter().map(|s| s.to_string()).collect();
    }
    Ok(HbaAliases {
        instance: format!("{cluster}-{seq}"),
        pg_role: ctx.str("pg_role")?,
        offline_query: ctx.bool("pg_offline_query"),
        password_method: ctx.str("pg_pwd_enc")?,
        admin_ip,
        infra,
        cluster: members,
        intranet,
        dbsu: ctx.str("pg_dbsu")?,
        replicator: ctx.str("pg_replication_username")?,
        monitor: ctx.str("pg_monitor_username")?,
        admin: ctx.str("pg_admin_username")?,
    })
}

/// Where parameter `name` of this host was written, as a YAML path.
fn param_path(ctx: &Context, name: &str) -> String {
    match ctx.host.vars.resolved(name).map(|r| r.origin) {
        Some(Origin::Set(path)) => path,
        _ => format!("defaults.yml: {name}"),
    }
}

fn render_params(
    ctx: &Context,
    target: HbaTarget,
    default_param: &str,
    param: &str,
) -> Result<String, RoleInputError> {
    let aliases = aliases(ctx)?;
    let empty = Node::synthetic(crate::seed::yaml::Value::Seq(Vec::new()));
    let default_path = param_path(ctx, default_param);
    let path = param_path(ctx, param);
    let lists = [
        RuleList {
            path: &default_path,
            rules: ctx.host.vars.get(default_param).unwrap_or(&empty),
        },
        RuleList {
            path: &path,
            rules: ctx.host.vars.get(param).unwrap_or(&empty),
        },
    ];
    render(target, &aliases, &lists).map_err(|e| ctx.error(e.to_string()))
}

/// The text of `/pg/data/pg_hba.conf` for this node: `pg_default_hba_rules`
/// merged with `pg_hba_rules`.
pub fn pg_hba_conf(ctx: &Context) -> Result<String, RoleInputError> {
    render_params(
        ctx,
        HbaTarget::Postgres,
        "pg_default_hba_rules",
        "pg_hba_rules",
    )
}

/// The text of pgBouncer's HBA file for this node: `pgb_default_hba_rules`
/// merged with `pgb_hba_rules`.
pub fn pgbouncer_hba_conf(ctx: &Context) -> Result<String, RoleInputError> {
    render_params(
        ctx,
        HbaTarget::Pgbouncer,
        "pgb_default_hba_rules",
        "pgb_hba_rules",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::yaml;
    use crate::seed::{LoadOptions, Seed};

    /// A Pigsty demo-style inventory: one infra node that is also the
    /// primary of pg-meta, as in the rendered examples of Pigsty's HBA docs.
    fn seed(cluster_vars: &str) -> Seed {
        let text = format!(
            "all:\n  children:\n    infra:\n      hosts:\n        10.10.10.10: {{ infra_seq: 1 }}\n    \
             pg-meta:\n      hosts:\n        10.10.10.10: {{ pg_seq: 1, pg_role: primary }}\n        \
             10.10.10.11: {{ pg_seq: 2, pg_role: replica }}\n        \
             10.10.10.12: {{ pg_seq: 3, pg_role: offline }}\n      vars:\n        pg_cluster: pg-meta\n{cluster_vars}  \
             vars:\n    admin_ip: 10.10.10.10\n"
        );
        Seed::from_str_with(
            &text,
            "seed.yml",
            LoadOptions {
                insecure_default_passwords: true,
            },
        )
        .unwrap()
    }

    fn with_ctx<T>(seed: &Seed, ip: &str, f: impl FnOnce(&Context) -> T) -> T {
        let host = seed.host(ip.parse().unwrap()).unwrap();
        f(&Context {
            seed,
            host,
            bundle: None,
            local_repo: false,
            machine: None,
        })
    }

    /// The rule lines of a rendered file: everything after the alias header.
    fn body(text: &str) -> &str {
        let start = text.find("# admin   :").unwrap();
        let rest = &text[start..];
        &rest[rest.find("\n\n").unwrap() + 2..]
    }

    // pgb_hba.conf as rendered in Pigsty's HBA documentation (docs/pgsql/
    // config/hba, "Example: Rendered pgb_hba.conf") for the same default
    // rules, plus the IPv6 loopback and world lines Pigsty v4 added
    // ("pg_hba and pgbouncer_hba now support IPv6 localhost").
    const PGB_DOC: &str = "\
# dbsu local admin access with os ident [default]
local    pgbouncer          postgres                              peer

# allow all user local access with pwd [default]
local    all                all                                   scram-sha-256
host     all                all                127.0.0.1/32       scram-sha-256
host     all                all                ::1/128            scram-sha-256

# monitor access via intranet with pwd [default]
host     pgbouncer          dbuser_monitor     10.0.0.0/8         scram-sha-256
host     pgbouncer          dbuser_monitor     192.168.0.0/16     scram-sha-256
host     pgbouncer          dbuser_monitor     172.16.0.0/12      scram-sha-256

# reject all other monitor access addr [default]
host     all                dbuser_monitor     0.0.0.0/0          reject
host     all                dbuser_monitor     ::/0               reject

# admin access via intranet with pwd [default]
host     all                dbuser_dba         10.0.0.0/8         scram-sha-256
host     all                dbuser_dba         192.168.0.0/16     scram-sha-256
host     all                dbuser_dba         172.16.0.0/12      scram-sha-256

# reject all other admin access addr [default]
host     all                dbuser_dba         0.0.0.0/0          reject
host     all                dbuser_dba         ::/0               reject

# allow all user intra access with pwd [default]
host     all                all                10.0.0.0/8         scram-sha-256
host     all                all                192.168.0.0/16     scram-sha-256
host     all                all                172.16.0.0/12      scram-sha-256

";

    #[test]
    fn pgbouncer_defaults_render_as_pigsty_documents() {
        // node_firewall_intranet's default lists 192.168 before 172.16,
        // so the intra lines follow that order (the docs show the
        // template's own fallback order).
        let s = seed("");
        let text = with_ctx(&s, "10.10.10.10", pgbouncer_hba_conf).unwrap();
        assert!(text.starts_with("# pgb_hba.conf: pgBouncer HBA rules of pg-meta-1 [primary]\n"));
        assert_eq!(body(&text), PGB_DOC);
    }

    // The 2023 default rule set and its rendering, from the same page
    // ("Example: Rendered pg_hba.conf"), with Pigsty v4's IPv6 lines.
    const PG_RULES_2023: &str = "
- {user: '${dbsu}'    ,db: all         ,addr: local     ,auth: ident ,title: 'dbsu access via local os user ident'  }
- {user: '${dbsu}'    ,db: replication ,addr: local     ,auth: ident ,title: 'dbsu replication from local os ident' }
- {user: '${repl}'    ,db: replication ,addr: localhost ,auth: pwd   ,title: 'replicator replication from localhost'}
- {user: '${repl}'    ,db: replication ,addr: intra     ,auth: pwd   ,title: 'replicator replication from intranet' }
- {user: '${repl}'    ,db: postgres    ,addr: intra     ,auth: pwd   ,title: 'replicator postgres db from intranet' }
- {user: '${monitor}' ,db: all         ,addr: localhost ,auth: pwd   ,title: 'monitor from localhost with password' }
- {user: '${monitor}' ,db: all         ,addr: infra     ,auth: pwd   ,title: 'monitor from infra host with password'}
- {user: '${admin}'   ,db: all         ,addr: infra     ,auth: ssl   ,title: 'admin @ infra nodes with pwd & ssl'   }
- {user: '${admin}'   ,db: all         ,addr: world     ,auth: ssl   ,title: 'admin @ everywhere with ssl & pwd'    }
- {user: '+dbrole_readonly',db: all    ,addr: localhost ,auth: pwd   ,title: 'pgbouncer read/write via local socket'}
- {user: '+dbrole_readonly',db: all    ,addr: intra     ,auth: pwd   ,title: 'read/write biz user via password'     }
- {user: '+dbrole_offline' ,db: all    ,addr: intra     ,auth: pwd   ,title: 'allow etl offline tasks from intranet'}
";

    const PG_DOC_2023: &str = "\
# dbsu access via local os user ident [default]
local    all                postgres                              ident

# dbsu replication from local os ident [default]
local    replication        postgres                              ident

# replicator replication from localhost [default]
local    replication        replicator                            scram-sha-256
host     replication        replicator         127.0.0.1/32       scram-sha-256
host     replication        replicator         ::1/128            scram-sha-256

# replicator replication from intranet [default]
host     replication        replicator         10.0.0.0/8         scram-sha-256
host     replication        replicator         172.16.0.0/12      scram-sha-256
host     replication        replicator         192.168.0.0/16     scram-sha-256

# replicator postgres db from intranet [default]
host     postgres           replicator         10.0.0.0/8         scram-sha-256
host     postgres           replicator         172.16.0.0/12      scram-sha-256
host     postgres           replicator         192.168.0.0/16     scram-sha-256

# monitor from localhost with password [default]
local    all                dbuser_monitor                        scram-sha-256
host     all                dbuser_monitor     127.0.0.1/32       scram-sha-256
host     all                dbuser_monitor     ::1/128            scram-sha-256

# monitor from infra host with password [default]
host     all                dbuser_monitor     10.10.10.10/32     scram-sha-256

# admin @ infra nodes with pwd & ssl [default]
hostssl  all                dbuser_dba         10.10.10.10/32     scram-sha-256

# admin @ everywhere with ssl & pwd [default]
hostssl  all                dbuser_dba         0.0.0.0/0          scram-sha-256
hostssl  all                dbuser_dba         ::/0               scram-sha-256

# pgbouncer read/write via local socket [default]
local    all                +dbrole_readonly                      scram-sha-256
host     all                +dbrole_readonly   127.0.0.1/32       scram-sha-256
host     all                +dbrole_readonly   ::1/128            scram-sha-256

# read/write biz user via password [default]
host     all                +dbrole_readonly   10.0.0.0/8         scram-sha-256
host     all                +dbrole_readonly   172.16.0.0/12      scram-sha-256
host     all                +dbrole_readonly   192.168.0.0/16     scram-sha-256

# allow etl offline tasks from intranet [default]
host     all                +dbrole_offline    10.0.0.0/8         scram-sha-256
host     all                +dbrole_offline    172.16.0.0/12      scram-sha-256
host     all                +dbrole_offline    192.168.0.0/16     scram-sha-256

";

    fn doc_aliases() -> HbaAliases {
        HbaAliases {
            instance: "pg-meta-1".into(),
            pg_role: "primary".into(),
            offline_query: false,
            password_method: "scram-sha-256".into(),
            admin_ip: "10.10.10.10".parse().unwrap(),
            infra: vec!["10.10.10.10".parse().unwrap()],
            cluster: vec!["10.10.10.10".parse().unwrap()],
            intranet: RFC1918.iter().map(|s| s.to_string()).collect(),
            dbsu: "postgres".into(),
            replicator: "replicator".into(),
            monitor: "dbuser_monitor".into(),
            admin: "dbuser_dba".into(),
        }
    }

    fn rules(text: &str) -> Node {
        yaml::parse(text, "rules.yml").unwrap()
    }

    #[test]
    fn postgres_rules_render_as_pigsty_documents() {
        let list = rules(PG_RULES_2023);
        let text = render(
            HbaTarget::Postgres,
            &doc_aliases(),
            &[RuleList {
                path: "pg_default_hba_rules",
                rules: &list,
            }],
        )
        .unwrap();
        assert_eq!(body(&text), PG_DOC_2023);
    }

    #[test]
    fn pig_defaults_follow_pigsty_v4_order_and_aliases() {
        let s = seed("");
        let text = with_ctx(&s, "10.10.10.10", pg_hba_conf).unwrap();
        let titles: Vec<&str> = text.lines().filter(|l| l.ends_with("[default]")).collect();
        assert_eq!(titles.len(), 12, "{text}");
        assert_eq!(titles[0], "# dbsu access via local os user ident [default]");
        assert_eq!(titles[7], "# admin @ intranet nodes with pwd [default]");
        assert_eq!(
            titles[11],
            "# allow etl offline tasks from intranet [default]"
        );
        // Postgres spells the os alias `ident`, pgBouncer `peer`.
        assert!(text.contains(
            "\nlocal    all                postgres                              ident\n"
        ));
        assert!(text.contains(
            "\nhostssl  all                dbuser_dba         ::/0               scram-sha-256\n"
        ));
        assert!(text.contains(
            "\nhost     all                dbuser_monitor     10.10.10.10/32     scram-sha-256\n"
        ));
    }

    #[test]
    fn seed_rules_merge_by_order_and_filter_by_role() {
        let vars = "        pg_offline_query: false\n        pg_hba_rules:\n          \
            - { user: dbuser_app, db: app, addr: cluster, auth: md5, title: app first, order: 50 }\n          \
            - { user: etl, db: all, addr: 10.20.0.5, auth: ssl, title: no order comes last }\n          \
            - { user: all, db: all, addr: world, auth: deny, title: replicas only, role: replica, order: 120 }\n          \
            - { rules: ['host all all 10.30.0.0/16 trust'], title: offline raw, role: offline, order: 700 }\n";
        let s = seed(vars);
        let primary = with_ctx(&s, "10.10.10.10", pg_hba_conf).unwrap();
        let b = body(&primary);
        assert!(
            b.starts_with(
                "# app first [default]\n\
                 host     app                dbuser_app         10.10.10.10/32     md5\n\
                 host     app                dbuser_app         10.10.10.11/32     md5\n\
                 host     app                dbuser_app         10.10.10.12/32     md5\n\n\
                 # dbsu access via local os user ident [default]\n"
            ),
            "{b}"
        );
        // Order 120 sorts between the defaults 100 and 150; not for a primary.
        assert!(b.contains(
            "# dbsu access via local os user ident [default]\n\
             local    all                postgres                              ident\n\n\
             # replicas only [replica] [DISABLED]\n\
             #host     all                all                0.0.0.0/0          reject\n"
        ));
        assert!(
            b.contains("# offline raw [offline] [DISABLED]\n#host all all 10.30.0.0/16 trust\n")
        );
        assert!(b.ends_with(
            "# no order comes last [default]\n\
             hostssl  all                etl                10.20.0.5/32       scram-sha-256\n\n"
        ));
        let replica = with_ctx(&s, "10.10.10.11", pg_hba_conf).unwrap();
        assert!(replica.contains(
            "# replicas only [replica]\nhost     all                all                0.0.0.0/0          reject\n"
        ));
        let offline = with_ctx(&s, "10.10.10.12", pg_hba_conf).unwrap();
        assert!(offline.contains("# offline raw [offline]\nhost all all 10.30.0.0/16 trust\n"));
    }

    #[test]
    fn offline_query_enables_offline_rules_and_md5_changes_pwd() {
        let vars = "        pg_offline_query: true\n        pg_pwd_enc: md5\n        pg_hba_rules:\n          \
            - { rules: ['host all all 10.30.0.0/16 trust'], title: offline raw, role: offline }\n";
        let s = seed(vars);
        let text = with_ctx(&s, "10.10.10.10", pg_hba_conf).unwrap();
        assert!(text.contains("# offline raw [offline]\nhost all all 10.30.0.0/16 trust\n"));
        assert!(
            text.contains(
                "\nhost     all                +dbrole_readonly   10.0.0.0/8         md5\n"
            )
        );
        // `sha` names SCRAM whatever pg_pwd_enc says.
        let list = rules("- { addr: intra, auth: sha }\n");
        let mut a = doc_aliases();
        a.password_method = "md5".into();
        let out = render(
            HbaTarget::Postgres,
            &a,
            &[RuleList {
                path: "x",
                rules: &list,
            }],
        )
        .unwrap();
        assert!(out.contains(
            "host     all                all                10.0.0.0/8         scram-sha-256\n"
        ));
    }

    #[test]
    fn empty_intranet_falls_back_to_rfc1918() {
        let s = seed("        node_firewall_intranet: []\n");
        let a = with_ctx(&s, "10.10.10.10", aliases).unwrap();
        assert_eq!(a.intranet, RFC1918.map(String::from).to_vec());
        assert_eq!(
            a.cluster,
            ["10.10.10.10", "10.10.10.11", "10.10.10.12"].map(|i| i.parse::<IpAddr>().unwrap())
        );
    }

    #[test]
    fn malformed_rules_name_their_seed_path_and_line() {
        let vars = "        pg_hba_rules:\n          \
            - { user: a, db: all, addr: intra, auth: pwd }\n          \
            - { user: b, db: all, addr: intarnet, auth: pwd }\n";
        let s = seed(vars);
        let e = with_ctx(&s, "10.10.10.10", pg_hba_conf)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("seed.yml: all.children.pg-meta.vars.pg_hba_rules[1] (line 15): invalid addr \"intarnet\""),
            "{e}"
        );

        let bad = |rule: &str, target: HbaTarget| {
            let list = rules(&format!("- {rule}\n"));
            render(
                target,
                &doc_aliases(),
                &[RuleList {
                    path: "pg_hba_rules",
                    rules: &list,
                }],
            )
            .unwrap_err()
            .to_string()
        };
        let pg = HbaTarget::Postgres;
        assert!(bad("{ adr: intra }", pg).contains("unknown rule field \"adr\""));
        assert!(
            bad("{ addr: intra, auth: password }", pg).contains("unsupported auth \"password\"")
        );
        assert!(bad("{ addr: intra, role: leader }", pg).contains("invalid role \"leader\""));
        assert!(bad("{ user: x }", pg).contains("needs `addr`"));
        assert!(
            bad("{ addr: intra, order: first }", pg)
                .starts_with("pg_hba_rules[0].order (line 1): expected an integer")
        );
        assert!(bad("{ rules: [ 1 ] }", pg).starts_with("pg_hba_rules[0].rules[0]"));
        assert!(bad("just text", pg).contains("expected a rule mapping"));
        assert!(
            bad("{ db: replication, addr: intra }", HbaTarget::Pgbouncer)
                .contains("not allowed in pgBouncer")
        );
    }
}
