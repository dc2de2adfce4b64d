//! The real Pigsty v4 inventories in /work/shared/conformance/pigsty (copied
//! from Pigsty v4.5.0) parse, type-check and resolve as Pigsty means them.

use std::net::IpAddr;
use std::path::PathBuf;

use pig_install::seed::{
    LoadOptions, Role, Seed, SeedError, Status, check_requirements, identify, identity::forced,
};

/// The inventory `name` from `$PIG_CONFORMANCE_DIR` (default
/// /work/shared/conformance/pigsty).
fn conformance(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("PIG_CONFORMANCE_DIR").map_or_else(
        || PathBuf::from("/work/shared/conformance/pigsty"),
        PathBuf::from,
    );
    Some(dir.join(name)).filter(|p| p.exists())
}

/// Load with Pigsty's default passwords allowed, as the stock files carry them.
fn load(name: &str) -> Option<Seed> {
    let Some(path) = conformance(name) else {
        eprintln!("skipping: conformance inventory {name} not found");
        return None;
    };
    let options = LoadOptions {
        insecure_default_passwords: true,
    };
    Some(Seed::load_with(&path, options).unwrap_or_else(|e| panic!("{e}")))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn all_four_inventories_type_check() {
    for name in ["meta.yml", "slim.yml", "ha-full.yml", "demo-debian.yml"] {
        if let Some(seed) = load(name) {
            assert!(!seed.hosts().is_empty(), "{name}");
        }
    }
}

#[test]
fn ha_full_hosts_groups_clusters_and_roles() {
    let Some(seed) = load("ha-full.yml") else {
        return;
    };
    let ips: Vec<String> = seed.hosts().iter().map(|h| h.ip.to_string()).collect();
    assert_eq!(
        ips,
        ["10.10.10.10", "10.10.10.11", "10.10.10.12", "10.10.10.13"]
    );
    assert_eq!(
        seed.groups(),
        [
            "infra",
            "etcd",
            "minio",
            "pg-meta",
            "pg-test",
            "redis-ms",
            "redis-meta",
            "redis-test"
        ]
    );

    let clusters = seed.pg_clusters();
    assert_eq!(clusters.len(), 2);
    let test = &clusters["pg-test"];
    assert_eq!(test.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(test.iter().filter(|m| m.role == "primary").count(), 1);
    assert_eq!(test[0].ip, ip("10.10.10.11"));
    assert_eq!(clusters["pg-meta"].len(), 1);

    assert_eq!(seed.etcd_members().len(), 1);
    assert_eq!(seed.infra_nodes()[0].ip, ip("10.10.10.10"));
    assert_eq!(seed.minio_nodes()[0].seq, 1);
    let redis = seed.redis_clusters();
    assert_eq!(redis.len(), 3);
    assert_eq!(redis["redis-test"].len(), 2);

    let meta = seed.host(ip("10.10.10.10")).unwrap();
    assert_eq!(
        meta.roles(),
        [
            Role::Node,
            Role::Infra,
            Role::Etcd,
            Role::Minio,
            Role::Pgsql,
            Role::Redis
        ]
    );
    let n13 = seed.host(ip("10.10.10.13")).unwrap();
    assert_eq!(n13.roles(), [Role::Node, Role::Pgsql, Role::Redis]);
    assert_eq!(n13.vars.bool("pg_offline_query"), Some(true));
    assert_eq!(n13.vars.str("redis_mode").as_deref(), Some("cluster"));
    assert_eq!(n13.vars.str("redis_max_memory").as_deref(), Some("32MB"));
    assert_eq!(n13.nodename().as_deref(), Some("pg-test-3"));
    // group var, global var, and Pigsty's default
    assert_eq!(
        n13.vars.str("pg_vip_address").as_deref(),
        Some("10.10.10.3/24")
    );
    assert_eq!(n13.vars.str("pgbackrest_method").as_deref(), Some("minio"));
    assert_eq!(n13.vars.int("pg_port"), Some(5432));
}

#[test]
fn demo_debian_group_vars_override_globals() {
    let Some(seed) = load("demo-debian.yml") else {
        return;
    };
    let n11 = seed.host(ip("10.10.10.11")).unwrap();
    let n10 = seed.host(ip("10.10.10.10")).unwrap();
    assert_eq!(n11.vars.str("node_tune").as_deref(), Some("tiny"));
    assert_eq!(n11.vars.str("pg_conf").as_deref(), Some("tiny.yml"));
    assert_eq!(n10.vars.str("node_tune").as_deref(), Some("oltp"));
    assert_eq!(seed.pg_clusters()["pg-test"].len(), 3);
    assert!(seed.ignored().iter().any(|i| i.name == "repo_upstream"));
}

#[test]
fn meta_and_slim_are_single_node() {
    let Some(meta) = load("meta.yml") else { return };
    assert_eq!(meta.hosts().len(), 1);
    let h = &meta.hosts()[0];
    assert_eq!(h.groups, ["pg-meta", "infra", "etcd", "app"]);
    assert_eq!(
        h.roles(),
        [Role::Node, Role::Infra, Role::Etcd, Role::Pgsql]
    );
    assert_eq!(h.vars.bool("repo_enabled"), Some(false));
    assert!(
        meta.ignored()
            .iter()
            .any(|i| i.path == "all.children.app.vars.docker_enabled")
    );

    let Some(slim) = load("slim.yml") else { return };
    assert_eq!(
        slim.hosts()[0].roles(),
        [Role::Node, Role::Etcd, Role::Pgsql]
    );
    assert!(slim.infra_nodes().is_empty());
}

#[test]
fn default_passwords_are_refused_by_name_and_path() {
    let Some(path) = conformance("ha-full.yml") else {
        return;
    };
    let e = Seed::load(&path).unwrap_err();
    let SeedError::Invalid { problems, .. } = &e else {
        panic!("{e}")
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "all.vars.pg_admin_password",
        "all.vars.pg_monitor_password",
        "all.vars.pg_replication_password",
        "all.vars.patroni_password",
        "all.vars.haproxy_admin_password",
        "all.vars.grafana_admin_password",
        "all.vars.minio_secret_key",
        "all.vars.etcd_root_password",
        "all.children.pg-meta.vars.pg_users[0].password",
        "all.children.minio.vars.minio_users[0].secret_key",
        "all.children.redis-ms.vars.redis_password",
        "all.children.redis-meta.vars.redis_sentinel_monitor[0].password",
        "all.vars.pgbackrest_repo.minio.s3_key_secret",
        "all.vars.pgbackrest_repo.minio.cipher_pass",
    ] {
        assert!(paths.contains(&expected), "{expected} not in {paths:#?}");
    }
    let text = e.to_string();
    assert!(text.contains("\"DBUser.DBA\""), "{text}");
    // every problem is about a password
    assert!(
        problems.iter().all(|p| p.message.contains("refused")),
        "{text}"
    );
    for name in ["meta.yml", "slim.yml", "demo-debian.yml"] {
        if let Some(p) = conformance(name) {
            let e = Seed::load(&p).unwrap_err().to_string();
            assert!(e.contains("all.vars.pg_admin_password"), "{name}: {e}");
        }
    }
}

/// Package names a Debian 12 bundle would hold (PostgreSQL 15 from Debian).
fn debian12_like() -> Vec<String> {
    [
        "postgresql-15",
        "postgresql-client-15",
        "postgresql-15-pgvector",
        "postgresql-15-postgis-3",
        "patroni",
        "pgbouncer",
        "pgbackrest",
        "haproxy",
        "etcd-server",
        "nginx",
        "prometheus-node-exporter",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn meta_requirements_against_debian12_report_postgresql_18_missing() {
    let Some(seed) = load("meta.yml") else { return };
    let findings = check_requirements(&seed.requirements(), &debian12_like());
    let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("pg_version 18") && m.ends_with("bundle has PostgreSQL 15 only")),
        "{messages:#?}"
    );
    let missing = |needle: &str| {
        findings
            .iter()
            .any(|f| f.status == Status::Missing && f.message.starts_with(needle))
    };
    assert!(missing("extension vector"), "{messages:#?}");
    assert!(missing("package pgsql-main"), "{messages:#?}");
    assert!(missing("module infra"), "{messages:#?}");
    // etcd is there under Debian's name
    assert!(
        findings.iter().any(|f| f.message == "module etcd: present"),
        "{messages:#?}"
    );

    // The same inventory on a PostgreSQL 15 bundle: only infra bits are missing.
    let mut seed15 = std::fs::read_to_string(conformance("meta.yml").unwrap()).unwrap();
    seed15 = seed15.replace("pg_version: 18", "pg_version: 15");
    let seed15 = Seed::from_str_with(
        &seed15,
        "meta15.yml",
        LoadOptions {
            insecure_default_passwords: true,
        },
    )
    .unwrap();
    let findings = check_requirements(&seed15.requirements(), &debian12_like());
    for f in &findings {
        if let pig_install::seed::Requirement::Extension { .. }
        | pig_install::seed::Requirement::PgVersion { .. } = f.requirement
        {
            assert_eq!(f.status, Status::Present, "{}", f.message);
        }
    }
}

#[test]
fn identify_by_address_hostname_and_force() {
    let Some(seed) = load("ha-full.yml") else {
        return;
    };
    let found = identify(&seed, &[ip("192.168.1.5"), ip("10.10.10.12")], None).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].ip, ip("10.10.10.12"));
    assert_eq!(found[0].roles(), [Role::Node, Role::Pgsql, Role::Redis]);

    let by_name = identify(&seed, &[ip("192.168.1.5")], Some("pg-test-1")).unwrap();
    assert_eq!(by_name[0].ip, ip("10.10.10.11"));

    assert_eq!(
        forced(&seed, ip("10.10.10.13")).unwrap().ip,
        ip("10.10.10.13")
    );

    let e = identify(&seed, &[ip("192.168.1.5")], Some("laptop")).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("192.168.1.5, host name laptop"), "{text}");
    assert!(
        text.contains("10.10.10.10 (pg-meta-1), 10.10.10.11 (pg-test-1), 10.10.10.12 (pg-test-2), 10.10.10.13 (pg-test-3)"),
        "{text}"
    );
    assert!(forced(&seed, ip("10.9.9.9")).is_err());
}
