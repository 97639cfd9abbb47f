use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::clock::Clock;
use super::config::{ProviderKind, Settings};
use super::outbox::Outbox;
use super::provider::{LocalProvider, VerifyProvider};

/// What every request handler and server function can reach (server functions get it
/// from Leptos context, which `leptos_routes_with_context` fills).
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<Settings>,
    pub provider: Arc<dyn VerifyProvider>,
    pub clock: Arc<dyn Clock>,
    /// Present only while the built-in local provider is in use.
    pub outbox: Option<Arc<Outbox>>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// Wires the configured provider. With no credentials that is the local provider,
    /// which brings the dev outbox with it.
    pub fn new(settings: Settings, clock: Arc<dyn Clock>) -> Self {
        let outbox = Arc::new(Outbox::new(OUTBOX_CAPACITY));
        let provider: Arc<dyn VerifyProvider> = match settings.provider {
            ProviderKind::Local => Arc::new(LocalProvider::new(settings.code, clock.clone(), outbox.clone())),
        };
        Self {
            leptos_options: settings.leptos.clone(),
            settings: Arc::new(settings),
            provider,
            clock,
            outbox: Some(outbox),
        }
    }
}

/// Enough history to find one's code, little enough to never matter for memory.
const OUTBOX_CAPACITY: usize = 100;
