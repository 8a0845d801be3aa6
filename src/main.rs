use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use keepalived::cli::{self, Cli};
use keepalived::{config, daemon, logging};

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
    if cli.config_test.is_some() {
        return ExitCode::from(config_test(&cli) as u8);
    }
    if !cli.dont_fork
        && let Err(e) = daemon::daemonize()
    {
        eprintln!("keepalived: {e:#}");
        return ExitCode::from(1);
    }
    let log_opts = logging::LogOptions {
        console: cli.log_console,
        detail: cli.log_detail,
        facility: cli.log_facility.clone(),
        no_syslog: cli.no_syslog,
    };
    if let Err(e) = logging::init(&log_opts) {
        eprintln!("keepalived: {e:#}");
        return ExitCode::from(1);
    }
    match daemon::run(&cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::from(1)
        }
    }
}

/// `-t[=FILE]`: every problem, one per line, to stderr or FILE; the exit code is keepalived's.
fn config_test(cli: &Cli) -> i32 {
    let opts = config::SourceOptions {
        config_id: cli.config_id.clone().unwrap_or_else(config::source::default_config_id),
        all_config: cli.all_config,
    };
    let (cfg, diags) = config::load(&cli.use_file, &opts);
    let mut report = String::new();
    for d in &diags.list {
        report.push_str(&d.to_string());
        report.push('\n');
    }
    match cli.config_test_log() {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, &report) {
                eprintln!("keepalived: cannot write {}: {e}", path.display());
            }
        }
        None => {
            let _ = std::io::stderr().write_all(report.as_bytes());
        }
    }
    if cli.dump_conf {
        print!("{}", config::dump(&cfg));
    }
    let code = diags.exit_code();
    // The process ends now: freeing a large config node by node would only cost time.
    std::mem::forget(cfg);
    code
}
