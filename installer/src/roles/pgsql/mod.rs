//! The PGSQL role: PostgreSQL under Patroni, pgBouncer and pgBackRest.

pub mod backup;
pub mod hba;
pub mod tune;
