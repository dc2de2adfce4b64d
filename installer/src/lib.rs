//! pig-install: configure a node from a seed, a Pigsty-style inventory
//! that every node holds whole and reads for its own part.

pub mod cmdline;
pub mod commands;
pub mod engine;
pub mod exporter;
pub mod firstboot;
pub mod roles;
pub mod seed;
pub mod seed_source;
