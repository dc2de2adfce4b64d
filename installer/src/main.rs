//! pig-install: configure this node from a seed inventory.

use clap::Parser;

use pig_install::cmdline::{Cli, Command, SeedCommand};
use pig_install::commands;

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Seed(SeedCommand::Init(args)) => commands::seed_init(args),
        Command::Seed(SeedCommand::Check(args)) => commands::seed_check(args),
        Command::Identify(args) => commands::identify(args),
        Command::Plan(args) => commands::plan(args),
        Command::Apply(args) => commands::apply(args),
        Command::Status(args) => commands::status(args),
        Command::Firstboot(args) => commands::firstboot(args),
        Command::Pitr(args) => commands::pitr(args),
        Command::PgbouncerExporter(args) => commands::pgbouncer_exporter(args),
    };
    if let Err(e) = result {
        eprintln!("pig-install: {e:#}");
        std::process::exit(commands::exit_code(&e));
    }
}
