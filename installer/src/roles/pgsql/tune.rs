//! Sizing PostgreSQL and Patroni the way Pigsty's templates do.
//!
//! `pg_conf` picks one of four profiles (oltp, olap, tiny, crit); each
//! turns the node's memory, CPU count and data-disk size into memory,
//! parallelism and WAL settings with the formulas of Pigsty's
//! `roles/pgsql/templates/<profile>.yml`. `pg_rto` picks a row of
//! `pg_rto_plan` for Patroni's timers and HAProxy's health checks, and
//! `pg_rpo` bounds the lag of a failover candidate. Everything here is
//! pure: the role reads the node and passes the figures in.

use super::super::{Context, RoleInputError};
use crate::seed::params::parse_duration_ms;
use crate::seed::yaml::Node;

/// A `pg_conf` profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Transactions: many short queries, latency first (Pigsty's default).
    Oltp,
    /// Analytics: large queries, more parallelism and memory per query.
    Olap,
    /// Small nodes and demos (1–3 cores).
    Tiny,
    /// Critical data: synchronous replication, stricter limits, full audit.
    Crit,
}

impl Profile {
    /// The profile `pg_conf` names: `oltp.yml` (Pigsty's spelling) or `oltp`.
    pub fn from_conf(pg_conf: &str) -> Option<Profile> {
        match pg_conf.strip_suffix(".yml").unwrap_or(pg_conf) {
            "oltp" => Some(Profile::Oltp),
            "olap" => Some(Profile::Olap),
            "tiny" => Some(Profile::Tiny),
            "crit" => Some(Profile::Crit),
            _ => None,
        }
    }

    /// The profile's name without `.yml`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Oltp => "oltp",
            Profile::Olap => "olap",
            Profile::Tiny => "tiny",
            Profile::Crit => "crit",
        }
    }
}

/// What the node offers, as the role measured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpec {
    /// Total memory in bytes (`MemTotal`).
    pub mem_bytes: u64,
    /// Online CPUs.
    pub cpus: u32,
    /// Size of the filesystem holding `pg_fs_main`, in bytes.
    pub disk_bytes: u64,
}

/// The seed parameters the sizing reads besides the profile.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneParams {
    /// `pg_max_conn`: `None` for `auto`; values below 20 also mean auto,
    /// as in Pigsty's templates.
    pub max_conn: Option<i64>,
    /// `pg_shared_buffer_ratio`, 0.25 by default.
    pub shared_buffer_ratio: f64,
    /// Whether `pg_default_service_dest` is `pgbouncer`: OLTP and CRIT
    /// allow 500 connections behind the pool and 1000 without it.
    pub via_pgbouncer: bool,
    /// `pg_libs`: citus and timescaledb need more locks and prepared transactions.
    pub libs: String,
}

impl Default for TuneParams {
    /// Pigsty's defaults.
    fn default() -> TuneParams {
        TuneParams {
            max_conn: None,
            shared_buffer_ratio: 0.25,
            via_pgbouncer: true,
            libs: "pg_stat_statements, auto_explain".into(),
        }
    }
}

/// PostgreSQL sizing for one node; memory in MiB, WAL and temp in GiB,
/// as Pigsty writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// The profile the figures come from.
    pub profile: Profile,
    /// `max_connections`.
    pub max_connections: u32,
    /// `max_locks_per_transaction`.
    pub max_locks_per_transaction: u32,
    /// `max_prepared_transactions` (citus only).
    pub max_prepared_transactions: u32,
    /// `shared_buffers`, MiB: memory × `pg_shared_buffer_ratio`, rounded up.
    pub shared_buffers_mb: u64,
    /// `maintenance_work_mem`, MiB.
    pub maintenance_work_mem_mb: u64,
    /// `effective_cache_size`, MiB: memory − shared buffers.
    pub effective_cache_size_mb: u64,
    /// `work_mem`, MiB: shared buffers / connections within the profile's bounds.
    pub work_mem_mb: u64,
    /// `max_worker_processes` as written (Pigsty adds 8 to its base figure).
    pub max_worker_processes: u32,
    /// `max_parallel_workers`.
    pub max_parallel_workers: u32,
    /// `max_parallel_workers_per_gather`.
    pub max_parallel_workers_per_gather: u32,
    /// `max_parallel_maintenance_workers`.
    pub max_parallel_maintenance_workers: u32,
    /// `io_workers` (PostgreSQL 18 `io_method = worker`).
    pub io_workers: u32,
    /// `min_wal_size`, GiB: 1/20 of the disk, at most 200.
    pub min_wal_size_gb: u64,
    /// `max_wal_size`, GiB: 4/20 of the disk, at most 2000.
    pub max_wal_size_gb: u64,
    /// `max_slot_wal_keep_size`, GiB: 6/20 of the disk, at most 3000.
    pub max_slot_wal_keep_size_gb: u64,
    /// `temp_file_limit`, GiB.
    pub temp_file_limit_gb: u64,
}

