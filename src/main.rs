use std::process::ExitCode;

use clap::Parser;
use keepalived::cli::{self, Cli};
use keepalived::config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.version {
        print!("{}", cli::version_text());
        return ExitCode::SUCCESS;
    }
    if let Some(func) = &cli.signum {
        return match cli::signum(func) {
            Some(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Unknown sigfunc {func}");
                ExitCode::from(1)
            }
        };
    }
    let opts = config::SourceOptions {
        config_id: cli.config_id.clone().unwrap_or_else(config::source::default_config_id),
        all_config: cli.all_config,
    };
    let (cfg, diags) = config::load(&cli.use_file, &opts);
    for d in &diags.list {
        eprintln!("{d}");
    }
    if cli.dump_conf {
        print!("{}", config::dump(&cfg));
    }
    ExitCode::from(diags.exit_code() as u8)
}
