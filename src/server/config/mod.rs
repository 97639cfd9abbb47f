//! Settings, read once from the environment at start-up (every variable, its
//! default and its meaning: [`variables`], the README and `.env.example`).
//!
//! - this file: the settings' types;
//! - `read`: turning the environment into them;
//! - `env`: parsing one variable's value;
//! - `provider`: which provider, with its credentials;
//! - [`variables`]: the list of every variable, which the README's table and
//!   `.env.example` are checked against.
use std::fmt;
use std::time::Duration;

use leptos::config::LeptosOptions;
use secrecy::SecretString;

use super::limits::LimitPolicy;
use super::provider::{CodePolicy, GuardPolicy, MessageTemplates};
use super::sites::Sites;
use crate::verify::CountryCode;

mod env;
mod provider;
mod read;
pub mod variables;

#[cfg(test)]
mod tests;

pub use provider::ProviderSettings;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Leptos' own settings: the `LEPTOS_*` variables cargo-leptos sets, or else
    /// `Leptos.toml` (path in `LEPTOS_CONFIG`) with `LEPTOS_*` layered over it.
    pub leptos: LeptosOptions,
    /// `VERIFY_PROVIDER`: `local`, `messagebird` or `twilio` (unset: the one whose
    /// credentials are set, else `local`, which `VERIFY_DEV_MODE` alone lets serve
    /// on a non-loopback address), with the
    /// settings of the chosen one.
    pub provider: ProviderSettings,
    pub code: CodePolicy,
    pub templates: MessageTemplates,
    /// `VERIFY_RESEND_COOLDOWN_SECS`, default 30: the wait before a code may be resent.
    pub resend_cooldown: Duration,
    /// `VERIFY_DEFAULT_COUNTRY`: ISO code (e.g. `GB`) for numbers typed without `+`.
    /// Unset by default: visitors must type their country code.
    pub default_country: Option<CountryCode>,
    /// `SESSION_COOKIE_SECURE`, default false: set true whenever the app is served over
    /// HTTPS (also turns on HSTS).
    pub served_over_https: bool,
    /// `FRAME_ANCESTORS`, default `'self'`: who may show the widget in a frame, as a
    /// CSP source list, e.g. `'self' https://shop.example`.
    pub frame_ancestors: String,
    /// `VERIFY_PUBLIC_URL`, default `http://` + the listening address: this server as
    /// browsers and host backends reach it, without a trailing slash.
    pub public_url: String,
    /// `VERIFY_SITES_FILE`: the sites that may embed the widget; unset, the
    /// development site while listening on loopback, else none.
    pub sites: Sites,
    /// `VERIFY_PAGE_SITEKEY`: the site whose tokens the widget's own page gets.
    pub page_sitekey: Option<String>,
    /// `DATA_DIR`, default `data`: where the embedded SQLite state lives.
    pub data_dir: std::path::PathBuf,
    /// `REDIS_URL`, unset by default: share state through Redis instead of SQLite
    /// (secret: it may hold a password).
    pub redis_url: Option<SecretString>,
    /// `REDIS_PREFIX`, default `phone-verify:`: keeps deployments apart in one Redis.
    pub redis_prefix: String,
    /// `VERIFY_LIMIT_*`, `VERIFY_ALLOWED_COUNTRIES`, `TRUSTED_PROXIES`.
    pub limits: LimitPolicy,
    /// `HEADER_READ_TIMEOUT_SECS`, `BODY_READ_TIMEOUT_SECS`, `SHUTDOWN_DRAIN_SECS`,
    /// `MAX_CONNECTIONS`.
    pub connections: ConnectionPolicy,
    /// `UPSTREAM_MAX_IN_FLIGHT`, `UPSTREAM_BREAKER_*`: how much load the provider gets.
    pub upstream_guard: GuardPolicy,
    /// `METRICS_ADDR`, unset by default: where Prometheus scrapes `/metrics`, on a
    /// listener of its own so that it is never public with the app.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// How long a client may take, and how long shutdown waits for requests in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionPolicy {
    /// `HEADER_READ_TIMEOUT_SECS`, default 10: a connection that has not sent a whole
    /// request head by then is closed.
    pub header_read: Duration,
    /// `BODY_READ_TIMEOUT_SECS`, default 10: an API request whose body has not
    /// arrived by then gets 408 and the connection is closed.
    pub body_read: Duration,
    /// `SHUTDOWN_DRAIN_SECS`, default 10: on SIGTERM the app stops accepting and waits
    /// this long for requests in flight before it exits.
    pub drain: Duration,
    /// `SHUTDOWN_DELAY_SECS`, default 0: on SIGTERM the app first answers `/readyz`
    /// with 503 for this long while it still serves, so a load balancer stops sending
    /// it visitors, and only then stops accepting.
    pub ready_grace: Duration,
    /// `MAX_CONNECTIONS`, default 4096: connections open at once; more are closed
    /// as they arrive. Keep it under the process' file descriptor limit.
    pub max_open: usize,
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
            drain: Duration::from_secs(10),
            ready_grace: Duration::ZERO,
            max_open: 4_096,
        }
    }
}

/// A setting that is present but unusable.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.problem)
    }
}
