//! End-to-end: the default HBA of a `seed init` singleton, tried from two
//! nspawn nodes on one bridge: the server (10.88.6.10, inside the
//! cluster's intranet, RFC 1918) and a client at 100.64.0.20, outside it
//! (RFC 6598 shared space: not in Pigsty's `intra` alias). Connections go
//! straight to PostgreSQL's 5432, since through HAProxy every client
//! would come from the server's own address.

mod pgsql_common;
mod testbed;

use pgsql_common::{apply, assert_packages, password_of, pg_seed, psql};
use testbed::{Bed, Node};

const SERVER: &str = "10.88.6.10";
const OUTSIDE: &str = "100.64.0.20";

/// psql from `node` to the server's PostgreSQL; its output, or its error.
fn connect(node: &Node, user: &str, password: &str, sslmode: &str) -> Result<String, String> {
    let out = node.sh(&format!(
        "PGPASSWORD='{password}' PGCONNECT_TIMEOUT=5 psql -XAt \
         'host={SERVER} port=5432 user={user} dbname=meta sslmode={sslmode}' \
         -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'"
    ));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The value of credential `name` in the seed's `pig.secrets`.
fn secret(seed: &str, name: &str) -> String {
    let prefix = format!("    {name}: \"");
    let line = seed
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {name} in the seed"));
    line[prefix.len()..].trim_end_matches('"').to_string()
}

#[test]
fn default_hba_refuses_outsiders_and_wrong_passwords() {
    let Some(bed) = Bed::start(&[SERVER, OUTSIDE]) else {
        return;
    };
    let [server, outside] = &bed.nodes[..] else {
        panic!("two nodes expected");
    };
    assert_packages(server);
    // Different subnets on one bridge: each reaches the other on-link.
    server.ok(&format!("ip route add {OUTSIDE}/32 dev eth0"));
    outside.ok(&format!("ip route add {SERVER}/32 dev eth0"));

    server.install_pig();
    let seed = pg_seed("singleton", &[SERVER], "");
    server.put("/etc/pig/seed.yml", seed.as_bytes(), 0o600);
    apply(server);
    let user = password_of(&seed, "dbuser_meta");
    let admin = secret(&seed, "pg_admin_password");
    // The service works at all (HAProxy to pgBouncer), so refusals below
    // are the HBA's doing.
    assert_eq!(
        psql(
            server,
            SERVER,
            5433,
            "dbuser_meta",
            &user,
            "meta",
            "SELECT 1"
        ),
        "1\n"
    );

    // Inside the intranet: the right password in, a wrong one out.
    assert_eq!(
        connect(server, "dbuser_meta", &user, "require"),
        Ok("t\n".into())
    );
    let wrong = connect(server, "dbuser_meta", "Wrong.Password.1", "require").unwrap_err();
    assert!(wrong.contains("password authentication failed"), "{wrong}");

    // The network path from outside works: the admin may come from
    // anywhere, over TLS only (`auth: ssl` is hostssl).
    assert_eq!(
        connect(outside, "dbuser_dba", &admin, "require"),
        Ok("t\n".into())
    );
    let plain = connect(outside, "dbuser_dba", &admin, "disable").unwrap_err();
    assert!(plain.contains("no pg_hba.conf entry"), "{plain}");
    assert!(plain.contains(OUTSIDE), "{plain}");
    let wrong = connect(outside, "dbuser_dba", "Wrong.Password.1", "require").unwrap_err();
    assert!(wrong.contains("password authentication failed"), "{wrong}");

    // A business user from outside the intranet: no rule, whatever the
    // password or TLS.
    for sslmode in ["require", "disable"] {
        let refused = connect(outside, "dbuser_meta", &user, sslmode).unwrap_err();
        assert!(refused.contains("no pg_hba.conf entry"), "{refused}");
        assert!(refused.contains(OUTSIDE), "{refused}");
    }
    let hba = server.ok("cat /pg/conf/pg_hba.conf");
    eprintln!("pg_hba.conf in force:\n{hba}");
}
