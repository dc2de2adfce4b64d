//! The pgsql role is pure: these tests read the resources it asks for
//! (Patroni's configuration, HAProxy services, pgBouncer's files,
//! provisioning commands) for seeds made by `seed init`.

use std::net::IpAddr;
use std::path::Path;

use pig_install::engine::Resource;
use pig_install::roles::pgsql::tune::NodeSpec;
use pig_install::roles::{self, Context};
use pig_install::seed::init::{self, Template};
use pig_install::seed::{Role, Seed};

const IPS: [&str; 3] = ["10.1.0.1", "10.1.0.2", "10.1.0.3"];

fn seed(template: Template, hosts: &[&str], extra_vars: &str) -> Seed {
    let ips: Vec<IpAddr> = hosts.iter().map(|h| h.parse().unwrap()).collect();
    let text = init::render(template, &ips, None, 15).unwrap().replacen(
        "\n  vars:\n",
        &format!("\n  vars:\n{extra_vars}"),
        1,
    );
    Seed::from_str(&text, "seed.yml").unwrap()
}

fn pgsql(seed: &Seed, ip: &str) -> Vec<(String, Resource)> {
    let host = seed.host(ip.parse().unwrap()).unwrap();
    let ctx = Context {
        seed,
        host,
        bundle: None,
        local_repo: false,
        // A small bed node: 2 GiB, 2 CPUs, 20 GiB of disk.
        machine: Some(NodeSpec {
            mem_bytes: 2 << 30,
            cpus: 2,
            disk_bytes: 20 << 30,
        }),
    };
    roles::resources(&ctx, &[Role::Pgsql]).unwrap()
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

fn yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

#[test]
fn patroni_config_names_the_member_its_dcs_and_bootstrap() {
    let s = seed(Template::Ha3, &IPS, "");
    let list = pgsql(&s, IPS[1]);
    let conf = yaml(file(&list, "/etc/patroni/patroni.yml"));
    assert_eq!(conf["scope"], "pg-meta");
    assert_eq!(conf["name"], "pg-meta-2");
    assert_eq!(conf["namespace"], "/pg");
    assert_eq!(
        conf["etcd3"]["hosts"],
        "10.1.0.1:2379,10.1.0.2:2379,10.1.0.3:2379"
    );
    assert_eq!(conf["etcd3"]["protocol"], "https");
    assert_eq!(conf["restapi"]["connect_address"], "10.1.0.2:8008");
    assert_eq!(conf["postgresql"]["data_dir"], "/pg/data");
    assert_eq!(conf["postgresql"]["bin_dir"], "/usr/lib/postgresql/15/bin");
    assert_eq!(
        conf["postgresql"]["parameters"]["password_encryption"],
        "scram-sha-256"
    );
    assert_eq!(conf["postgresql"]["parameters"]["ssl"], "on");
    assert!(
        conf["bootstrap"]["initdb"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("data-checksums"))
    );
    // pg_rto norm: Pigsty's plan row.
    assert_eq!(conf["bootstrap"]["dcs"]["ttl"], 30);
    assert_eq!(conf["bootstrap"]["dcs"]["maximum_lag_on_failover"], 1048576);
    assert_eq!(conf["bootstrap"]["dcs"]["synchronous_mode"], false);
    // oltp.yml sized for the 2 GiB, 2-CPU node: a quarter of the memory
    // in shared buffers, the rest as cache; the equal-everywhere limits
    // go to the DCS, and parameters PostgreSQL 15 lacks are left out.
    let params = &conf["postgresql"]["parameters"];
    assert_eq!(params["shared_buffers"], "512MB");
    assert_eq!(params["effective_cache_size"], "1536MB");
    assert!(params.get("io_workers").is_none(), "{params}");
    assert!(params.get("max_connections").is_none(), "{params}");
    let dcs_params = &conf["bootstrap"]["dcs"]["postgresql"]["parameters"];
    assert_eq!(dcs_params["max_connections"], "500");
    assert_eq!(dcs_params["max_worker_processes"], "24");
    let unit = file(&list, "/etc/systemd/system/patroni.service");
    assert!(unit.contains("ExecStart=/usr/bin/patroni /etc/patroni/patroni.yml\n"));
}

#[test]
fn zero_rpo_turns_on_synchronous_mode_and_pg_rto_paces_the_checks() {
    let s = seed(Template::Ha3, &IPS, "    pg_rpo: 0\n");
    let list = pgsql(&s, IPS[0]);
    let conf = yaml(file(&list, "/etc/patroni/patroni.yml"));
    assert_eq!(conf["bootstrap"]["dcs"]["synchronous_mode"], true);
    assert_eq!(conf["bootstrap"]["dcs"]["maximum_lag_on_failover"], 0);
    let primary = file(&list, "/etc/haproxy/pgsql-pg-meta-primary.cfg");
    assert!(
        primary.contains("inter 2000ms fastinter 1000ms downinter 2000ms rise 3 fall 3"),
        "{primary}"
    );
}

#[test]
fn haproxy_services_follow_pigsty_selectors() {
    let s = seed(Template::Ha3, &IPS, "");
    let list = pgsql(&s, IPS[2]);
    let primary = file(&list, "/etc/haproxy/pgsql-pg-meta-primary.cfg");
    assert!(primary.contains("bind *:5433\n"));
    assert!(primary.contains("http-check send meth OPTIONS uri /primary\n"));
    for ip in IPS {
        assert!(
            primary.contains(&format!("{ip}:6432 check port 8008 weight 100\n")),
            "{primary}"
        );
    }
    let replica = file(&list, "/etc/haproxy/pgsql-pg-meta-replica.cfg");
    assert!(
        replica.contains("server pg-meta-1 10.1.0.1:6432 check port 8008 weight 100 backup\n"),
        "{replica}"
    );
    assert!(replica.contains("server pg-meta-2 10.1.0.2:6432 check port 8008 weight 100\n"));
    let default = file(&list, "/etc/haproxy/pgsql-pg-meta-default.cfg");
    assert!(default.contains("bind *:5436\n") && default.contains("10.1.0.3:5432 check"));
    // offline: no offline member, so the replicas serve as backups.
    let offline = file(&list, "/etc/haproxy/pgsql-pg-meta-offline.cfg");
    assert!(!offline.contains("10.1.0.1:"), "{offline}");
    assert!(offline.contains("10.1.0.2:5432 check port 8008 weight 100 backup\n"));
    assert_eq!(
        file(&list, "/etc/default/haproxy").lines().last(),
        Some("CONFIG=\"/etc/haproxy\"")
    );
}

#[test]
fn pgbouncer_and_provisioning_cover_the_seed_users_and_databases() {
    let s = seed(Template::Singleton, &IPS[..1], "");
    let list = pgsql(&s, IPS[0]);
    let userlist = file(&list, "/etc/pgbouncer/userlist.txt");
    for user in ["dbuser_meta", "dbuser_dba", "dbuser_monitor"] {
        assert!(userlist.contains(&format!("\"{user}\" \"")), "{userlist}");
    }
    assert!(
        file(&list, "/etc/pgbouncer/database.txt")
            .contains("meta = host=/var/run/postgresql port=5432 dbname=meta\n")
    );
    assert!(
        file(&list, "/etc/pgbouncer/useropts.txt")
            .contains("dbuser_dba = pool_mode=session max_user_connections=16\n")
    );
    let roles = file(&list, "/pg/conf/sql/00-default-roles.sql");
    assert!(
        roles.contains("ALTER ROLE \"dbrole_readonly\" WITH NOLOGIN"),
        "{roles}"
    );
    assert!(roles.contains("GRANT \"dbrole_readonly\" TO \"dbrole_readwrite\";\n"));
    assert!(roles.contains("ALTER DEFAULT PRIVILEGES FOR ROLE \"postgres\" GRANT SELECT     ON TABLES     TO  dbrole_readonly;\n"));
    let db = file(&list, "/pg/conf/sql/20-database-meta.sql");
    assert!(
        db.contains("SELECT 'CREATE DATABASE \"meta\" OWNER \"dbuser_meta\"' WHERE NOT EXISTS"),
        "{db}"
    );
    assert!(db.contains("\\connect \"meta\"\nCREATE SCHEMA IF NOT EXISTS \"monitor\" AUTHORIZATION \"dbuser_meta\";\n"), "{db}");
    let commands: Vec<String> = list
        .iter()
        .filter_map(|(_, r)| match r {
            Resource::Command { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    for name in [
        "drop-debian-cluster-15-main",
        "pg-provision-00-default-roles",
        "pg-provision-10-user-dbuser_meta",
        "pg-provision-20-database-meta",
    ] {
        assert!(commands.contains(&name.to_string()), "{commands:?}");
    }
}
