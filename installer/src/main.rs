//! pig-install: configure this node from a seed inventory.

use clap::Parser;

/// Configure this node for its roles from a Pigsty-style seed inventory.
///
/// The seed model, plan/apply engine and roles arrive with the installer
/// work; this build only reports its version.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let Cli {} = Cli::parse();
}
