//! Roles are pure: these tests assert on the resources they ask for and
//! on the plans the engine makes from them against a fake machine.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Result;
use pig_install::engine::system::{PathState, UnitState, UserState};
use pig_install::engine::{Action, Resource, Stamp, System, plan};
use pig_install::roles::{self, Context};
use pig_install::seed::init::{self, Template};
use pig_install::seed::{Role, Seed};

fn seed(template: Template, hosts: &[&str]) -> Seed {
    let ips: Vec<IpAddr> = hosts.iter().map(|h| h.parse().unwrap()).collect();
    let text = init::render(template, &ips, None, 15).unwrap();
    Seed::from_str(&text, "seed.yml").unwrap()
}

fn resources(seed: &Seed, ip: &str, roles: &[Role]) -> Vec<(String, Resource)> {
    let host = seed.host(ip.parse().unwrap()).unwrap();
    let ctx = Context {
        seed,
        host,
        bundle: None,
        local_repo: false,
        machine: None,
    };
    roles::resources(&ctx, roles).unwrap()
}

fn file<'a>(list: &'a [(String, Resource)], path: &str) -> &'a str {
    list.iter()
        .find_map(|(_, r)| match r {
            Resource::File {
                path: p, content, ..
            } if p == Path::new(path) => Some(std::str::from_utf8(content).unwrap()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no file {path}"))
}

#[test]
fn etcd_members_come_from_the_inventory() {
    let s = seed(Template::Ha3, &["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    let list = resources(&s, "10.1.0.2", &[Role::Etcd]);
    let env = file(&list, "/etc/default/etcd");
    assert!(env.contains("ETCD_NAME=etcd-2\n"), "{env}");
    assert!(env.contains(
        "ETCD_INITIAL_CLUSTER=etcd-1=https://10.1.0.1:2380,etcd-2=https://10.1.0.2:2380,etcd-3=https://10.1.0.3:2380\n"
    ));
    assert!(env.contains("ETCD_LISTEN_CLIENT_URLS=https://10.1.0.2:2379,https://127.0.0.1:2379\n"));
    assert!(env.contains("ETCD_DATA_DIR=/data/etcd\n"));
    assert!(env.contains("ETCD_CLIENT_CERT_AUTH=true\n"));
    let cert = list
        .iter()
        .find_map(|(_, r)| match r {
            Resource::Certificate(spec) => Some(spec),
            _ => None,
        })
        .unwrap();
    assert_eq!(cert.common_name, "etcd-2");
    assert!(cert.ips.contains(&"10.1.0.2".parse().unwrap()));
    assert!(cert.dns_names.contains(&"pg-meta-2".to_string()));
    // The health check comes last: the role is done only when it passes.
    assert!(matches!(
        list.last(),
        Some((_, Resource::HealthCheck { .. }))
    ));
}

#[test]
fn node_role_follows_pigsty_parameters() {
    let s = seed(Template::Ha3, &["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    let infra = resources(&s, "10.1.0.1", &[Role::Node]);
    let other = resources(&s, "10.1.0.3", &[Role::Node]);
    assert_eq!(file(&other, "/etc/hostname"), "pg-meta-3\n");
    let hosts = file(&other, "/etc/hosts");
    for line in [
        "10.1.0.1 i.pigsty",
        "10.1.0.1 pg-meta-1",
        "10.1.0.3 pg-meta-3",
    ] {
        assert!(hosts.lines().any(|l| l == line), "{line} missing: {hosts}");
    }
    // Infra nodes serve time; the others follow them.
    let chrony_infra = file(&infra, "/etc/chrony/chrony.conf");
    assert!(
        chrony_infra.contains("pool pool.ntp.org iburst")
            && chrony_infra.contains("allow 10.0.0.0/8")
    );
    let chrony_other = file(&other, "/etc/chrony/chrony.conf");
    assert!(chrony_other.contains("server 10.1.0.1 iburst") && !chrony_other.contains("allow"));
    assert!(file(&other, "/etc/sysctl.d/90-pig-node.conf").contains("vm.swappiness = 0"));
    assert!(
        file(&other, "/etc/default/prometheus-node-exporter")
            .contains("--web.listen-address=:9100 ")
    );
    let haproxy = file(&other, "/etc/haproxy/haproxy.cfg");
    let password = s
        .host("10.1.0.3".parse().unwrap())
        .unwrap()
        .vars
        .str("haproxy_admin_password")
        .unwrap();
    assert!(
        haproxy.contains("bind *:9101")
            && haproxy.contains(&format!("stats auth admin:{password}"))
    );
    assert_ne!(password, "pigsty");
    assert_eq!(
        file(&other, "/etc/sudoers.d/dba"),
        "# Managed by pig-install (node role): node_admin_sudo = nopass.\ndba ALL=(ALL) NOPASSWD: ALL\n"
    );
    // No bundle and no /www/pigsty: no apt source is written.
    assert!(
        !other
            .iter()
            .any(|(_, r)| r.id() == "file:/etc/apt/sources.list.d/pigsty.sources")
    );
}

#[test]
fn bundle_is_unpacked_once_and_signed_by_its_key() {
    let s = seed(Template::Singleton, &["10.1.0.1"]);
    let host = s.host("10.1.0.1".parse().unwrap()).unwrap();
    let ctx = Context {
        seed: &s,
        host,
        bundle: Some(Path::new("/tmp/pigsty-pkg-v4.0.0.d12.x86_64.tgz")),
        local_repo: false,
        machine: None,
    };
    let list = roles::resources(&ctx, &[Role::Node]).unwrap();
    let sources = file(&list, "/etc/apt/sources.list.d/pigsty.sources");
    assert!(sources.contains("URIs: file:/www/pigsty\n"));
    assert!(sources.contains("Signed-By: /www/pigsty/pigsty-repo-key.pub.asc\n"));
    assert!(!sources.contains("trusted"));
    assert!(list.iter().any(|(_, r)| matches!(r, Resource::Command { guard: pig_install::engine::Guard::Creates(p), .. } if p == Path::new("/www/pigsty/repo_complete"))));
}

#[test]
fn node_tune_none_and_timezone() {
    let text = init::render(
        Template::Singleton,
        &["10.1.0.1".parse().unwrap()],
        None,
        15,
    )
    .unwrap()
    .replace(
        "node_tune: oltp",
        "node_tune: tiny\n    node_timezone: Asia/Hong_Kong",
    );
    let s = Seed::from_str(&text, "seed.yml").unwrap();
    let list = resources(&s, "10.1.0.1", &[Role::Node]);
    assert!(file(&list, "/etc/sysctl.d/90-pig-node.conf").contains("\"tiny\" tuned profile"));
    assert_eq!(file(&list, "/etc/timezone"), "Asia/Hong_Kong\n");
    assert!(list.iter().any(|(_, r)| matches!(r, Resource::Link { target, .. } if target == Path::new("/usr/share/zoneinfo/Asia/Hong_Kong"))));
}

/// A machine in memory.
#[derive(Default)]
struct FakeMachine {
    files: BTreeMap<PathBuf, Vec<u8>>,
    /// Units systemd does not know.
    missing_units: Vec<String>,
    stamp: Stamp,
}

impl System for FakeMachine {
    fn path(&self, path: &Path) -> Result<PathState> {
        Ok(match self.files.get(path) {
            Some(content) => PathState::File {
                content: content.clone(),
                uid: 0,
                gid: 0,
                mode: 0o644,
            },
            None => PathState::Missing,
        })
    }
    fn uid(&self, name: &str) -> Result<Option<u32>> {
        Ok((name == "root").then_some(0))
    }
    fn gid(&self, name: &str) -> Result<Option<u32>> {
        Ok((name == "root").then_some(0))
    }
    fn user(&self, _: &str) -> Result<Option<UserState>> {
        Ok(None)
    }
    fn missing_packages(&self, _: &[String]) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn unit(&self, name: &str) -> Result<UnitState> {
        if self.missing_units.iter().any(|u| u == name) {
            anyhow::bail!("unit {name}.service is not installed");
        }
        Ok(UnitState {
            enabled: true,
            active: true,
            condition_failed: false,
        })
    }
    fn succeeds(&self, _: &[String]) -> Result<bool> {
        Ok(true)
    }
    fn stamp(&self) -> &Stamp {
        &self.stamp
    }
}

#[test]
fn a_service_whose_unit_file_the_plan_writes_is_started_not_refused() {
    let unit = "/etc/systemd/system/x.service";
    let resources = vec![
        (
            "pgsql".to_string(),
            Resource::file(unit, "[Service]\n", 0o644),
        ),
        ("pgsql".to_string(), Resource::running_service("x", &[unit])),
    ];
    let machine = FakeMachine {
        missing_units: vec!["x".into(), "y".into()],
        ..Default::default()
    };
    let p = plan(&machine, &resources).unwrap();
    assert!(matches!(
        p.steps[1].action,
        Some(Action::Service { enable: true, .. })
    ));
    // A unit that nothing in the plan provides is an error.
    let resources = vec![(
        "pgsql".to_string(),
        Resource::running_service("y", &["/etc/y.conf"]),
    )];
    let err = plan(&machine, &resources).unwrap_err();
    assert!(
        format!("{err:#}").contains("y.service is not installed"),
        "{err:#}"
    );
}

#[test]
fn plan_restarts_a_service_only_when_its_file_changes() {
    let resources = vec![
        (
            "node".to_string(),
            Resource::file("/etc/a.conf", "a=1\n", 0o644),
        ),
        (
            "node".to_string(),
            Resource::running_service("a", &["/etc/a.conf"]),
        ),
        (
            "node".to_string(),
            Resource::file("/etc/b.conf", "b=1\n", 0o644),
        ),
        (
            "node".to_string(),
            Resource::running_service("b", &["/etc/b.conf"]),
        ),
    ];
    let mut machine = FakeMachine::default();
    machine
        .files
        .insert("/etc/a.conf".into(), b"a=0\n".to_vec());
    machine
        .files
        .insert("/etc/b.conf".into(), b"b=1\n".to_vec());
    let p = plan(&machine, &resources).unwrap();
    let changes: Vec<(String, String)> = p
        .changes()
        .map(|s| (s.resource.id(), s.action.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "file:/etc/a.conf".to_string(),
                "update (content)".to_string()
            ),
            ("service:a".to_string(), "restart".to_string()),
        ]
    );
    assert_eq!(p.steps[0].diff.as_deref(), Some("-a=0\n+a=1\n"));
    assert!(matches!(
        p.steps[1].action,
        Some(Action::Service {
            restart: true,
            start: false,
            ..
        })
    ));
    assert!(
        p.text()
            .ends_with("2 change(s), 2 resource(s) already in place\n")
    );
}

#[test]
fn secret_files_are_not_shown_in_plans() {
    let resources = vec![(
        "node".to_string(),
        Resource::File {
            path: "/etc/secret.conf".into(),
            content: b"password=hunter2\n".to_vec(),
            owner: "root".into(),
            group: "root".into(),
            mode: 0o600,
            secret: true,
        },
    )];
    let p = plan(&FakeMachine::default(), &resources).unwrap();
    let text = p.text();
    assert!(
        !text.contains("hunter2") && text.contains("content not shown"),
        "{text}"
    );
}
