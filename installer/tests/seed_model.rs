//! Seed model rules on small inventories: precedence, error paths, the
//! `pig:` section.

use std::net::IpAddr;

use pig_install::seed::params::Origin;
use pig_install::seed::{LoadOptions, Seed, SeedError};

const INSECURE: LoadOptions = LoadOptions {
    insecure_default_passwords: true,
};

fn seed(text: &str) -> Seed {
    Seed::from_str_with(text, "seed.yml", INSECURE).unwrap_or_else(|e| panic!("{e}"))
}

fn error(text: &str) -> String {
    match Seed::from_str_with(text, "seed.yml", INSECURE) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn precedence_all_then_groups_by_name_then_host() {
    let s = seed(
        "all:
  children:
    zeta:
      hosts: { 10.0.0.1: { node_tune: crit } }
      vars: { node_tune: olap, pg_conf: olap.yml, node_cluster: zeta }
    alpha:
      hosts: { 10.0.0.1: {}, 10.0.0.2: {} }
      vars: { node_tune: tiny, pg_conf: tiny.yml, node_cluster: alpha }
  vars: { node_tune: oltp, pg_conf: crit.yml, node_timezone: UTC }
",
    );
    let h1 = s.host(ip("10.0.0.1")).unwrap();
    let h2 = s.host(ip("10.0.0.2")).unwrap();
    // host var beats every group
    assert_eq!(h1.vars.str("node_tune").as_deref(), Some("crit"));
    // of two groups, the later name (zeta) wins, whatever the file order
    assert_eq!(h1.vars.str("pg_conf").as_deref(), Some("olap.yml"));
    assert_eq!(h1.vars.str("node_cluster").as_deref(), Some("zeta"));
    // group beats all.vars; all.vars beats the default
    assert_eq!(h2.vars.str("node_tune").as_deref(), Some("tiny"));
    assert_eq!(h2.vars.str("node_timezone").as_deref(), Some("UTC"));
    // and the default fills in the rest, marked as such
    assert_eq!(h2.vars.int("pg_port"), Some(5432));
    assert_eq!(h2.vars.resolved("pg_port").unwrap().origin, Origin::Default);
    assert_eq!(
        h1.vars.resolved("node_tune").unwrap().origin,
        Origin::Set("all.children.zeta.hosts.10.0.0.1.node_tune".into())
    );
    assert_eq!(h1.groups, ["zeta", "alpha"]);
}

#[test]
fn host_vars_from_several_listings_merge_later_wins() {
    let s = seed(
        "all:
  children:
    a: { hosts: { 10.0.0.1: { node_tune: tiny, vip_vrid: 1 } } }
    b: { hosts: { 10.0.0.1: { node_tune: olap } } }
",
    );
    let h = s.host(ip("10.0.0.1")).unwrap();
    assert_eq!(h.vars.str("node_tune").as_deref(), Some("olap"));
    assert_eq!(h.vars.int("vip_vrid"), Some(1));
}

#[test]
fn unknown_parameter_names_path_and_suggests() {
    let e = error(
        "all:
  children:
    pg-test:
      hosts: { 10.0.0.1: { pg_seq: 1, pg_role: primary } }
      vars:
        pg_cluster: pg-test
        pg_clustr: pg-test
",
    );
    assert_eq!(
        e,
        "seed.yml:7: all.children.pg-test.vars.pg_clustr: unknown parameter (did you mean pg_cluster?)"
    );
}

#[test]
fn ill_typed_parameters_name_path_type_and_value() {
    let e = error(
        "all:
  vars:
    pg_version: eighteen
    node_tune: fast
    node_firewall_public_port: [22, 80, 99999]
    pg_vip_address: 10.10.10.2
    redis_max_memory: lots
    pg_checksum: maybe
",
    );
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines,
        [
            "seed.yml:3: all.vars.pg_version: expected an integer, found string \"eighteen\"",
            "seed.yml:4: all.vars.node_tune: expected one of none, oltp, olap, crit, tiny, found string \"fast\"",
            "seed.yml:5: all.vars.node_firewall_public_port[2]: expected a port (1-65535), found integer 99999",
            "seed.yml:6: all.vars.pg_vip_address: expected an address/prefix like 10.10.10.2/24, found string \"10.10.10.2\"",
            "seed.yml:7: all.vars.redis_max_memory: expected a size like 64MiB or 1GB, found string \"lots\"",
            "seed.yml:8: all.vars.pg_checksum: expected true or false, found string \"maybe\"",
        ]
    );
}

#[test]
fn malformed_yaml_names_line_and_column() {
    let e = Seed::from_str(
        "all:\n  vars:\n    pg_version: [18\n  children: {}\n",
        "seed.yml",
    )
    .unwrap_err();
    let SeedError::Syntax { line, column, .. } = &e else {
        panic!("{e}")
    };
    assert!(*line >= 3 && *column > 0, "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("seed.yml:{line}:{column}: ")),
        "{e}"
    );
}

