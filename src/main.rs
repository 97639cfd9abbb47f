//! The phone-verify server: reads its settings from the environment, then serves the
//! app until SIGINT or SIGTERM.
use phone_verify::server::{self, Settings, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A .env file is for local development; the real environment wins over it.
    let _ = dotenvy::dotenv();
    telemetry::init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("phone-verify: configuration error: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    match server::run(settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
