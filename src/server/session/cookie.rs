//! The session of the widget's own page, behind an HttpOnly cookie: stored only
//! when it holds something worth keeping, counted against the client's limit on new
//! sessions, and given a new id when its worth changes.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tower_sessions::Session;

use super::{KEY, SessionSlot, VerifySession};
use crate::server::config::Settings;
use crate::server::limits;
use crate::server::metrics::Metrics;
use crate::server::store::StateStore;
use crate::verify::VerifyError;

/// The cookie session of the widget's own page, with the store that counts new
/// sessions.
pub struct CookieSession {
    pub session: Session,
    pub store: Arc<dyn StateStore>,
    /// Who asks, for the limit on new sessions per client.
    pub client: String,
    pub settings: Arc<Settings>,
    /// Where a newly stored session is counted.
    pub metrics: Arc<Metrics>,
    /// Unix seconds, by the app's clock.
    pub now: u64,
    /// Whether this request's new session was counted already.
    pub counted: AtomicBool,
    /// Whether this request gave the session a new id.
    pub renewed: AtomicBool,
}

impl CookieSession {
    /// Whether the session is one no earlier request stored (a renewed one has no
    /// id either until the end of the request, and is not new).
    fn is_new(&self) -> bool {
        self.session.id().is_none() && !self.renewed.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl SessionSlot for CookieSession {
    async fn load(&self) -> Result<VerifySession, VerifyError> {
        self.session
            .get::<VerifySession>(KEY)
            .await
            .map(Option::unwrap_or_default)
            .map_err(|error| {
                tracing::error!(%error, "cannot read the session");
                VerifyError::Internal
            })
    }

    async fn save(&self, state: &VerifySession) -> Result<(), VerifyError> {
        if self.is_new() {
            // A visitor without a stored session gets one only for something that
            // must outlive the request: otherwise any page could fill the store with
            // `<img>` tags pointing at ours. The language goes to a cookie of its own
            // instead (`request::remember_lang`).
            if !state.needs_storing() {
                return Ok(());
            }
            if !self.counted.swap(true, Ordering::SeqCst) {
                let limits = &self.settings.limits;
                let admitted =
                    limits::admit_new_session(self.store.as_ref(), limits, &self.client, self.now)
                        .await
                        .map_err(|refusal| refusal.counted(&self.metrics));
                if admitted.is_err() {
                    self.counted.store(false, Ordering::SeqCst);
                }
                admitted?;
                self.metrics.session_created("cookie");
            }
        }
        self.session.insert(KEY, state).await.map_err(|error| {
            tracing::error!(%error, "cannot write the session");
            VerifyError::Internal
        })
    }

    fn needs_admission(&self) -> bool {
        self.is_new() && !self.counted.load(Ordering::SeqCst)
    }

    fn admitted_with_send(&self) {
        if !self.counted.swap(true, Ordering::SeqCst) {
            self.metrics.session_created("cookie");
        }
    }

    async fn renew_id(&self) -> Result<(), VerifyError> {
        // A session stored by no earlier request has no id anyone could know.
        if self.session.id().is_none() {
            return Ok(());
        }
        // The old record goes now; the new one is stored with the rest at the end of
        // the request, and the flow lock leaves the note for a double submit
        // (`routes::flow_lock`) when it is freed.
        self.session.cycle_id().await.map_err(|error| {
            tracing::error!(%error, "cannot renew the session id");
            VerifyError::Internal
        })?;
        self.renewed.store(true, Ordering::SeqCst);
        Ok(())
    }
}
