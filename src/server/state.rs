use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use leptos::config::LeptosOptions;
use tokio_util::task::TaskTracker;

use super::assets::Assets;
use super::clock::Clock;
use super::config::{ProviderSettings, Settings};
use super::countries;
use super::metrics::Metrics;
use super::notify::Notifier;
use super::outbox::Outbox;
use super::provider::{Guarded, LocalProvider, MessageBird, Metered, Twilio, VerifyProvider};
use super::store::{Measured, RedisStore, SqliteStore, StateStore, StoreError};
use super::tokens::Issuer;
use super::verification::Verifier;
use crate::i18n::Lang;
use crate::verify::PhoneNumber;

/// What every request handler and server function can reach (server functions and the
/// page render get it from Leptos context, see `routes::build_router`). One pointer:
/// the router's layers clone it for every request.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

/// The parts of [`AppState`], reached through it (`state.store`).
pub struct Parts {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<Settings>,
    pub provider: Arc<dyn VerifyProvider>,
    /// The same provider for confirmation texts (`POST /api/v1/notify`), behind a
    /// guard of its own: a messaging outage never opens the breaker of the codes.
    pub messenger: Arc<dyn VerifyProvider>,
    pub clock: Arc<dyn Clock>,
    /// Present only while the built-in local provider is in use.
    pub outbox: Option<Arc<Outbox>>,
    /// Sessions, the local provider's codes and the limits' counters.
    pub store: Arc<dyn StateStore>,
    /// Signs the result tokens of embedded widgets.
    pub issuer: Arc<Issuer>,
    /// Set when shutdown begins: `/readyz` answers 503 from then on.
    pub draining: Arc<AtomicBool>,
    /// The writes flow requests left for after their answers, while they run:
    /// shutdown waits for them before it writes the state down.
    pub after_answers: TaskTracker,
    /// The built front end's names, as the shell links them.
    pub assets: Arc<Assets>,
    /// This app's metrics (its own registry: tests run many apps in one process).
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// Wires the configured provider. With no credentials that is the local provider,
    /// which brings the dev outbox with it.
    ///
    /// # Errors
    /// When the state store cannot be opened.
    pub async fn new(mut settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let assets = Arc::new(Assets::load(&settings.leptos));
        // Without the build's hash file (a test binary, a development build), the
        // plain names are served; Leptos would otherwise look for the file and fail.
        settings.leptos.hash_files = assets.hashed;
        // Everything lazy on the hot path is loaded here, before the first visitor.
        let warming = tokio::task::spawn_blocking(|| {
            PhoneNumber::warm_up();
            for lang in Lang::ALL {
                countries::options(lang);
            }
            crate::components::rendered_country_options();
        });
        let metrics = Arc::new(Metrics::new());
        let store: Arc<dyn StateStore> =
            Arc::new(Measured::new(open_store(&settings).await?, metrics.clone()));
        let mut outbox = None;
        let (provider, messenger): (Provider, Provider) = match &settings.provider {
            ProviderSettings::Local => {
                let dev_outbox = Arc::new(Outbox::new(OUTBOX_CAPACITY));
                outbox = Some(dev_outbox.clone());
                let local = LocalProvider::open(
                    settings.code,
                    settings.templates.clone(),
                    clock.clone(),
                    dev_outbox,
                    store.clone(),
                )
                .await?;
                let metered: Arc<dyn VerifyProvider> =
                    Arc::new(Metered::new(Arc::new(local), metrics.clone()));
                (metered.clone(), metered)
            }
            ProviderSettings::MessageBird(config) => {
                let client: Arc<dyn VerifyProvider> = Arc::new(MessageBird::new(config.clone()));
                (
                    guarded(client.clone(), &settings, &clock, &metrics),
                    guarded_texts(client, &settings, &clock, &metrics),
                )
            }
            ProviderSettings::Twilio(config) => {
                let client: Arc<dyn VerifyProvider> = Arc::new(Twilio::new(config.clone()));
                (
                    guarded(client.clone(), &settings, &clock, &metrics),
                    guarded_texts(client, &settings, &clock, &metrics),
                )
            }
        };
        let issuer =
            Arc::new(Issuer::open(&settings.public_url, store.clone(), clock.unix_secs()).await?);
        rotate_hourly(&issuer, clock.clone());
        let _ = warming.await;
        Ok(Self(Arc::new(Parts {
            leptos_options: settings.leptos.clone(),
            settings: Arc::new(settings),
            provider,
            messenger,
            clock,
            outbox,
            store,
            issuer,
            draining: Arc::new(AtomicBool::new(false)),
            after_answers: TaskTracker::new(),
            assets,
            metrics,
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

impl AppState {
    /// The verification core, working with this app's settings, provider and store.
    pub fn verifier(&self) -> Verifier<'_> {
        Verifier {
            settings: &self.settings,
            provider: self.provider.as_ref(),
            store: self.store.as_ref(),
            metrics: &self.metrics,
        }
    }

    /// The confirmation texts of host backends, with this app's sites, keys, store
    /// and messenger.
    pub fn notifier(&self) -> Notifier<'_> {
        Notifier {
            sites: &self.settings.sites,
            issuer: &self.issuer,
            store: self.store.as_ref(),
            messenger: self.messenger.as_ref(),
            metrics: &self.metrics,
        }
    }
}

/// Keeps the signing keys rotating for as long as the app lives.
fn rotate_hourly(issuer: &Arc<Issuer>, clock: Arc<dyn Clock>) {
    let issuer = Arc::downgrade(issuer);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3_600));
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(issuer) = issuer.upgrade() else {
                return;
            };
            if let Err(error) = issuer.rotate(clock.unix_secs()).await {
                tracing::warn!(%error, "cannot rotate the token signing keys; keeping the current ones");
            }
        }
    });
}

