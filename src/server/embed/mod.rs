//! Embed sessions: the state of a widget framed by another site's page. Inside a
//! cross-site frame browsers send no cookies (Safari never, Chrome less and less), so
//! the session is named by an unguessable id that travels in the frame's address
//! (`/embed/s/<id>`, and its calls and forms go to `/embed/s/<id>/api/…`) or in an
//! `X-PV-Session` header, and is bound on the server to the site and origin that
//! framed it.
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

mod params;
mod theme;
pub mod tickets;

pub use params::{EmbedParams, EmbedQuery, ParamProblem};
pub use theme::{Theme, ThemeVars};

use super::session::{SessionSlot, VerifySession};
use super::store::StateStore;
use crate::verify::VerifyError;

/// The header the frame's scripts name their session in.
pub const SESSION_HEADER: &str = "x-pv-session";

/// A frame left alone this long starts over, as the widget's own page does.
const IDLE: Duration = Duration::from_secs(30 * 60);

/// Who framed the widget, and what for; fixed when the frame was first loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedContext {
    pub sitekey: String,
    /// The page's origin the frame talks to and the token names, when known.
    pub origin: Option<String>,
    /// The host page's name for this widget, echoed in every message to it.
    pub widget_id: String,
    pub action: Option<String>,
    pub cdata: Option<String>,
    pub nonce: Option<String>,
    /// Hosted mode: a full page of this server, not a frame, that sends the visitor
    /// back here with the token (see `return_location`).
    #[serde(default)]
    pub return_url: Option<String>,
    /// Hosted mode: the host's value, echoed back with the token.
    #[serde(default)]
    pub state: Option<String>,
    /// A session the host's backend created: its reference, signed into the token.
    #[serde(default)]
    pub reference: Option<String>,
    /// The host's colour scheme and `--pv-*` values.
    #[serde(default)]
    pub theme: Theme,
    #[serde(default)]
    pub vars: ThemeVars,
}

impl EmbedContext {
    /// Where a hosted page sends the visitor once `token` is theirs: the return URL
    /// with `pv_token` and `state` added to its query.
    pub fn return_location(&self, token: &str) -> Option<String> {
        let mut url = reqwest::Url::parse(self.return_url.as_deref()?).ok()?;
        url.query_pairs_mut().append_pair("pv_token", token);
        if let Some(state) = &self.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Some(url.into())
    }
}

#[derive(Serialize, Deserialize)]
struct Record {
    context: EmbedContext,
    state: VerifySession,
}

/// One embed session, loaded for the length of a request.
pub struct EmbedSlot {
    store: Arc<dyn StateStore>,
    id: String,
    context: EmbedContext,
    state: Mutex<VerifySession>,
}

fn key(id: &str) -> String {
    format!("embed:{id}")
}

impl EmbedSlot {
    /// Starts a session for a frame of `context`, in the state `initial`.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn create(
        store: Arc<dyn StateStore>,
        context: EmbedContext,
        initial: VerifySession,
    ) -> Result<Self, VerifyError> {
        loop {
            let slot = Self {
                store: store.clone(),
                id: crate::server::random::id::<32>(),
                context: context.clone(),
                state: Mutex::new(initial.clone()),
            };
            let record = slot.encode(&initial);
            match store.set_if_absent(&key(&slot.id), &record, IDLE).await {
                Ok(true) => return Ok(slot),
                Ok(false) => {}
                Err(error) => {
                    tracing::error!(%error, "cannot store an embed session");
                    return Err(VerifyError::Internal);
                }
            }
        }
    }

    /// The session named `id`, if it is live.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn open(store: Arc<dyn StateStore>, id: &str) -> Result<Option<Self>, VerifyError> {
        // Ids are 43 base64url characters; anything else cannot name one.
        if id.len() != 43
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        let bytes = store.get(&key(id)).await.map_err(|error| {
            tracing::error!(%error, "cannot read an embed session");
            VerifyError::Internal
        })?;
        let Some(record) = bytes.and_then(|b| serde_json::from_slice::<Record>(&b).ok()) else {
            return Ok(None);
        };
        Ok(Some(Self {
            store,
            id: id.to_owned(),
            context: record.context,
            state: Mutex::new(record.state),
        }))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn context(&self) -> &EmbedContext {
        &self.context
    }

    /// The frame's own address, where a form posted without JavaScript returns to.
    pub fn page_path(&self) -> String {
        format!("/embed/s/{}", self.id)
    }

    fn encode(&self, state: &VerifySession) -> Vec<u8> {
        let record = Record {
            context: self.context.clone(),
            state: state.clone(),
        };
        serde_json::to_vec(&record).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl SessionSlot for EmbedSlot {
    async fn load(&self) -> Result<VerifySession, VerifyError> {
        Ok(self.state.lock().await.clone())
    }

    async fn save(&self, state: &VerifySession) -> Result<(), VerifyError> {
        let mut current = self.state.lock().await;
        self.store
            .set(&key(&self.id), &self.encode(state), IDLE)
            .await
            .map_err(|error| {
                tracing::error!(%error, "cannot write an embed session");
                VerifyError::Internal
            })?;
        *current = state.clone();
        Ok(())
    }
}

/// The session id a request names in its header.
pub fn requested_id(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