fn ceil(x: f64) -> u64 {
    x.ceil().max(0.0) as u64
}

fn floor(x: f64) -> u64 {
    x.floor().max(0.0) as u64
}

fn small(x: u64) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// Size PostgreSQL for `node` with `profile`, by the formulas of
/// Pigsty's template of the same name.
pub fn tune(profile: Profile, node: &NodeSpec, params: &TuneParams) -> Tuning {
    use Profile::*;
    let mem_mb = node.mem_bytes / (1 << 20);
    let cpu = f64::from(node.cpus);
    let max_connections: u64 = match params.max_conn {
        Some(n) if n >= 20 => n.unsigned_abs(),
        _ => match profile {
            Oltp | Crit if params.via_pgbouncer => 500,
            Oltp | Crit => 1000,
            Olap => 500,
            Tiny => 250,
        },
    };
    let citus = params.libs.contains("citus");
    let many_locks = citus || params.libs.contains("timescaledb");
    let locks = match (profile, many_locks) {
        (Olap, true) => 4 * max_connections,
        (Olap, false) | (_, true) => 2 * max_connections,
        (_, false) => max_connections,
    };
    let shared_buffers = ceil(mem_mb as f64 * params.shared_buffer_ratio);
    let maintenance_ratio = if profile == Olap { 0.5 } else { 0.25 };
    let (work_min, work_max) = match profile {
        Oltp | Crit => (64, 1024),
        Olap => (64, 8192),
        Tiny => (16, 256),
    };
    let per_conn = shared_buffers / max_connections.max(1);
    let (base_workers, min_workers) = match profile {
        Oltp | Crit => (node.cpus + 8, 16),
        Olap => (node.cpus + 12, 20),
        Tiny => (node.cpus + 4, 12),
    };
    let parallel = match profile {
        Oltp | Crit => ceil(cpu * 0.5).max(2),
        Olap => ceil(cpu * 0.8).max(2),
        Tiny => floor(cpu * 0.5).max(1),
    };
    let per_gather = match profile {
        Oltp => floor(cpu * 0.2).clamp(2, 8),
        Olap => floor(cpu * 0.5).max(2),
        Tiny | Crit => 0,
    };
    let maintenance_workers = match profile {
        Tiny => floor(cpu * 0.33).max(1),
        _ => ceil(cpu * 0.33).max(2),
    };
    let io_workers = match profile {
        Oltp => ceil(cpu * 0.25).clamp(4, 16),
        Olap => ceil(cpu * 0.5).clamp(4, 32),
        Tiny => 3,
        Crit => ceil(cpu * 0.25).clamp(4, 8),
    };
    // One twentieth of the disk in GiB, between 1 and 100.
    let twentieth = ceil(node.disk_bytes as f64 / (20u64 << 30) as f64).clamp(1, 100);
    let temp = match profile {
        Olap => (twentieth * 4).min(2000),
        _ => twentieth.min(200),
    };
    Tuning {
        profile,
        max_connections: small(max_connections),
        max_locks_per_transaction: small(locks),
        max_prepared_transactions: if citus { small(max_connections) } else { 0 },
        shared_buffers_mb: shared_buffers,
        maintenance_work_mem_mb: ceil(shared_buffers as f64 * maintenance_ratio),
        effective_cache_size_mb: mem_mb.saturating_sub(shared_buffers),
        work_mem_mb: per_conn.clamp(work_min, work_max),
        max_worker_processes: base_workers.max(min_workers) + 8,
        max_parallel_workers: small(parallel),
        max_parallel_workers_per_gather: small(per_gather),
        max_parallel_maintenance_workers: small(maintenance_workers),
        io_workers: small(io_workers),
        min_wal_size_gb: twentieth.min(200),
        max_wal_size_gb: (twentieth * 4).min(2000),
        max_slot_wal_keep_size_gb: (twentieth * 6).min(3000),
        temp_file_limit_gb: temp,
    }
}

