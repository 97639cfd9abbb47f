//! `demo-host`: the host site, on `DEMO_HOST_ADDR` (see `config.rs` and the README).
use demo_host::{AppState, Config, router, state::system_clock};

#[tokio::main]
async fn main() -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "demo_host=info".into()),
        )
        .init();
    let config = Config::from_lookup(|name| std::env::var(name).ok())?;
    let addr = config.addr;
    let public_url = config.public_url.clone();
    let widget_url = config.widget_url.clone();
    let state = AppState::new(config, system_clock())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("demo host: {public_url}/  (widget from {widget_url})");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
