//! The host's own visitor sessions: an HttpOnly, SameSite=Lax cookie with 256
//! random bits, naming a row of `sessions` that holds [`HostSession`] as JSON.
//!
//! SameSite=Lax is also this site's defence against cross-site form posts, with the
//! `Origin` check in `routes`; the cookie still comes along on the top-level GET that
//! brings a visitor back from phone-verify's hosted page.
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use base64::Engine;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::i18n::Lang;

pub const COOKIE_NAME: &str = "demo_session";
/// A session lives two hours after its last change.
const TTL_SECS: u64 = 7_200;

/// What the host remembers of one visitor.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct HostSession {
    /// The account signed in, once the password and any second factor passed.
    pub account: Option<i64>,
    /// Passed to the widget as `nonce` and to the hosted page as `state`: a token
    /// or a return made for another visitor's session is worth nothing in this one.
    pub nonce: String,
    pub lang: Option<Lang>,
    /// A number verified on the one-form sign-up before the rest of the form was
    /// right: kept, so the visitor does not verify again.
    pub signup_phone: Option<VerifiedNumber>,
    /// A sign-up waiting for the hosted page (no JavaScript).
    pub pending_signup: Option<PendingSignup>,
    /// A password accepted, the second factor not yet.
    pub pending_login: Option<PendingLogin>,
    /// Unix seconds when this visitor last proved the account's number (the second
    /// factor, or verifying it): changing the number needs that to be recent.
    #[serde(default)]
    pub factor_at: Option<u64>,
    /// What the next page tells the visitor (after a redirect).
    #[serde(default)]
    pub notices: Vec<Notice>,
}

/// A message for the next page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    Created,
    ConfirmationSent,
    ConfirmationFailed,
    Verified,
    Changed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifiedNumber {
    pub e164: String,
    pub vid: String,
    /// Unix seconds.
    pub at: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingSignup {
    pub email: String,
    pub password_hash: String,
    pub phone: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingLogin {
    pub account: i64,
    /// Unix seconds: the second factor must follow within ten minutes.
    pub started_at: u64,
}

/// How long a proven number lets the visitor change it.
pub const RECENT_FACTOR_SECS: u64 = 600;

impl HostSession {
    pub fn factor_is_recent(&self, now: u64) -> bool {
        self.factor_at
            .is_some_and(|at| now < at + RECENT_FACTOR_SECS)
    }
}

/// How long a password stays good for its second factor.
pub const LOGIN_STEP_SECS: u64 = 600;

/// A session and its id, loaded for one request.
pub struct Loaded {
    pub id: String,
    pub data: HostSession,
    /// Made by this request (new, or renewed): stored by inserting. A loaded one is
    /// only ever updated, so a request that read it before another renewed or
    /// ended it cannot bring it back.
    fresh: bool,
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME && value.len() == 43).then(|| value.to_owned())
        })
}

impl Loaded {
    /// The visitor's session, or a new one (stored only when saved).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn load(db: &Db, headers: &HeaderMap, now: u64) -> rusqlite::Result<Self> {
        if let Some(id) = cookie_value(headers) {
            let key = id.clone();
            let found: Option<String> = db
                .call(move |conn| {
                    conn.query_row(
                        "SELECT data FROM sessions WHERE id = ?1 AND expires_at > ?2",
                        params![key, now],
                        |row| row.get(0),
                    )
                    .optional()
                })
                .await?;
            if let Some(data) = found.and_then(|json| serde_json::from_str(&json).ok()) {
                return Ok(Self {
                    id,
                    data,
                    fresh: false,
                });
            }
        }
        Ok(Self {
            id: random_token(),
            data: HostSession {
                nonce: random_token(),
                ..HostSession::default()
            },
            fresh: true,
        })
    }

    /// Stores the session for another [`TTL_SECS`].
    ///
    /// # Errors
    /// When the database fails.
    pub async fn save(&self, db: &Db, now: u64) -> rusqlite::Result<()> {
        let (id, json, fresh) = (
            self.id.clone(),
            serde_json::to_string(&self.data).unwrap_or_default(),
            self.fresh,
        );
        db.call(move |conn| {
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
            let sql = if fresh {
                "INSERT INTO sessions (id, data, expires_at) VALUES (?1, ?2, ?3)"
            } else {
                "UPDATE sessions SET data = ?2, expires_at = ?3 WHERE id = ?1"
            };
            conn.execute(sql, params![id, json, now + TTL_SECS])
                .map(drop)
        })
        .await
    }

    /// Signs in (or out): a new id and a new nonce, so an id or a nonce seen before
    /// is worth nothing afterwards.
    pub async fn renew(&mut self, db: &Db) -> rusqlite::Result<()> {
        let old = std::mem::replace(&mut self.id, random_token());
        self.data.nonce = random_token();
        self.fresh = true;
        db.call(move |conn| {
            conn.execute("DELETE FROM sessions WHERE id = ?1", params![old])
                .map(drop)
        })
        .await
    }

    /// The `Set-Cookie` value, sent with every save so that browser and database
    /// forget the session at the same time.
    pub fn set_cookie(&self, secure: bool) -> String {
        format!(
            "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={TTL_SECS}{}",
            self.id,
            if secure { "; Secure" } else { "" }
        )
    }
}