#[test]
fn structure_errors() {
    let e = error("all:\n  children:\n    g:\n      hosts: { db1: {} }\n");
    assert!(
        e.contains("all.children.g.hosts.db1: hosts are keyed by IP address"),
        "{e}"
    );
    let e = error("all:\n  children:\n    g:\n      children: { h: {} }\n");
    assert!(
        e.contains("all.children.g.children: nested groups are not supported"),
        "{e}"
    );
    let e = error("al: {}\n");
    assert!(e.contains("al: unknown top-level key"), "{e}");
    assert!(e.contains("all: missing"), "{e}");
    let e = error("all:\n  childs: {}\n");
    assert!(e.contains("all.childs: unknown key"), "{e}");
}

#[test]
fn cluster_identity_is_checked() {
    let e = error(
        "all:
  children:
    pg-x:
      hosts:
        10.0.0.1: { pg_seq: 1, pg_role: primary }
        10.0.0.2: { pg_seq: 1, pg_role: primary }
        10.0.0.3: { pg_role: replica }
      vars: { pg_cluster: pg-x }
    etcd: { hosts: { 10.0.0.1: {} } }
",
    );
    assert!(
        e.contains("all.children.pg-x.hosts.10.0.0.2: pg_seq 1 is also used by 10.0.0.1"),
        "{e}"
    );
    assert!(
        e.contains("all.children.pg-x.hosts.10.0.0.3: pgsql member needs pg_seq"),
        "{e}"
    );
    assert!(
        e.contains("cluster pg-x needs exactly one pg_role: primary, has 2"),
        "{e}"
    );
    assert!(
        e.contains("all.children.etcd.hosts.10.0.0.1: etcd member needs etcd_seq"),
        "{e}"
    );
}

#[test]
fn pig_section_is_strict() {
    let e = error(
        "all: { hosts: { 10.0.0.1: {} } }\npig: { format: 2, colour: blue, secrets: { pg_port: x } }\n",
    );
    assert!(e.contains("pig.format: unsupported seed format 2"), "{e}");
    assert!(e.contains("pig.colour: unknown key"), "{e}");
    assert!(
        e.contains("pig.secrets.pg_port: not a credential parameter"),
        "{e}"
    );
    let e = error("all: { hosts: { 10.0.0.1: {} } }\npig: { format: 1, bundle: md5:abc }\n");
    assert!(e.contains("pig.bundle: expected sha256:"), "{e}");
}

#[test]
fn generated_secrets_fill_unset_credentials_and_inventory_wins() {
    let text = "all:
  hosts: { 10.0.0.1: {} }
  vars: { pg_admin_password: Chosen.By.Operator.2026 }
pig:
  format: 1
  secrets: { pg_admin_password: generated-a, patroni_password: generated-b }
";
    // without the insecure flag: the remaining Pigsty defaults are refused
    let e = Seed::from_str(text, "seed.yml").unwrap_err().to_string();
    assert!(e.contains("all.vars.pg_monitor_password: not set, and Pigsty's default \"DBUser.Monitor\" is refused"), "{e}");
    assert!(!e.contains("patroni_password"), "{e}");
    assert!(!e.contains("pg_admin_password"), "{e}");
    let s = seed(text);
    let h = &s.hosts()[0];
    assert_eq!(
        h.vars.str("pg_admin_password").as_deref(),
        Some("Chosen.By.Operator.2026")
    );
    assert_eq!(
        h.vars.str("patroni_password").as_deref(),
        Some("generated-b")
    );
    assert_eq!(
        h.vars.resolved("patroni_password").unwrap().origin,
        Origin::Generated
    );
}

#[test]
fn nginx_users_default_is_refused_on_infra_nodes_only() {
    let infra = "all:\n  children:\n    infra: { hosts: { 10.0.0.1: { infra_seq: 1 } } }\n";
    let e = Seed::from_str(infra, "seed.yml").unwrap_err().to_string();
    assert!(e.contains("all.vars.nginx_users: not set, and Pigsty's default \"{admin: \\\"pigsty\\\"}\" is refused"), "{e}");
    let plain = "all:\n  hosts: { 10.0.0.1: {} }\n";
    let e = Seed::from_str(plain, "seed.yml").unwrap_err().to_string();
    assert!(!e.contains("nginx_users"), "{e}");
}

#[test]
fn odd_shapes_are_errors_not_panics() {
    for text in [
        "",
        "~",
        "[1, 2]",
        "all: [1, 2]",
        "all: {children: [x]}",
        "all: {children: {g: [1]}}",
        "all: {children: {g: {hosts: [1]}}}",
        "all: {hosts: {10.0.0.1: [1]}}",
        "all: {vars: 5}",
        "all: {hosts: {10.0.0.1: {pg_cluster: x}}}",
        "all: {}\npig: 5",
        "all: {}\npig: {format: 1, ca: 5, secrets: [1]}",
        "all: {}\npig: {format: 1, ca: {cert: x, key: '-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n'}}",
        "all: {vars: {pg_users: [{password: 5}], nginx_users: {a: [1]}, pgbackrest_repo: {x: 1}}}",
        "all: {vars: {redis_max_memory: '99999999999999999999999TB'}}",
        "all: &a {children: *a}",
        "all: {vars: {pg_version: 99999999999999999999}}",
    ] {
        match Seed::from_str_with(text, "odd.yml", INSECURE) {
            Ok(seed) => assert!(seed.hosts().len() <= 1, "{text}"),
            Err(e) => assert!(e.to_string().starts_with("odd.yml"), "{text}: {e}"),
        }
    }
}
