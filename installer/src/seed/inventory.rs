//! The seed: a Pigsty inventory (`all:`) plus pig's own `pig:` section,
//! checked against the defaults table and resolved per host.
//!
//! Variable precedence follows Ansible's defaults: `all.vars`, then the
//! vars of each group the host belongs to, in group-name order (Ansible
//! sorts groups of equal depth by name; every group here has depth 1
//! because nested groups are refused), then the host's own vars. A host
//! listed in several groups gets the union of its host vars; where two
//! listings set the same variable the later one in the file wins, as in
//! Ansible's YAML inventory plugin.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use super::defaults;
use super::error::{Problem, SeedError};
use super::params::{Origin, Params};
use super::pig_section::PigSection;
use super::secrets;
use super::yaml::{self, Node};

/// How strictly to load a seed.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Accept Pigsty's well-known default passwords (for demos and for
    /// checking stock Pigsty inventories).
    pub insecure_default_passwords: bool,
}

/// A role a host plays; every host is at least a `node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Every host: OS tuning, haproxy, exporters.
    Node,
    /// Member of group `infra`: monitoring, DNS, nginx, local repo.
    Infra,
    /// Member of group `etcd`: DCS for Patroni.
    Etcd,
    /// Has `minio_cluster`: S3-compatible storage.
    Minio,
    /// Has `pg_cluster`: PostgreSQL with Patroni, pgBouncer, pgBackRest.
    Pgsql,
    /// Has `redis_cluster`: Redis instances.
    Redis,
}

impl Role {
    /// The role's name as pig and Pigsty write it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Infra => "infra",
            Role::Etcd => "etcd",
            Role::Minio => "minio",
            Role::Pgsql => "pgsql",
            Role::Redis => "redis",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One host of the inventory with its resolved parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The host's address, the inventory key.
    pub ip: IpAddr,
    /// Groups listing the host, in file order.
    pub groups: Vec<String>,
    /// Parameters after precedence, typed against the defaults table.
    pub vars: Params,
}

impl Host {
    /// The roles this host plays, `node` first.
    pub fn roles(&self) -> Vec<Role> {
        let mut roles = vec![Role::Node];
        let in_group = |g: &str| self.groups.iter().any(|x| x == g);
        if in_group("infra") {
            roles.push(Role::Infra);
        }
        if in_group("etcd") {
            roles.push(Role::Etcd);
        }
        if self.vars.is_set("minio_cluster") {
            roles.push(Role::Minio);
        }
        if self.vars.is_set("pg_cluster") {
            roles.push(Role::Pgsql);
        }
        if self.vars.is_set("redis_cluster") {
            roles.push(Role::Redis);
        }
        roles
    }

    /// Whether the host plays `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// The node name Pigsty would give the host: `nodename` if set, else
    /// `<pg_cluster>-<pg_seq>` when `node_id_from_pg` applies.
    pub fn nodename(&self) -> Option<String> {
        if let Some(name) = self.vars.str("nodename") {
            return Some(name);
        }
        if self.vars.bool("node_id_from_pg") == Some(true)
            && let (Some(cluster), Some(seq)) =
                (self.vars.str("pg_cluster"), self.vars.int("pg_seq"))
        {
            return Some(format!("{cluster}-{seq}"));
        }
        None
    }
}

/// A member of a PostgreSQL cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgMember {
    /// The member's host.
    pub ip: IpAddr,
    /// `pg_seq`, unique in the cluster.
    pub seq: i64,
    /// `pg_role`: primary, replica or offline.
    pub role: String,
}

/// A member of a cluster numbered by a `*_seq` or `redis_node` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqMember {
    /// The member's host.
    pub ip: IpAddr,
    /// Its sequence number, unique in the cluster.
    pub seq: i64,
}

/// A parameter that was accepted but that pig does not act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// Parameter name.
    pub name: String,
    /// Where it was set.
    pub path: String,
}

/// A parsed, checked seed.
#[derive(Debug, Clone)]
pub struct Seed {
    input: String,
    groups: Vec<String>,
    hosts: Vec<Host>,
    pig: PigSection,
    ignored: Vec<Ignored>,
}

/// One `name: value` assignment found in the inventory.
struct Assignment {
    name: String,
    node: Node,
    path: String,
}

/// A group as written.
struct GroupText {
    name: String,
    vars: Vec<Assignment>,
}