impl Tuning {
    /// The PostgreSQL parameters that depend on the node or differ between
    /// profiles, in Pigsty's order; parameters common to all profiles
    /// (logging, SSL, replication slots…) belong to the role's template.
    pub fn parameters(&self) -> Vec<(&'static str, String)> {
        use Profile::*;
        let p = self.profile;
        let mut out: Vec<(&'static str, String)> = vec![
            ("max_connections", self.max_connections.to_string()),
            (
                "max_locks_per_transaction",
                self.max_locks_per_transaction.to_string(),
            ),
            (
                "max_prepared_transactions",
                self.max_prepared_transactions.to_string(),
            ),
            (
                "max_worker_processes",
                self.max_worker_processes.to_string(),
            ),
            ("shared_buffers", format!("{}MB", self.shared_buffers_mb)),
            (
                "maintenance_work_mem",
                format!("{}MB", self.maintenance_work_mem_mb),
            ),
            ("work_mem", format!("{}MB", self.work_mem_mb)),
            (
                "max_parallel_workers",
                self.max_parallel_workers.to_string(),
            ),
            (
                "max_parallel_maintenance_workers",
                self.max_parallel_maintenance_workers.to_string(),
            ),
            (
                "max_parallel_workers_per_gather",
                self.max_parallel_workers_per_gather.to_string(),
            ),
        ];
        if matches!(p, Oltp | Crit) {
            // Parallel plans cost double: short queries should not fan out.
            out.extend([
                ("parallel_setup_cost", "2000".to_string()),
                ("parallel_tuple_cost", "0.2".into()),
                ("min_parallel_table_scan_size", "16MB".into()),
                ("min_parallel_index_scan_size", "1024".into()),
            ]);
        }
        out.push(("io_workers", self.io_workers.to_string()));
        out.push(("temp_file_limit", format!("{}GB", self.temp_file_limit_gb)));
        let (delay, limit) = if p == Olap {
            ("10ms", "10000")
        } else {
            ("20ms", "2000")
        };
        out.push(("vacuum_cost_delay", delay.into()));
        out.push(("vacuum_cost_limit", limit.into()));
        out.push(("min_wal_size", format!("{}GB", self.min_wal_size_gb)));
        out.push(("max_wal_size", format!("{}GB", self.max_wal_size_gb)));
        out.push((
            "max_slot_wal_keep_size",
            format!("{}GB", self.max_slot_wal_keep_size_gb),
        ));
        out.push((
            "idle_replication_slot_timeout",
            if p == Crit { "3d" } else { "7d" }.into(),
        ));
        if p == Crit {
            // Nothing may sit unflushed in the WAL writer.
            out.push(("wal_writer_delay", "10ms".into()));
            out.push(("wal_writer_flush_after", "0".into()));
        } else {
            out.push(("wal_writer_delay", "20ms".into()));
            out.push(("wal_writer_flush_after", "1MB".into()));
        }
        if p == Olap {
            out.push(("enable_partitionwise_join", "on".into()));
            out.push(("enable_partitionwise_aggregate", "on".into()));
        }
        out.push((
            "effective_cache_size",
            format!("{}MB", self.effective_cache_size_mb),
        ));
        out.push((
            "default_statistics_target",
            if p == Olap { "1000" } else { "400" }.into(),
        ));
        out.push((
            "log_min_duration_statement",
            if p == Olap { "1000" } else { "100" }.into(),
        ));
        out.push((
            "idle_in_transaction_session_timeout",
            match p {
                Olap => "0",
                Crit => "1min",
                Oltp | Tiny => "10min",
            }
            .into(),
        ));
        out
    }
}

