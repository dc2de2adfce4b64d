//! The NODE role: host name, `/etc/hosts`, time zone, NTP, kernel and
//! limits tuning, the admin user, node_exporter and HAProxy.

use std::path::PathBuf;

use super::{Context, RoleInputError};
use crate::engine::{Guard, Resource};
use crate::seed::Role;

const SYSCTL: &str = "/etc/sysctl.d/90-pig-node.conf";
const CHRONY: &str = "/etc/chrony/chrony.conf";
const NODE_EXPORTER: &str = "/etc/default/prometheus-node-exporter";
const HAPROXY: &str = "/etc/haproxy/haproxy.cfg";

/// Resources of the node role.
pub fn resources(ctx: &Context) -> Result<Vec<Resource>, RoleInputError> {
    let mut out = Vec::new();
    hostname(ctx, &mut out);
    etc_hosts(ctx, &mut out)?;
    timezone(ctx, &mut out)?;
    out.push(Resource::Packages {
        names: packages(ctx),
    });
    tuning(ctx, &mut out)?;
    admin(ctx, &mut out)?;
    if ctx.bool("node_ntp_enabled") {
        chrony(ctx, &mut out)?;
    }
    if ctx.bool("node_exporter_enabled") {
        let text = ctx.render(
            "node/node-exporter.default",
            include_str!("../../templates/node/node-exporter.default"),
            &[
                ("port", ctx.int("node_exporter_port")?.to_string()),
                (
                    "options",
                    ctx.host
                        .vars
                        .str("node_exporter_options")
                        .unwrap_or_default(),
                ),
            ],
        )?;
        out.push(Resource::file(NODE_EXPORTER, text, 0o644));
        out.push(Resource::running_service(
            "prometheus-node-exporter",
            &[NODE_EXPORTER],
        ));
        out.push(Resource::listening(
            "node-exporter",
            ctx.int("node_exporter_port")?,
        ));
    }
    if ctx.bool("haproxy_enabled") {
        haproxy(ctx, &mut out)?;
    }
    Ok(out)
}

