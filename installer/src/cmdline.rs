//! Command-line types (clap derive). Doc comments are the help text.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Configure this node for its roles from a Pigsty-style seed inventory.
#[derive(Debug, Parser)]
#[command(version, about, max_term_width = 80)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// pig-install's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make or check a seed (inventory, secrets and CA in one file).
    #[command(subcommand)]
    Seed(SeedCommand),
    /// Show which inventory hosts this node is and the roles it gets.
    Identify(IdentifyArgs),
    /// Show the changes `apply` would make, as a diff; changes nothing.
    Plan(NodeArgs),
    /// Make this node match its roles; a second run changes nothing.
    Apply(NodeArgs),
    /// Show the last apply and whether the node still matches it.
    Status(NodeArgs),
    /// Apply the seed once at boot (run by pig-install-firstboot.service).
    ///
    /// The seed is the first found of, in this order: the --seed file
    /// (embedded in the image); the seed area of the live medium
    /// (/run/live/medium/pig/seed.img, on a node booted from a pig ISO;
    /// an empty area is no seed); /run/pig/seed.yml (left by a pig PXE
    /// set's seed initrd); seed.yml on a volume labelled PIGSEED, CIDATA
    /// or cidata (mounted read-only); `pig.seed=URL#sha256=HEX` on the
    /// kernel command line (file:// or http://, the digest required). A
    /// seed from any source but the --seed file is validated, then
    /// installed as the --seed file.
    ///
    /// Does nothing when this seed was applied successfully before, and
    /// does not retry a seed that failed; writes the outcome to
    /// /var/lib/pig/firstboot/result.json and, on failure, a banner to
    /// the console. Ends with `PIG-FIRSTBOOT-COMPLETE status=ok|failed|
    /// noseed` on the console. Exit status 0 ok (or no seed), 1 failed.
    Firstboot(FirstbootArgs),
    /// Restore this node's PostgreSQL cluster in place to a point in time.
    ///
    /// Run on the primary. Pauses Patroni, stops PostgreSQL, restores
    /// with pgBackRest to the target, waits until recovery promotes,
    /// resumes Patroni, then rebuilds every replica from the primary
    /// (Pigsty's pg-pitr). Give exactly one target.
    Pitr(PitrArgs),
    /// Serve pgBouncer's statistics as Prometheus metrics.
    ///
    /// Run by pig-pgbouncer-exporter.service, which the pgsql role writes
    /// when `pgbouncer_exporter_enabled`. Every numeric column of SHOW
    /// STATS, POOLS, DATABASES and LISTS becomes a gauge
    /// `pgbouncer_<show>_<column>` labelled by database, user or list;
    /// `pgbouncer_up` is 0 while the admin console does not answer. Each
    /// scrape connects to the console's unix socket as --user, which
    /// pgBouncer must admit by peer authentication.
    PgbouncerExporter(PgbouncerExporterArgs),
}

/// Arguments of `pgbouncer-exporter`.
#[derive(Debug, Args)]
pub struct PgbouncerExporterArgs {
    /// Where to serve /metrics.
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:9631")]
    pub listen: std::net::SocketAddr,
    /// pgBouncer's unix_socket_dir.
    #[arg(long, value_name = "DIR", default_value = crate::roles::pgsql::SOCKET_DIR)]
    pub socket_dir: PathBuf,
    /// pgBouncer's listen_port (names its socket).
    #[arg(long, value_name = "PORT", default_value_t = 6432)]
    pub port: u16,
    /// The admin-console user (one of pgBouncer's stats_users).
    #[arg(long, value_name = "NAME", default_value = "postgres")]
    pub user: String,
    /// Seconds one scrape may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
    /// Print one scrape on stdout and exit: 0 when pgBouncer answered,
    /// 1 when it did not.
    #[arg(long)]
    pub once: bool,
}

/// Arguments of `pitr`.
#[derive(Debug, Args)]
#[command(
    override_usage = "pig-install pitr [OPTIONS] <--time T|--lsn L|--name N|--backup ID>",
    group(
        clap::ArgGroup::new("target")
            .required(true)
            .args(["time", "lsn", "name", "backup"])
    )
)]
pub struct PitrArgs {
    /// The seed file.
    #[arg(long, value_name = "SEED", default_value = "/etc/pig/seed.yml")]
    pub seed: PathBuf,
    /// Act as the inventory host with this address instead of matching
    /// this machine's addresses and host name.
    #[arg(long, value_name = "IP")]
    pub host: Option<IpAddr>,
    /// Recover to this moment, with its zone: '2026-11-29 20:15:00+00'.
    #[arg(long, value_name = "TIMESTAMPTZ")]
    pub time: Option<String>,
    /// Recover to this WAL position, like 0/3000060.
    #[arg(long, value_name = "LSN")]
    pub lsn: Option<String>,
    /// Recover to this restore point (pg_create_restore_point).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Recover to the end of this pgBackRest backup, like 20261129-201500F.
    #[arg(long, value_name = "LABEL")]
    pub backup: Option<String>,
    /// Print the steps and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Reading and output options.
    #[command(flatten)]
    pub options: SeedOptions,
}