/// One row of `pg_rto_plan`: Patroni's timers and HAProxy's health-check
/// rhythm for a recovery-time objective.
#[derive(Debug, Clone, PartialEq)]
pub struct RtoPlan {
    /// Patroni `ttl`, seconds: the leader lease.
    pub ttl: u32,
    /// Patroni `loop_wait`, seconds.
    pub loop_wait: u32,
    /// Patroni `retry_timeout`, seconds.
    pub retry_timeout: u32,
    /// Patroni `primary_start_timeout`, seconds.
    pub primary_start_timeout: u32,
    /// Patroni watchdog `safety_margin`, seconds.
    pub safety_margin: u32,
    /// HAProxy `inter`, milliseconds: check interval of a healthy server.
    pub inter_ms: u64,
    /// HAProxy `fastinter`, milliseconds: interval while a state changes.
    pub fastinter_ms: u64,
    /// HAProxy `downinter`, milliseconds: interval of a down server.
    pub downinter_ms: u64,
    /// HAProxy `rise`: checks to mark a server up.
    pub rise: u32,
    /// HAProxy `fall`: checks to mark a server down.
    pub fall: u32,
}

impl RtoPlan {
    /// Read a `pg_rto_plan` row `[ttl, loop, retry, start, margin, inter,
    /// fastinter, downinter, rise, fall]`; durations may be numbers
    /// (seconds) or text like `0.5s`.
    pub fn from_row(row: &Node) -> Result<RtoPlan, String> {
        let items = row
            .as_seq()
            .ok_or_else(|| format!("expected a list of 10 values, found {}", row.value.kind()))?;
        let [ttl, lw, retry, start, margin, inter, fast, down, rise, fall] = items else {
            return Err(format!(
                "expected 10 values [ttl, loop, retry, start, margin, inter, fastinter, downinter, rise, fall], found {}",
                items.len()
            ));
        };
        let int = |n: &Node, what: &str| -> Result<u32, String> {
            n.as_int()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| {
                    format!(
                        "{what}: expected a whole number of seconds, found {}",
                        n.value
                    )
                })
        };
        let ms = |n: &Node, what: &str| -> Result<u64, String> {
            n.scalar_text()
                .as_deref()
                .and_then(parse_duration_ms)
                .ok_or_else(|| format!("{what}: expected a duration like 1s, found {}", n.value))
        };
        let plan = RtoPlan {
            ttl: int(ttl, "ttl")?,
            loop_wait: int(lw, "loop")?,
            retry_timeout: int(retry, "retry")?,
            primary_start_timeout: int(start, "start")?,
            safety_margin: int(margin, "margin")?,
            inter_ms: ms(inter, "inter")?,
            fastinter_ms: ms(fast, "fastinter")?,
            downinter_ms: ms(down, "downinter")?,
            rise: int(rise, "rise")?,
            fall: int(fall, "fall")?,
        };
        // Patroni refuses to start otherwise: the lease must outlive one
        // loop plus two retries.
        if plan.loop_wait + 2 * plan.retry_timeout > plan.ttl {
            return Err(format!(
                "loop + 2 × retry ({} s) exceeds ttl ({} s)",
                plan.loop_wait + 2 * plan.retry_timeout,
                plan.ttl
            ));
        }
        Ok(plan)
    }
}

/// The major version that introduced parameter `name`, for the
/// parameters [`Tuning::parameters`] writes that older servers refuse.
pub fn introduced_in(name: &str) -> i64 {
    match name {
        "io_workers" | "idle_replication_slot_timeout" => 18,
        _ => 0,
    }
}

/// Patroni's failover settings for a cluster (its `bootstrap.dcs` keys).
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverSettings {
    /// The `pg_rto` row in force.
    pub rto: RtoPlan,
    /// `maximum_lag_on_failover`, bytes: `pg_rpo`.
    pub maximum_lag_on_failover: u64,
    /// `synchronous_mode`: on when `pg_rpo` is 0 or the profile is crit.
    pub synchronous_mode: bool,
    /// `synchronous_mode_strict`: on for crit only (Pigsty v4), where
    /// writes wait rather than go unreplicated.
    pub synchronous_mode_strict: bool,
}