type Provider = Arc<dyn VerifyProvider>;

/// Remote providers can be slow or down; the local one cannot. The guard sits
/// outside the metering, so that `upstream_seconds` counts only calls that went out.
fn guarded(
    provider: Arc<dyn VerifyProvider>,
    settings: &Settings,
    clock: &Arc<dyn Clock>,
    metrics: &Arc<Metrics>,
) -> Arc<dyn VerifyProvider> {
    let name = provider.name();
    let metered = Arc::new(Metered::new(provider, metrics.clone()));
    Arc::new(
        Guarded::new(metered, settings.upstream_guard, clock.clone())
            .showing_state_on(metrics.breaker(name)),
    )
}

/// As [`guarded`], for confirmation texts: the same cap and breaker settings, its
/// own slots and breaker (the metrics' breaker gauge shows the codes' one).
fn guarded_texts(
    provider: Arc<dyn VerifyProvider>,
    settings: &Settings,
    clock: &Arc<dyn Clock>,
    metrics: &Arc<Metrics>,
) -> Arc<dyn VerifyProvider> {
    let metered = Arc::new(Metered::new(provider, metrics.clone()));
    Arc::new(Guarded::new(
        metered,
        settings.upstream_guard,
        clock.clone(),
    ))
}

/// Redis when `REDIS_URL` is set, else the SQLite file under `DATA_DIR`.
async fn open_store(settings: &Settings) -> Result<Arc<dyn StateStore>, StoreError> {
    use secrecy::ExposeSecret;
    Ok(match &settings.redis_url {
        Some(url) => {
            Arc::new(RedisStore::connect(url.expose_secret(), &settings.redis_prefix).await?)
        }
        None => {
            let store = SqliteStore::open(&settings.data_dir.join("phone-verify.sqlite3"))?;
            store.sweep_every(crate::server::store::SQLITE_SWEEP_INTERVAL);
            Arc::new(store)
        }
    })
}

/// Enough history to find one's code, little enough to never matter for memory.
const OUTBOX_CAPACITY: usize = 100;