/// A host listing as written: which group (None for `all.hosts`) and vars.
struct HostListing {
    ip: IpAddr,
    group: Option<String>,
    vars: Vec<Assignment>,
}

impl Seed {
    /// Read and check the seed at `path`, refusing default passwords.
    pub fn load(path: &Path) -> Result<Seed, SeedError> {
        Seed::load_with(path, LoadOptions::default())
    }

    /// Read and check the seed at `path` with `options`.
    pub fn load_with(path: &Path, options: LoadOptions) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Seed::from_str_with(&text, &path.display().to_string(), options)
    }

    /// Check seed `text`; `input` names it in errors. Refuses default passwords.
    pub fn from_str(text: &str, input: &str) -> Result<Seed, SeedError> {
        Seed::from_str_with(text, input, LoadOptions::default())
    }

    /// Check seed `text` with `options`; `input` names it in errors.
    pub fn from_str_with(text: &str, input: &str, options: LoadOptions) -> Result<Seed, SeedError> {
        let root = yaml::parse(text, input)?;
        let mut cx = Checker::default();
        let seed = cx.seed(&root, input, options);
        if cx.problems.is_empty() {
            Ok(seed)
        } else {
            cx.problems.sort_by_key(|p| p.line);
            Err(SeedError::Invalid {
                input: input.to_string(),
                problems: cx.problems,
            })
        }
    }

    /// The name the seed was read under.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// All hosts in order of first appearance.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The host with address `ip`.
    pub fn host(&self, ip: IpAddr) -> Option<&Host> {
        self.hosts.iter().find(|h| h.ip == ip)
    }

    /// Group names in file order.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The `pig:` section (empty for a plain Pigsty inventory).
    pub fn pig(&self) -> &PigSection {
        &self.pig
    }

    /// Parameters accepted for compatibility that pig does not act on.
    pub fn ignored(&self) -> &[Ignored] {
        &self.ignored
    }

    /// Hosts playing `role`.
    pub fn hosts_with(&self, role: Role) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(move |h| h.has_role(role))
    }

    /// PostgreSQL clusters by name, members ordered by `pg_seq`.
    pub fn pg_clusters(&self) -> BTreeMap<String, Vec<PgMember>> {
        let mut out: BTreeMap<String, Vec<PgMember>> = BTreeMap::new();
        for h in self.hosts_with(Role::Pgsql) {
            if let (Some(cluster), Some(seq), Some(role)) = (
                h.vars.str("pg_cluster"),
                h.vars.int("pg_seq"),
                h.vars.str("pg_role"),
            ) {
                out.entry(cluster).or_default().push(PgMember {
                    ip: h.ip,
                    seq,
                    role,
                });
            }
        }
        for members in out.values_mut() {
            members.sort_by_key(|m| m.seq);
        }
        out
    }

    /// Members of the etcd cluster (group `etcd`), ordered by `etcd_seq`.
    pub fn etcd_members(&self) -> Vec<SeqMember> {
        self.seq_members(Role::Etcd, "etcd_seq")
    }

    /// Infra nodes (group `infra`), ordered by `infra_seq`.
    pub fn infra_nodes(&self) -> Vec<SeqMember> {
        self.seq_members(Role::Infra, "infra_seq")
    }

    /// MinIO nodes, ordered by `minio_seq`.
    pub fn minio_nodes(&self) -> Vec<SeqMember> {
        self.seq_members(Role::Minio, "minio_seq")
    }

    /// Redis clusters by name, nodes ordered by `redis_node`.
    pub fn redis_clusters(&self) -> BTreeMap<String, Vec<SeqMember>> {
        let mut out: BTreeMap<String, Vec<SeqMember>> = BTreeMap::new();
        for h in self.hosts_with(Role::Redis) {
            if let (Some(cluster), Some(seq)) =
                (h.vars.str("redis_cluster"), h.vars.int("redis_node"))
            {
                out.entry(cluster)
                    .or_default()
                    .push(SeqMember { ip: h.ip, seq });
            }
        }
        for members in out.values_mut() {
            members.sort_by_key(|m| m.seq);
        }
        out
    }

    fn seq_members(&self, role: Role, param: &str) -> Vec<SeqMember> {
        let mut out: Vec<SeqMember> = self
            .hosts_with(role)
            .filter_map(|h| h.vars.int(param).map(|seq| SeqMember { ip: h.ip, seq }))
            .collect();
        out.sort_by_key(|m| m.seq);
        out
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
    ignored: Vec<Ignored>,
}

