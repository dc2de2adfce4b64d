//! Which inventory hosts this node is: by its own addresses and host name,
//! or forced with `--host`.

use std::net::IpAddr;

use super::error::SeedError;
use super::inventory::{Host, Seed};

/// The hosts of `seed` that are this node: every host whose address is one
/// of `addresses`, or whose node name (`nodename`, or `<pg_cluster>-<pg_seq>`
/// as Pigsty derives it) is `hostname`. The error lists the inventory's hosts.
pub fn identify(
    seed: &Seed,
    addresses: &[IpAddr],
    hostname: Option<&str>,
) -> Result<Vec<Host>, SeedError> {
    let found: Vec<Host> = seed
        .hosts()
        .iter()
        .filter(|h| {
            addresses.contains(&h.ip)
                || hostname.is_some_and(|n| h.nodename().as_deref() == Some(n))
        })
        .cloned()
        .collect();
    if found.is_empty() {
        let mut wanted: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        if let Some(n) = hostname {
            wanted.push(format!("host name {n}"));
        }
        return Err(no_match(seed, wanted.join(", ")));
    }
    Ok(found)
}

/// The host forced with `--host IP`.
pub fn forced(seed: &Seed, ip: IpAddr) -> Result<Host, SeedError> {
    seed.host(ip)
        .cloned()
        .ok_or_else(|| no_match(seed, format!("--host {ip}")))
}

fn no_match(seed: &Seed, wanted: String) -> SeedError {
    SeedError::NoMatch {
        input: seed.input().to_string(),
        wanted,
        hosts: seed
            .hosts()
            .iter()
            .map(|h| match h.nodename() {
                Some(n) => format!("{} ({n})", h.ip),
                None => h.ip.to_string(),
            })
            .collect(),
    }
}

/// This machine's IP addresses (from `ip -o addr`), loopback excluded.
pub fn local_addresses() -> std::io::Result<Vec<IpAddr>> {
    let out = std::process::Command::new("ip")
        .args(["-o", "addr", "show"])
        .output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "ip -o addr show failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_ip_addr(&String::from_utf8_lossy(&out.stdout)))
}

/// Addresses in `ip -o addr show` output: `2: eth0    inet 10.0.0.5/24 …`.
fn parse_ip_addr(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet" || *w == "inet6")?;
            let addr = words.next()?.split('/').next()?;
            addr.parse::<IpAddr>().ok().filter(|a| !a.is_loopback())
        })
        .collect()
}

/// This machine's host name (`/proc/sys/kernel/hostname`).
pub fn local_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_addr_output() {
        let text = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                    2: eth0    inet 10.10.10.11/24 brd 10.10.10.255 scope global eth0\n\
                    2: eth0    inet6 fe80::1/64 scope link\n";
        let got = parse_ip_addr(text);
        assert_eq!(
            got,
            vec![
                "10.10.10.11".parse::<IpAddr>().unwrap(),
                "fe80::1".parse().unwrap()
            ]
        );
    }
}
