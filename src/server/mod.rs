//! Everything that only runs on the server.
//!
//! - [`config`]: settings from the environment, checked at start-up.
//! - [`countries`]: the country picker's list, named in each language.
//! - [`verification`]: the verification core, the use cases without HTTP.
//! - [`request`]: a server function's call turned into the core's inputs, and its
//!   result into a response ([`error_response`] gives an error its status).
//! - [`hardening`]: security headers, CSP, CSRF checks.
//! - [`limits`]: abuse limits on sends and wrong codes.
//! - [`metrics`]: counters and timings for Prometheus, one registry per app.
//! - [`session`]: what a browser session remembers between requests.
//! - [`sites`]: the sites that may embed the widget, their keys and origins.
//! - [`embed`]: the sessions of widgets framed by those sites, without cookies.
//! - [`tokens`]: the signed results handed to host pages; [`siteverify`] checks one
//!   for a host's backend; [`notify`] sends the host's confirmation text to a number
//!   just verified for it.
//! - [`store`]: durable state (SQLite or Redis) for sessions, codes and counters.
//! - [`provider`]: the Verify providers behind one trait, and the built-in local one.
//! - [`outbox`]: where the local provider "delivers" messages during development.
//! - [`clock`]: wall-clock time, replaceable in tests; [`random`]: unguessable ids.
//! - [`telemetry`] sets up logging.
//! - `routes` puts the page, the API and the dev outbox together; `serve` runs them
//!   over HTTP, and the metrics on their own listener.

pub mod assets;
pub mod clock;
pub mod config;
pub mod countries;
pub mod embed;
pub mod error_response;
pub mod hardening;
pub mod limits;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod provider;
pub mod proxies;
pub mod random;
pub mod request;
pub mod session;
pub mod sites;
pub mod siteverify;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod verification;

mod routes;
mod serve;
mod state;

pub use config::Settings;
pub use routes::{build_router, metrics_routes};
pub use serve::{run, serve, serve_metrics, shutdown_signal};
pub use state::AppState;
