//! The session of the widget's own page, behind an HttpOnly cookie: stored only
//! when it holds something worth keeping, counted against the client's limit on new
//! sessions, and given a new id when its worth changes.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tower_sessions::Session;

use super::{KEY, SessionSlot, VerifySession};
use crate::server::config::Settings;
use crate::server::limits;
use crate::server::metrics::Metrics;
use crate::server::store::StateStore;
use crate::verify::VerifyError;

/// The cookie session of the widget's own page, with the store where a renewed id
/// leaves a forwarding note for the requests already waiting on it.
pub struct CookieSession {
    pub session: Session,
    pub store: Arc<dyn StateStore>,
    /// The request's path, noted with a renewed id: only the same call follows it.
    pub call: String,
    /// Who asks, for the limit on new sessions per client.
    pub client: String,
    pub settings: Arc<Settings>,
    /// Where a newly stored session is counted.
    pub metrics: Arc<Metrics>,
    /// Unix seconds, by the app's clock.
    pub now: u64,
    /// Whether this request's new session was counted already.
    pub counted: AtomicBool,
}

/// Where a renewed session id is noted: `renewed:<old id>` holds the new id and the
/// call that changed it, so that a double submit of that call, sent
/// with the old id just before or after, follows the session (`routes::flow_lock`).
pub fn renewed_key(old_id: &str) -> String {
    format!("renewed:{old_id}")
}

/// How long a double submit may follow a renewed id: a double click, or a form sent
/// again while the first answer is on its way. Later, the old id is worth nothing.
pub const RENEWED_NOTE_TTL: Duration = Duration::from_secs(10);

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
        if self.session.id().is_none() {
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

    async fn renew_id(&self) -> Result<(), VerifyError> {
        // A session stored by no earlier request has no id anyone could know.
        let Some(old) = self.session.id() else {
            return Ok(());
        };
        let failed = |what: &'static str| {
            move |error: tower_sessions::session::Error| {
                tracing::error!(%error, "cannot {what}");
                VerifyError::Internal
            }
        };
        self.session
            .cycle_id()
            .await
            .map_err(failed("renew the session id"))?;
        // Stored now, so the new id exists before the note points at it.
        self.session
            .save()
            .await
            .map_err(failed("store the renewed session"))?;
        let Some(new) = self.session.id() else {
            return Ok(());
        };
        let note = format!("{new}|{}", self.call);
        self.store
            .set(
                &renewed_key(&old.to_string()),
                note.as_bytes(),
                RENEWED_NOTE_TTL,
            )
            .await
            .map_err(|error| {
                tracing::error!(%error, "cannot note the renewed session id");
                VerifyError::Internal
            })
    }
}
