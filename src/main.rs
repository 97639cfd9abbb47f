//! The phone-verify server: reads its settings from the environment, then serves the
//! app until SIGINT or SIGTERM. `--check-config` reads them and stops; `--version`
//! says which build this is.
use std::process::ExitCode;

use phone_verify::server::{self, Settings, telemetry};

const USAGE: &str = "usage: phone-verify [--check-config | --version | --help]
  (no argument)    serve, configured by the environment (see .env.example)
  --check-config   read the environment and the sites file, print the settings it
                   would run with (secrets masked), exit 2 on any problem
  --version        print the version";

/// mimalloc rather than the system allocator: under load, glibc's malloc and free
/// were a fifth of the server's CPU (BENCHMARKS.md, "The country list once,
/// mimalloc, and a lighter harness").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let argument = std::env::args().nth(1);
    match argument.as_deref() {
        None => serve().await,
        Some("--check-config") => check_config(),
        Some("--version" | "-V") => {
            println!("phone-verify {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("phone-verify: unknown argument {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The settings from the environment, a `.env` file filling in what it lacks.
fn settings() -> Result<Settings, ExitCode> {
    // A .env file is for local development; the real environment wins over it.
    let _ = dotenvy::dotenv();
    if let Err(problem) = telemetry::init() {
        eprintln!("phone-verify: configuration error: {problem}");
        return Err(ExitCode::from(2));
    }
    Settings::from_env().map_err(|error| {
        eprintln!("phone-verify: configuration error: {error}");
        ExitCode::from(2)
    })
}

async fn serve() -> ExitCode {
    let settings = match settings() {
        Ok(settings) => settings,
        Err(code) => return code,
    };
    let result = server::run(settings).await;
    if let Err(error) = &result {
        tracing::error!(%error, "server stopped");
    }
    // Off the async runtime: the exporter's last batch blocks until it is sent.
    let _ = tokio::task::spawn_blocking(telemetry::flush).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// Secrets are `SecretString`s, whose debug form is `[REDACTED]`.
fn check_config() -> ExitCode {
    match settings() {
        Ok(settings) => {
            println!("{settings:#?}");
            println!("phone-verify: configuration OK");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