/// Failover settings from `pg_rto` (a row of `plan`), `pg_rpo` and the profile.
pub fn failover(rto: RtoPlan, rpo: u64, profile: Profile) -> FailoverSettings {
    FailoverSettings {
        rto,
        maximum_lag_on_failover: rpo,
        synchronous_mode: rpo == 0 || profile == Profile::Crit,
        synchronous_mode_strict: profile == Profile::Crit,
    }
}

/// The profile this node's `pg_conf` names.
pub fn profile(ctx: &Context) -> Result<Profile, RoleInputError> {
    let conf = ctx.str("pg_conf")?;
    Profile::from_conf(&conf).ok_or_else(|| {
        ctx.error(format!(
            "pg_conf {conf:?} is not one of oltp.yml, olap.yml, tiny.yml, crit.yml"
        ))
    })
}

/// The sizing parameters of this node, from the seed.
pub fn tune_params(ctx: &Context) -> Result<TuneParams, RoleInputError> {
    let vars = &ctx.host.vars;
    let ratio = match vars.get("pg_shared_buffer_ratio") {
        Some(n) => match n.value {
            crate::seed::yaml::Value::Float(f) => f,
            crate::seed::yaml::Value::Int(i) => i as f64,
            _ => 0.25,
        },
        None => 0.25,
    };
    if !(0.0..=1.0).contains(&ratio) || ratio == 0.0 {
        return Err(ctx.error(format!(
            "pg_shared_buffer_ratio {ratio} is outside (0, 1]; Pigsty advises 0.1 to 0.4"
        )));
    }
    Ok(TuneParams {
        max_conn: vars.int("pg_max_conn"),
        shared_buffer_ratio: ratio,
        via_pgbouncer: ctx.str("pg_default_service_dest")? == "pgbouncer",
        libs: ctx.str("pg_libs")?,
    })
}

/// The node's PostgreSQL sizing for the seed's `pg_conf`.
pub fn node_tuning(ctx: &Context, node: &NodeSpec) -> Result<Tuning, RoleInputError> {
    Ok(tune(profile(ctx)?, node, &tune_params(ctx)?))
}