/// Packages: Pigsty's node package lists plus what the enabled parts run.
fn packages(ctx: &Context) -> Vec<String> {
    let vars = &ctx.host.vars;
    let mut names = vars.strings("node_packages");
    names.extend(vars.strings("node_default_packages"));
    for (param, package) in [
        ("node_ntp_enabled", "chrony"),
        ("node_exporter_enabled", "prometheus-node-exporter"),
        ("haproxy_enabled", "haproxy"),
        ("node_admin_enabled", "sudo"),
    ] {
        if ctx.bool(param) {
            names.push(package.to_string());
        }
    }
    // Pigsty's lists hold comma-separated groups of names.
    let mut names: Vec<String> = names
        .iter()
        .flat_map(|n| n.split(','))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The host name, only when the inventory names the node and
/// `nodename_overwrite` is on (Pigsty's behaviour).
fn hostname(ctx: &Context, out: &mut Vec<Resource>) {
    let Some(name) = ctx.host.nodename() else {
        return;
    };
    if !ctx.bool("nodename_overwrite") {
        return;
    }
    out.push(Resource::file("/etc/hostname", format!("{name}\n"), 0o644));
    out.push(Resource::Command {
        name: "hostname".into(),
        argv: Resource::argv(&["hostname", &name]),
        guard: Guard::Unless(Resource::argv(&[
            "sh",
            "-c",
            "test \"$(hostname)\" = \"$1\"",
            "sh",
            &name,
        ])),
    });
}

/// Pigsty's `${admin_ip}` placeholder in host records.
fn expand(ctx: &Context, text: &str) -> String {
    let admin_ip = ctx.host.vars.str("admin_ip").unwrap_or_default();
    text.replace("${admin_ip}", &admin_ip)
}

fn etc_hosts(ctx: &Context, out: &mut Vec<Resource>) -> Result<(), RoleInputError> {
    if !ctx.bool("node_write_etc_hosts") {
        return Ok(());
    }
    let mut records: Vec<String> = Vec::new();
    for line in ctx
        .host
        .vars
        .strings("node_default_etc_hosts")
        .iter()
        .chain(ctx.host.vars.strings("node_etc_hosts").iter())
    {
        records.push(expand(ctx, line));
    }
    // Every named host of the inventory, so nodes reach each other by name.
    for h in ctx.seed.hosts() {
        if let Some(name) = h.nodename() {
            records.push(format!("{} {name}", h.ip));
        }
    }
    let text = ctx.render(
        "node/hosts",
        include_str!("../../templates/node/hosts"),
        &[("records", records.join("\n"))],
    )?;
    out.push(Resource::file("/etc/hosts", text, 0o644));
    Ok(())
}

fn timezone(ctx: &Context, out: &mut Vec<Resource>) -> Result<(), RoleInputError> {
    let tz = ctx.host.vars.str("node_timezone").unwrap_or_default();
    if tz.is_empty() {
        return Ok(());
    }
    // A zone name is a relative path under /usr/share/zoneinfo.
    if tz.starts_with('/') || tz.split('/').any(|part| part == ".." || part.is_empty()) {
        return Err(ctx.error(format!("node_timezone {tz:?} is not a time zone name")));
    }
    out.push(Resource::Link {
        path: PathBuf::from("/etc/localtime"),
        target: PathBuf::from("/usr/share/zoneinfo").join(&tz),
    });
    out.push(Resource::file("/etc/timezone", format!("{tz}\n"), 0o644));
    Ok(())
}

fn tuning(ctx: &Context, out: &mut Vec<Resource>) -> Result<(), RoleInputError> {
    let tune = ctx.str("node_tune")?;
    let profile = match tune.as_str() {
        "oltp" => include_str!("../../templates/node/tune/oltp.conf"),
        "olap" => include_str!("../../templates/node/tune/olap.conf"),
        "crit" => include_str!("../../templates/node/tune/crit.conf"),
        "tiny" => include_str!("../../templates/node/tune/tiny.conf"),
        _ => "",
    };
    let mut text = format!("# Managed by pig-install (node role): node_tune = {tune}.\n{profile}");
    if let Some(params) = ctx
        .host
        .vars
        .get("node_sysctl_params")
        .and_then(|n| n.as_map())
    {
        for (key, value) in params {
            if let Some(v) = value.scalar_text() {
                text.push_str(&format!("{key} = {v}\n"));
            }
        }
    }
    out.push(Resource::file(SYSCTL, text, 0o644));
    // systemd-sysctl applies /etc/sysctl.d and skips itself where /proc/sys
    // is read-only (containers), so it is the portable way to load them.
    out.push(Resource::Service {
        name: "systemd-sysctl".into(),
        enabled: false,
        active: false,
        restart_on: vec![PathBuf::from(SYSCTL)],
        reload: false,
    });
    out.push(Resource::file(
        "/etc/security/limits.d/limits.conf",
        include_str!("../../templates/node/limits.conf"),
        0o644,
    ));
    Ok(())
}

fn admin(ctx: &Context, out: &mut Vec<Resource>) -> Result<(), RoleInputError> {
    if !ctx.bool("node_admin_enabled") {
        return Ok(());
    }
    let name = ctx.str("node_admin_username")?;
    let id = u32::try_from(ctx.int("node_admin_uid")?)
        .map_err(|_| ctx.error("node_admin_uid is not a valid uid"))?;
    let home = PathBuf::from("/home").join(&name);
    out.push(Resource::Group {
        name: name.clone(),
        gid: Some(id),
    });
    out.push(Resource::User {
        name: name.clone(),
        uid: Some(id),
        group: name.clone(),
        home: home.clone(),
        shell: "/bin/bash".into(),
    });
    let mode = ctx.str("node_admin_sudo")?;
    let rule = match mode.as_str() {
        "all" => format!("{name} ALL=(ALL) ALL"),
        "nopass" => format!("{name} ALL=(ALL) NOPASSWD: ALL"),
        // Pigsty's "limit": service control and package queries only.
        _ => format!(
            "{name} ALL=(ALL) NOPASSWD: /usr/bin/systemctl stop *, /usr/bin/systemctl start *, \
             /usr/bin/systemctl restart *, /usr/bin/systemctl reload *, /usr/bin/systemctl status *"
        ),
    };
    let text = ctx.render(
        "node/sudoers",
        include_str!("../../templates/node/sudoers"),
        &[("mode", mode.clone()), ("rule", rule)],
    )?;
    out.push(Resource::directory("/etc/sudoers.d", "root", "root", 0o755));
    out.push(Resource::file(
        &format!("/etc/sudoers.d/{name}"),
        text,
        0o440,
    ));
    let keys = ctx.host.vars.strings("node_admin_pk_list");
    if !keys.is_empty() {
        let ssh = home.join(".ssh");
        out.push(Resource::Directory {
            path: ssh.clone(),
            owner: name.clone(),
            group: name.clone(),
            mode: 0o700,
        });
        out.push(Resource::File {
            path: ssh.join("authorized_keys"),
            content: format!("{}\n", keys.join("\n")).into_bytes(),
            owner: name.clone(),
            group: name,
            mode: 0o600,
            secret: false,
        });
    }
    Ok(())
}

/// Infra nodes serve time to the others; they follow `node_ntp_servers`.
/// Other nodes follow the infra nodes unless `node_ntp_servers` is set.
fn chrony(ctx: &Context, out: &mut Vec<Resource>) -> Result<(), RoleInputError> {
    let is_infra = ctx.host.has_role(Role::Infra);
    let infra: Vec<String> = ctx
        .seed
        .infra_nodes()
        .iter()
        .map(|m| format!("server {} iburst", m.ip))
        .collect();
    let own = ctx.host.vars.strings("node_ntp_servers");
    let servers = if is_infra || infra.is_empty() || ctx.host.vars.is_set("node_ntp_servers") {
        own
    } else {
        infra
    };
    let serve = if is_infra {
        let mut lines: Vec<String> = ctx
            .host
            .vars
            .strings("node_firewall_intranet")
            .iter()
            .map(|net| format!("allow {net}"))
            .collect();
        lines.push("local stratum 10".into());
        lines.join("\n")
    } else {
        String::new()
    };
    let text = ctx.render(
        "node/chrony.conf",
        include_str!("../../templates/node/chrony.conf"),
        &[
            (
                "mode",
                if is_infra {
                    "time server"
                } else {
                    "time client"
                }
                .to_string(),
            ),
            ("servers", servers.join("\n")),
            ("serve", serve),
        ],
    )?;
    out.push(Resource::file(CHRONY, text, 0o644));
    out.push(Resource::running_service("chrony", &[CHRONY]));
    Ok(())
}

fn haproxy(ctx: &Context, out: &mut Vec<Resource>) -> Result<(), RoleInputError> {
    let auth = if ctx.bool("haproxy_auth_enabled") {
        let user = ctx.str("haproxy_admin_username")?;
        let password = ctx.str("haproxy_admin_password")?;
        if user.contains(char::is_whitespace) || password.contains(char::is_whitespace) {
            return Err(ctx.error("haproxy_admin_username/password must not contain spaces"));
        }
        format!("    stats auth {user}:{password}")
    } else {
        String::new()
    };
    let timeout = |name: &str| -> Result<String, RoleInputError> {
        let text = ctx.str(name)?;
        crate::seed::params::parse_duration_ms(&text)
            .map(|ms| format!("{ms}ms"))
            .ok_or_else(|| ctx.error(format!("{name} {text:?} is not a duration")))
    };
    let text = ctx.render(
        "node/haproxy.cfg",
        include_str!("../../templates/node/haproxy.cfg"),
        &[
            ("admin_port", ctx.int("haproxy_exporter_port")?.to_string()),
            ("client_timeout", timeout("haproxy_client_timeout")?),
            ("server_timeout", timeout("haproxy_server_timeout")?),
            ("auth", auth),
        ],
    )?;
    out.push(Resource::File {
        path: PathBuf::from(HAPROXY),
        content: text.into_bytes(),
        owner: "root".into(),
        group: "root".into(),
        mode: 0o640,
        secret: true,
    });
    out.push(Resource::Service {
        name: "haproxy".into(),
        enabled: true,
        active: true,
        restart_on: vec![PathBuf::from(HAPROXY)],
        reload: ctx.bool("haproxy_reload"),
    });
    // A reload that fails to load the new configuration still exits 0:
    // the admin port answering is the proof.
    out.push(Resource::listening(
        "haproxy",
        ctx.int("haproxy_exporter_port")?,
    ));
    Ok(())
}