/// Arguments of `firstboot`.
#[derive(Debug, Args)]
pub struct FirstbootArgs {
    /// The embedded seed, tried first; a seed found elsewhere is
    /// installed here.
    #[arg(long, value_name = "FILE", default_value = "/etc/pigsty/seed.yml")]
    pub seed: PathBuf,
    /// Print the systemd unit that runs `firstboot` and exit.
    #[arg(long)]
    pub print_unit: bool,
}

/// Arguments of `plan`, `apply` and `status`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The seed file.
    #[arg(long, value_name = "SEED", default_value = "/etc/pig/seed.yml")]
    pub seed: PathBuf,
    /// Act as the inventory host with this address instead of matching
    /// this machine's addresses and host name.
    #[arg(long, value_name = "IP")]
    pub host: Option<IpAddr>,
    /// Configure only these roles (comma-separated); each must be one the
    /// inventory gives this node [default: all of its roles].
    #[arg(long, value_delimiter = ',', value_name = "ROLE,…")]
    pub role: Vec<String>,
    /// Unpack this bundle (pigsty-pkg-….tgz) under /www and install from
    /// it; without it a repository already under /www/pigsty is used.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Reading and output options.
    #[command(flatten)]
    pub options: SeedOptions,
}

/// `pig-install seed …`
#[derive(Debug, Subcommand)]
pub enum SeedCommand {
    /// Write a new seed with random passwords and a fresh CA.
    ///
    /// The seed holds the CA private key and every password: it is
    /// written with mode 0600 and must be kept secret.
    Init(InitArgs),
    /// Parse and type-check a seed; list hosts, roles, clusters and what
    /// it needs from a bundle.
    Check(CheckArgs),
}

/// Arguments of `seed init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Cluster shape.
    #[arg(long, value_enum, default_value_t = TemplateArg::Singleton)]
    pub template: TemplateArg,
    /// Host addresses, comma-separated: one for singleton, three for ha3
    /// [default: 10.10.10.10, 10.10.10.11, 10.10.10.12].
    #[arg(long, value_delimiter = ',', value_name = "IP,…")]
    pub hosts: Vec<IpAddr>,
    /// Pin the seed to this bundle: its sha256 goes into `pig.bundle`, and
    /// `pig-install --bundle` then refuses any other bundle or a damaged copy.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// PostgreSQL major version (`pg_version`) [default: the highest
    /// postgresql-N in --bundle's manifest, else 15, Debian 12's].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(10..))]
    pub pg_version: Option<u32>,
    /// Where to write the seed.
    #[arg(long, short, value_name = "FILE", default_value = "seed.yml")]
    pub out: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Cluster shapes `seed init` can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateArg {
    /// One node: infra, etcd and a PostgreSQL primary.
    Singleton,
    /// Three nodes: etcd on all, PostgreSQL primary and two replicas.
    Ha3,
}

/// How a seed is read.
#[derive(Debug, Args)]
pub struct SeedOptions {
    /// Accept Pigsty's well-known default passwords (demos only).
    #[arg(long)]
    pub insecure_default_passwords: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `seed check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The seed file.
    #[arg(value_name = "SEED", default_value = "seed.yml")]
    pub seed: PathBuf,
    /// Compare requirements with the package names in FILE (one per line).
    #[arg(long, value_name = "FILE")]
    pub packages: Option<PathBuf>,
    /// Reading and output options.
    #[command(flatten)]
    pub options: SeedOptions,
}

/// Arguments of `identify`.
#[derive(Debug, Args)]
pub struct IdentifyArgs {
    /// The seed file.
    #[arg(long, value_name = "SEED", default_value = "/etc/pig/seed.yml")]
    pub seed: PathBuf,
    /// Act as the inventory host with this address instead of matching
    /// this machine's addresses and host name.
    #[arg(long, value_name = "IP")]
    pub host: Option<IpAddr>,
    /// Reading and output options.
    #[command(flatten)]
    pub options: SeedOptions,
}
