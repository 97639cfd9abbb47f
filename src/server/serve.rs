//! The HTTP server around the router: HTTP/1.1 only, connection timeouts and caps,
//! and graceful shutdown.
//!
//! `axum::serve` gives no header-read timeout and waits for ever on shutdown; here a
//! client gets `HEADER_READ_TIMEOUT_SECS` to send a request head (a connection that
//! sends nothing at all included), at most `MAX_CONNECTIONS` connections are open at
//! once, and shutdown waits at most `SHUTDOWN_DRAIN_SECS` for requests in flight.
//! Cleartext HTTP/2 is not spoken: its preface and frames escape the header timer,
//! and a TLS-terminating proxy in front gives browsers HTTP/2 anyway.
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::clock::SystemClock;
use super::metrics::Metrics;
use super::{AppState, Settings, build_router, metrics_routes};

/// Serves the app on `listener` until `shutdown` completes, then lets requests in
/// flight finish for up to the drain time, and writes down the state they left.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let policy = state.settings.connections;
    let draining = state.draining.clone();
    let store = state.store.clone();
    let after_answers = state.after_answers.clone();
    let router = build_router(state);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(policy.header_read);
    let open = Arc::new(Semaphore::new(policy.max_open));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    // Until shutdown begins: never. Then the end of the grace time in which the app
    // still serves but is no longer ready.
    let mut stop_accepting = pin!(tokio::time::sleep(Duration::MAX));
    loop {
        let shutting_down = draining.load(Ordering::Relaxed);
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                // Out of file descriptors, or the peer gave up before we got to it:
                // keep serving the others.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown, if !shutting_down => {
                draining.store(true, Ordering::Relaxed);
                tracing::info!(
                    grace_secs = policy.ready_grace.as_secs(),
                    "shutdown begins: /readyz answers 503, still serving"
                );
                stop_accepting
                    .as_mut()
                    .reset(tokio::time::Instant::now() + policy.ready_grace);
                continue;
            }
            () = &mut stop_accepting, if shutting_down => break,
        };
        // Over the cap, the newest connection is closed at once: the ones already
        // open keep their descriptors, and the client learns now, not after a hang.
        let Ok(slot) = open.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: MAX_CONNECTIONS open");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // The peer address feeds the per-IP limits.
        let service = router
            .clone()
            .map_request(move |request: Request<Incoming>| {
                let mut request = request.map(Body::new);
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request
            });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!(
        drain_secs = policy.drain.as_secs(),
        "shutting down: no new connections, finishing requests in flight"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all requests finished"),
        () = tokio::time::sleep(policy.drain) => {
            tracing::warn!("drain time over: closing connections with requests still running");
        }
    }
    // What the last requests left for after their answers (a lock's release, a
    // renewal's note): one store trip each, already under way.
    after_answers.close();
    if tokio::time::timeout(AFTER_ANSWERS_WAIT, after_answers.wait())
        .await
        .is_err()
    {
        tracing::warn!("writes left for after their answers still running at shutdown");
    }
    if let Err(error) = store.flush().await {
        tracing::error!(%error, "state not written at shutdown");
    }
    Ok(())
}

/// How long shutdown waits for the writes requests left for after their answers.
const AFTER_ANSWERS_WAIT: Duration = Duration::from_secs(5);

/// A pause after a failed accept, so that running out of descriptors is not a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Binds the configured address and serves the app until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> std::io::Result<()> {
    let addr = settings.leptos.site_addr;
    let state = AppState::new(settings, Arc::new(SystemClock))
        .await
        .map_err(|error| std::io::Error::other(error.to_string()))?;
    if let Some(metrics_addr) = state.settings.metrics_addr {
        let listener = TcpListener::bind(metrics_addr).await?;
        tracing::info!("metrics at http://{}/metrics", listener.local_addr()?);
        tokio::spawn(serve_metrics(listener, state.metrics.clone()));
    }
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(
        provider = state.provider.name(),
        "listening on http://{}",
        listener.local_addr()?
    );
    if state.outbox.is_some() {
        // Loud on purpose: whoever can reach this server can read every code.
        tracing::warn!(
            "DEVELOPMENT MODE: the local provider sends no SMS; every code it makes is \
             readable by anyone at http://{}/dev/outbox. Configure MessageBird or Twilio \
             before real visitors come.",
            listener.local_addr()?
        );
    }
    serve(listener, state, shutdown_signal()).await
}

/// Serves `GET /metrics` on `listener` for as long as the process lives: scrapes
/// during shutdown still see the last requests.
pub async fn serve_metrics(listener: TcpListener, metrics: Arc<Metrics>) {
    if let Err(error) = axum::serve(listener, metrics_routes(metrics)).await {
        tracing::error!(%error, "the metrics listener stopped");
    }
}

/// SIGINT (Ctrl-C) or SIGTERM (what container runtimes and systemd send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