impl Checker {
    fn problem(&mut self, path: impl Into<String>, line: u64, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            line,
            message: message.into(),
        });
    }

    /// Keys of a mapping node; a problem if `node` is not a mapping (null is
    /// an empty mapping, as Ansible reads `hosts:` with nothing under it).
    fn entries<'a>(&mut self, node: &'a Node, path: &str) -> &'a [(String, Node)] {
        match &node.value {
            yaml::Value::Map(entries) => entries,
            yaml::Value::Null => &[],
            other => {
                self.problem(
                    path,
                    node.line,
                    format!("expected a mapping, found {}", other.kind()),
                );
                &[]
            }
        }
    }

    fn seed(&mut self, root: &Node, input: &str, options: LoadOptions) -> Seed {
        let mut all = None;
        let mut pig = PigSection::default();
        for (key, node) in self.entries(root, "(top level)") {
            match key.as_str() {
                "all" => all = Some(node),
                "pig" => pig = PigSection::parse(node, &mut self.problems),
                _ => self.problem(
                    key.clone(),
                    node.line,
                    "unknown top-level key (a seed has `all:` and `pig:`)",
                ),
            }
        }
        let Some(all) = all else {
            self.problem(
                "all",
                0,
                "missing: a seed is a Pigsty inventory under `all:`",
            );
            return Seed {
                input: input.to_string(),
                groups: Vec::new(),
                hosts: Vec::new(),
                pig,
                ignored: Vec::new(),
            };
        };

        let mut global = Vec::new();
        let mut groups = Vec::new();
        let mut listings = Vec::new();
        for (key, node) in self.entries(all, "all") {
            match key.as_str() {
                "vars" => global = self.vars(node, "all.vars"),
                "hosts" => self.hosts(node, "all.hosts", None, &mut listings),
                "children" => {
                    for (name, group) in self.entries(node, "all.children") {
                        groups.push(self.group(name, group, &mut listings));
                    }
                }
                _ => self.problem(
                    format!("all.{key}"),
                    node.line,
                    "unknown key (expected children, vars or hosts)",
                ),
            }
        }

        let hosts = self.resolve(&global, &groups, &listings, &pig);
        self.check_identities(&hosts, &listings);
        self.check_secrets(&global, &groups, &listings, &hosts, options);
        Seed {
            input: input.to_string(),
            groups: groups.into_iter().map(|g| g.name).collect(),
            hosts,
            pig,
            ignored: std::mem::take(&mut self.ignored),
        }
    }

    fn group(&mut self, name: &str, node: &Node, listings: &mut Vec<HostListing>) -> GroupText {
        let path = format!("all.children.{name}");
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.problem(
                path.clone(),
                node.line,
                "group names use letters, digits, '-' and '_'",
            );
        }
        let mut vars = Vec::new();
        for (key, value) in self.entries(node, &path) {
            match key.as_str() {
                "hosts" => self.hosts(value, &format!("{path}.hosts"), Some(name), listings),
                "vars" => vars = self.vars(value, &format!("{path}.vars")),
                "children" => self.problem(
                    format!("{path}.children"),
                    value.line,
                    "nested groups are not supported; list hosts in top-level groups",
                ),
                _ => self.problem(
                    format!("{path}.{key}"),
                    value.line,
                    "unknown key (expected hosts or vars)",
                ),
            }
        }
        GroupText {
            name: name.to_string(),
            vars,
        }
    }

    fn hosts(
        &mut self,
        node: &Node,
        path: &str,
        group: Option<&str>,
        listings: &mut Vec<HostListing>,
    ) {
        for (key, vars) in self.entries(node, path) {
            let host_path = format!("{path}.{key}");
            match key.parse::<IpAddr>() {
                Ok(ip) => {
                    let vars = self.vars(vars, &host_path);
                    listings.push(HostListing {
                        ip,
                        group: group.map(str::to_string),
                        vars,
                    });
                }
                Err(_) => self.problem(
                    host_path,
                    vars.line,
                    "hosts are keyed by IP address (set `nodename` for a name)",
                ),
            }
        }
    }

    /// Check every `name: value` of a vars mapping against the table.
    fn vars(&mut self, node: &Node, path: &str) -> Vec<Assignment> {
        let mut out = Vec::new();
        for (name, value) in self.entries(node, path) {
            let var_path = format!("{path}.{name}");
            let Some(spec) = defaults::spec(name) else {
                let hint = defaults::closest(name)
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_default();
                self.problem(var_path, value.line, format!("unknown parameter{hint}"));
                continue;
            };
            if let Err(message) = spec.ty.check(value) {
                // List item errors start with the item index: fold it into the path.
                let (suffix, message) = match message.split_once("]: ") {
                    Some((index, rest)) if index.starts_with('[') => {
                        (format!("{index}]"), rest.to_string())
                    }
                    _ => (String::new(), message),
                };
                self.problem(format!("{var_path}{suffix}"), value.line, message);
                continue;
            }
            if spec.ignored {
                self.ignored.push(Ignored {
                    name: name.clone(),
                    path: var_path.clone(),
                });
            }
            out.push(Assignment {
                name: name.clone(),
                node: value.clone(),
                path: var_path,
            });
        }
        out
    }

    fn resolve(
        &mut self,
        global: &[Assignment],
        groups: &[GroupText],
        listings: &[HostListing],
        pig: &PigSection,
    ) -> Vec<Host> {
        let mut order: Vec<IpAddr> = Vec::new();
        for l in listings {
            if !order.contains(&l.ip) {
                order.push(l.ip);
            }
        }
        let mut by_name: Vec<&GroupText> = groups.iter().collect();
        by_name.sort_by(|a, b| a.name.cmp(&b.name));
        order
            .into_iter()
            .map(|ip| {
                let mine: Vec<&HostListing> = listings.iter().filter(|l| l.ip == ip).collect();
                let member_of: BTreeSet<&str> =
                    mine.iter().filter_map(|l| l.group.as_deref()).collect();
                let mut vars = Params::default();
                for (name, secret) in pig.secrets() {
                    vars.insert(
                        name,
                        Node::synthetic(yaml::Value::Str(secret.clone())),
                        Origin::Generated,
                    );
                }
                let layers = std::iter::once(global)
                    .chain(
                        by_name
                            .iter()
                            .filter(|g| member_of.contains(g.name.as_str()))
                            .map(|g| g.vars.as_slice()),
                    )
                    .chain(mine.iter().map(|l| l.vars.as_slice()));
                for layer in layers {
                    for a in layer {
                        vars.insert(&a.name, a.node.clone(), Origin::Set(a.path.clone()));
                    }
                }
                let mut group_names: Vec<String> = Vec::new();
                for l in &mine {
                    if let Some(g) = &l.group
                        && !group_names.contains(g)
                    {
                        group_names.push(g.clone());
                    }
                }
                Host {
                    ip,
                    groups: group_names,
                    vars,
                }
            })
            .collect()
    }

    /// Identity parameters each role needs, unique where Pigsty needs them unique.
    fn check_identities(&mut self, hosts: &[Host], listings: &[HostListing]) {
        let place = |ip: IpAddr, group: &str| -> (String, u64) {
            let line = listings
                .iter()
                .find(|l| l.ip == ip && l.group.as_deref() == Some(group))
                .and_then(|l| l.vars.first().map(|a| a.node.line))
                .unwrap_or(0);
            (format!("all.children.{group}.hosts.{ip}"), line)
        };
        let mut seen: BTreeMap<(String, i64), IpAddr> = BTreeMap::new();
        let mut primaries: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        for h in hosts {
            let group_of = |param: &str| -> String {
                match h.vars.resolved(param).map(|r| r.origin) {
                    Some(Origin::Set(path)) => path
                        .strip_prefix("all.children.")
                        .and_then(|p| p.split('.').next())
                        .unwrap_or("all")
                        .to_string(),
                    _ => h.groups.first().cloned().unwrap_or_else(|| "all".into()),
                }
            };
            let mut require = |cx: &mut Checker, role: Role, cluster: Option<&str>, seq: &str| {
                if !h.has_role(role) {
                    return;
                }
                // Infra and etcd membership come from the group of that name.
                let group = match role {
                    Role::Infra | Role::Etcd => role.name().to_string(),
                    _ => cluster.map_or_else(|| role.name().to_string(), group_of),
                };
                let (path, line) = place(h.ip, &group);
                let Some(n) = h.vars.int(seq) else {
                    cx.problem(path, line, format!("{role} member needs {seq}"));
                    return;
                };
                let name = cluster.and_then(|c| h.vars.str(c)).unwrap_or_default();
                let key = (format!("{seq}:{name}"), n);
                if let Some(other) = seen.insert(key, h.ip) {
                    cx.problem(
                        path,
                        line,
                        format!("{seq} {n} is also used by {other} in cluster {name}"),
                    );
                }
            };
            require(self, Role::Pgsql, Some("pg_cluster"), "pg_seq");
            require(self, Role::Etcd, Some("etcd_cluster"), "etcd_seq");
            require(self, Role::Minio, Some("minio_cluster"), "minio_seq");
            require(self, Role::Redis, Some("redis_cluster"), "redis_node");
            require(self, Role::Infra, None, "infra_seq");
            if h.has_role(Role::Pgsql) {
                let cluster = h.vars.str("pg_cluster").unwrap_or_default();
                match h.vars.str("pg_role").as_deref() {
                    None => {
                        let (path, line) = place(h.ip, &group_of("pg_cluster"));
                        self.problem(path, line, "pgsql member needs pg_role");
                    }
                    Some("primary") => primaries.entry(cluster).or_default().push(h.ip),
                    Some(_) => {
                        primaries.entry(cluster).or_default();
                    }
                }
            }
            if h.has_role(Role::Redis) && !h.vars.is_set("redis_instances") {
                let (path, line) = place(h.ip, &group_of("redis_cluster"));
                self.problem(path, line, "redis member needs redis_instances");
            }
        }
        for (cluster, ips) in primaries {
            if ips.len() != 1 {
                let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
                self.problem(
                    format!("all.children.{cluster}"),
                    0,
                    format!(
                        "cluster {cluster} needs exactly one pg_role: primary, has {} ({})",
                        ips.len(),
                        list.join(", ")
                    ),
                );
            }
        }
    }

    /// Refuse Pigsty's well-known credentials, written or defaulted.
    fn check_secrets(
        &mut self,
        global: &[Assignment],
        groups: &[GroupText],
        listings: &[HostListing],
        hosts: &[Host],
        options: LoadOptions,
    ) {
        if options.insecure_default_passwords {
            return;
        }
        let hint = " (set a strong one, or pass --insecure-default-passwords)";
        let all = global
            .iter()
            .chain(groups.iter().flat_map(|g| g.vars.iter()))
            .chain(listings.iter().flat_map(|l| l.vars.iter()));
        for a in all {
            let Some(spec) = defaults::spec(&a.name) else {
                continue;
            };
            if spec.secret
                && let Some(v) = a.node.as_str().filter(|v| secrets::is_well_known(v))
            {
                self.problem(
                    a.path.clone(),
                    a.node.line,
                    format!("Pigsty's well-known default password {v:?} is refused{hint}"),
                );
            }
            for (path, v, line) in secrets::nested_well_known(&a.name, &a.node, &a.path) {
                self.problem(
                    path,
                    line,
                    format!("Pigsty's well-known default password {v:?} is refused{hint}"),
                );
            }
        }
        let mut defaulted = BTreeSet::new();
        for h in hosts {
            for spec in defaults::table().values().filter(|s| s.secret) {
                if let Some(r) = h.vars.resolved(&spec.name) {
                    let well_known = r.node.as_str().is_some_and(secrets::is_well_known);
                    if r.origin == Origin::Default && well_known {
                        defaulted.insert(spec.name.clone());
                    }
                }
            }
        }
        // Credentials inside structured defaults (nginx_users: {admin: pigsty})
        // matter only where the role that uses them runs.
        for h in hosts {
            if !h.has_role(Role::Infra) {
                continue;
            }
            if let Some(r) = h.vars.resolved("nginx_users")
                && r.origin == Origin::Default
                && !secrets::nested_well_known("nginx_users", &r.node, "").is_empty()
            {
                defaulted.insert("nginx_users".to_string());
            }
        }
        for name in defaulted {
            let value = defaults::spec(&name)
                .and_then(|s| s.default.as_ref())
                .map(|d| d.scalar_text().unwrap_or_else(|| d.value.to_string()))
                .unwrap_or_default();
            self.problem(
                format!("all.vars.{name}"),
                0,
                format!("not set, and Pigsty's default {value:?} is refused{hint}"),
            );
        }
    }
}