/// The failover settings of this node's cluster: `pg_rto` looked up in
/// `pg_rto_plan`, `pg_rpo`, and the profile.
pub fn cluster_failover(ctx: &Context) -> Result<FailoverSettings, RoleInputError> {
    let rto = ctx.str("pg_rto")?;
    let plan = ctx
        .host
        .vars
        .get("pg_rto_plan")
        .ok_or_else(|| ctx.error("pg_rto_plan is not set"))?;
    let row = plan
        .get(&rto)
        .ok_or_else(|| ctx.error(format!("pg_rto {rto:?} has no row in pg_rto_plan")))?;
    let rto_plan = RtoPlan::from_row(row)
        .map_err(|e| ctx.error(format!("pg_rto_plan.{rto} (line {}): {e}", row.line)))?;
    let rpo = ctx.int("pg_rpo")?;
    let rpo = u64::try_from(rpo)
        .map_err(|_| ctx.error(format!("pg_rpo {rpo} is negative: it is a lag in bytes")))?;
    Ok(failover(rto_plan, rpo, profile(ctx)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::yaml;

    const GIB: u64 = 1 << 30;

    fn node(cpus: u32, mem_gib: u64, disk_gib: u64) -> NodeSpec {
        NodeSpec {
            mem_bytes: mem_gib * GIB,
            cpus,
            disk_bytes: disk_gib * GIB,
        }
    }

    #[test]
    fn conf_names_profiles() {
        assert_eq!(Profile::from_conf("oltp.yml"), Some(Profile::Oltp));
        assert_eq!(Profile::from_conf("crit"), Some(Profile::Crit));
        assert_eq!(Profile::from_conf("bare.yml"), None);
    }

    // Figures below follow the formulas of Pigsty's parameter-tuning page
    // (docs/pgsql/template/tune): shared buffers 25% of memory, work_mem =
    // shared buffers / max connections within 64 MB–1 GB (oltp, crit), max
    // connections 500 via pgBouncer or 1000 direct (oltp, crit), 500
    // (olap), 250 (tiny); WAL sizes from a twentieth of the disk.

    #[test]
    fn oltp_on_4c8g() {
        let t = tune(Profile::Oltp, &node(4, 8, 100), &TuneParams::default());
        assert_eq!(t.max_connections, 500);
        assert_eq!(t.max_locks_per_transaction, 500);
        assert_eq!(t.max_prepared_transactions, 0);
        assert_eq!(t.shared_buffers_mb, 2048);
        assert_eq!(t.maintenance_work_mem_mb, 512);
        assert_eq!(t.effective_cache_size_mb, 6144);
        assert_eq!(t.work_mem_mb, 64);
        assert_eq!(t.max_worker_processes, 24);
        assert_eq!(t.max_parallel_workers, 2);
        assert_eq!(t.max_parallel_workers_per_gather, 2);
        assert_eq!(t.max_parallel_maintenance_workers, 2);
        assert_eq!(t.io_workers, 4);
        assert_eq!(
            (
                t.min_wal_size_gb,
                t.max_wal_size_gb,
                t.max_slot_wal_keep_size_gb
            ),
            (5, 20, 30)
        );
        assert_eq!(t.temp_file_limit_gb, 5);
        let p = t.parameters();
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("shared_buffers"), Some("2048MB"));
        assert_eq!(get("work_mem"), Some("64MB"));
        assert_eq!(get("max_wal_size"), Some("20GB"));
        assert_eq!(get("parallel_setup_cost"), Some("2000"));
        assert_eq!(get("idle_in_transaction_session_timeout"), Some("10min"));
    }

    #[test]
    fn oltp_direct_doubles_connections_and_explicit_max_conn_wins() {
        let direct = TuneParams {
            via_pgbouncer: false,
            ..TuneParams::default()
        };
        let t = tune(Profile::Oltp, &node(8, 64, 500), &direct);
        assert_eq!(t.max_connections, 1000);
        assert_eq!(t.shared_buffers_mb, 16384);
        // 16384 / 1000 = 16 MB, raised to the 64 MB floor.
        assert_eq!(t.work_mem_mb, 64);
        let fixed = TuneParams {
            max_conn: Some(100),
            ..TuneParams::default()
        };
        let t = tune(Profile::Oltp, &node(8, 64, 500), &fixed);
        assert_eq!(t.max_connections, 100);
        assert_eq!(t.work_mem_mb, 163);
        // Below 20 Pigsty falls back to its recommendation.
        let tiny_conn = TuneParams {
            max_conn: Some(10),
            ..TuneParams::default()
        };
        assert_eq!(
            tune(Profile::Oltp, &node(8, 64, 500), &tiny_conn).max_connections,
            500
        );
        let citus = TuneParams {
            libs: "citus, pg_stat_statements".into(),
            ..TuneParams::default()
        };
        let t = tune(Profile::Oltp, &node(8, 64, 500), &citus);
        assert_eq!(
            (t.max_prepared_transactions, t.max_locks_per_transaction),
            (500, 1000)
        );
    }

    #[test]
    fn olap_on_a_big_node_uses_more_parallelism_and_memory() {
        let t = tune(Profile::Olap, &node(64, 256, 4096), &TuneParams::default());
        assert_eq!(t.max_connections, 500);
        assert_eq!(t.max_locks_per_transaction, 1000);
        assert_eq!(t.shared_buffers_mb, 65536);
        assert_eq!(t.maintenance_work_mem_mb, 32768);
        assert_eq!(t.work_mem_mb, 131);
        assert_eq!(t.max_worker_processes, 84);
        assert_eq!(t.max_parallel_workers, 52);
        assert_eq!(t.max_parallel_workers_per_gather, 32);
        assert_eq!(t.max_parallel_maintenance_workers, 22);
        assert_eq!(t.io_workers, 32);
        // A twentieth of 4 TiB is capped at 100 GiB.
        assert_eq!(
            (
                t.min_wal_size_gb,
                t.max_wal_size_gb,
                t.max_slot_wal_keep_size_gb
            ),
            (100, 400, 600)
        );
        assert_eq!(t.temp_file_limit_gb, 400);
        let p = t.parameters();
        assert!(p.contains(&("vacuum_cost_limit", "10000".into())));
        assert!(p.contains(&("enable_partitionwise_join", "on".into())));
        assert!(!p.iter().any(|(k, _)| *k == "parallel_setup_cost"));
    }

    #[test]
    fn tiny_and_crit() {
        let t = tune(Profile::Tiny, &node(1, 1, 20), &TuneParams::default());
        assert_eq!(t.max_connections, 250);
        assert_eq!(t.shared_buffers_mb, 256);
        assert_eq!(t.work_mem_mb, 16);
        assert_eq!(t.maintenance_work_mem_mb, 64);
        assert_eq!(t.max_worker_processes, 20);
        assert_eq!(t.max_parallel_workers, 1);
        assert_eq!(t.max_parallel_workers_per_gather, 0);
        assert_eq!(t.max_parallel_maintenance_workers, 1);
        assert_eq!(t.io_workers, 3);
        assert_eq!(t.min_wal_size_gb, 1);
        let c = tune(Profile::Crit, &node(16, 32, 200), &TuneParams::default());
        assert_eq!(c.max_parallel_workers_per_gather, 0);
        assert_eq!(c.io_workers, 4);
        let p = c.parameters();
        assert!(p.contains(&("wal_writer_flush_after", "0".into())));
        assert!(p.contains(&("idle_replication_slot_timeout", "3d".into())));
    }

    fn plan_row(name: &str) -> RtoPlan {
        let table = crate::seed::defaults::spec("pg_rto_plan")
            .and_then(|s| s.default.clone())
            .unwrap();
        RtoPlan::from_row(table.get(name).unwrap()).unwrap()
    }

    #[test]
    fn rto_plans_meet_pigsty_published_bounds() {
        let norm = plan_row("norm");
        assert_eq!(
            (
                norm.ttl,
                norm.loop_wait,
                norm.retry_timeout,
                norm.primary_start_timeout,
                norm.safety_margin
            ),
            (30, 5, 10, 25, 5)
        );
        assert_eq!(
            (norm.inter_ms, norm.fastinter_ms, norm.downinter_ms),
            (2000, 1000, 2000)
        );
        assert_eq!((norm.rise, norm.fall), (3, 3));
        // Pigsty's RTO model (docs/concept/ha/rto): worst case =
        // ttl + loop + 2 + inter + (rise - 1) × fastinter, published as
        // fast < 30 s, norm < 45 s, safe < 90 s, wide < 150 s.
        for (name, bound_s) in [
            ("fast", 30.0),
            ("norm", 45.0),
            ("safe", 90.0),
            ("wide", 150.0),
        ] {
            let p = plan_row(name);
            let worst = f64::from(p.ttl)
                + f64::from(p.loop_wait)
                + 2.0
                + p.inter_ms as f64 / 1000.0
                + f64::from(p.rise - 1) * p.fastinter_ms as f64 / 1000.0;
            assert!(worst <= bound_s, "{name}: worst {worst} s");
        }
        assert_eq!(plan_row("fast").fastinter_ms, 500);
    }

    #[test]
    fn bad_rto_rows_are_refused() {
        let row = |t: &str| yaml::parse(t, "plan").unwrap();
        let e = RtoPlan::from_row(&row("[20, 10, 10, 15, 5, 1s, 0.5s, 1s, 3, 3]")).unwrap_err();
        assert!(e.contains("exceeds ttl"), "{e}");
        let e = RtoPlan::from_row(&row("[20, 5, 5]")).unwrap_err();
        assert!(e.contains("expected 10 values"), "{e}");
        let e = RtoPlan::from_row(&row("[20, 5, 5, 15, 5, soon, 0.5s, 1s, 3, 3]")).unwrap_err();
        assert!(e.starts_with("inter:"), "{e}");
    }

    #[test]
    fn rpo_zero_means_synchronous_replication() {
        let norm = plan_row("norm");
        let f = failover(norm.clone(), 1_048_576, Profile::Oltp);
        assert_eq!(f.maximum_lag_on_failover, 1_048_576);
        assert!(!f.synchronous_mode);
        let f = failover(norm.clone(), 0, Profile::Oltp);
        assert!(f.synchronous_mode && !f.synchronous_mode_strict);
        let f = failover(norm, 1_048_576, Profile::Crit);
        assert!(f.synchronous_mode && f.synchronous_mode_strict);
    }
}
