//! Everything this site asks of phone-verify, through its public surface only:
//! server-created sessions, `siteverify`, offline checks against the JWKS, and one
//! confirmation text. The site's secret goes only into these server-to-server
//! requests, never into a page or a URL.
use std::time::Duration;

use phone_verify_token::{Claims, Expected, RemoteJwks, TokenError};
use serde::Deserialize;

use crate::config::Config;

/// Why a verification result was not accepted; each has a message for the visitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The form came without a token.
    Missing,
    OtherNumber,
    OtherSite,
    TooOld,
    Replayed,
    /// Tampered with, expired, for another action or origin, or not a token at all.
    Invalid,
    /// Made in another visitor session of this site (`nonce` or `state`).
    OtherSession,
    /// `siteverify`: older than five minutes, or redeemed already.
    ExpiredOrUsed,
    /// phone-verify refuses the number this site knows for it.
    InvalidNumber,
    /// phone-verify does not know this site's secret: the site's settings are wrong.
    Misconfigured,
    /// phone-verify could not be asked.
    Unavailable,
}

/// What `siteverify` confirmed.
#[derive(Clone, Debug, Deserialize)]
pub struct SiteAnswer {
    pub phone_number: String,
    pub hostname: Option<String>,
    pub action: Option<String>,
    pub nonce: Option<String>,
    /// The reference this backend gave the session it created, if it did.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    pub vid: String,
}

#[derive(Deserialize)]
struct RawSiteAnswer {
    success: bool,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
    #[serde(flatten)]
    answer: Option<SiteAnswer>,
}

pub struct PhoneVerify {
    base: String,
    /// This site's host name, which `siteverify` reports for tokens made here.
    hostname: String,
    sitekey: String,
    secret: String,
    http: reqwest::Client,
    jwks: RemoteJwks,
}

impl PhoneVerify {
    /// # Errors
    /// When no HTTP client can be made.
    pub fn new(config: &Config) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            base: config.widget_url.clone(),
            hostname: reqwest::Url::parse(&config.public_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
            sitekey: config.sitekey.clone(),
            secret: config.secret.clone(),
            http,
            jwks: RemoteJwks::new(&config.widget_url).map_err(|e| e.to_string())?,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn sitekey(&self) -> &str {
        &self.sitekey
    }

    /// Redeems `token` (single use is phone-verify's job here) and checks that it was
    /// made on this site's pages for `action`, in the visitor session whose nonce is
    /// `nonce`.
    ///
    /// # Errors
    /// Why it is not accepted.
    pub async fn siteverify(
        &self,
        token: &str,
        action: &str,
        nonce: &str,
    ) -> Result<SiteAnswer, Refusal> {
        if token.is_empty() {
            return Err(Refusal::Missing);
        }
        let raw: RawSiteAnswer = self
            .http
            .post(format!("{}/api/v1/siteverify", self.base))
            .form(&[
                ("secret", self.secret.as_str()),
                ("response", token),
                ("sitekey", self.sitekey.as_str()),
            ])
            .send()
            .await
            .map_err(|_| Refusal::Unavailable)?
            .json()
            .await
            .map_err(|_| Refusal::Unavailable)?;
        let answer = match (raw.success, raw.answer) {
            (true, Some(answer)) => answer,
            _ => {
                return Err(match raw.error_codes.first().map(String::as_str) {
                    Some("sitekey-secret-mismatch") => Refusal::OtherSite,
                    Some("timeout-or-duplicate") => Refusal::ExpiredOrUsed,
                    Some(code @ ("missing-input-secret" | "invalid-input-secret")) => {
                        tracing::error!(code, "phone-verify does not take this site's secret");
                        Refusal::Misconfigured
                    }
                    Some("internal-error") | None => Refusal::Unavailable,
                    Some(_) => Refusal::Invalid,
                });
            }
        };
        if answer.action.as_deref() != Some(action)
            || answer.hostname.as_deref() != Some(self.hostname.as_str())
        {
            return Err(Refusal::Invalid);
        }
        if answer.nonce.as_deref() != Some(nonce) {
            return Err(Refusal::OtherSession);
        }
        Ok(answer)
    }

    /// Checks `token` offline against the published keys, at Unix time `now`: made
    /// on `origin` for `action`, for `e164`, verified at most `max_age` seconds ago.
    /// The caller checks `nonce`, `ref` and single use.
    ///
    /// # Errors
    /// Why it is not accepted.
    pub async fn verify_offline(
        &self,
        token: &str,
        origin: &str,
        action: &str,
        e164: &str,
        max_age: u64,
        now: u64,
    ) -> Result<Claims, Refusal> {
        if token.is_empty() {
            return Err(Refusal::Missing);
        }
        let expected = Expected::new(&self.base, &self.sitekey)
            .origin(origin)
            .action(action)
            .phone_number(e164)
            .max_age(max_age);
        self.jwks
            .verify_at(token, &expected, now)
            .await
            .map_err(|error| match error {
                TokenError::WrongNumber => Refusal::OtherNumber,
                TokenError::WrongAudience => Refusal::OtherSite,
                TokenError::TooOld => Refusal::TooOld,
                TokenError::Keys(_) => Refusal::Unavailable,
                _ => Refusal::Invalid,
            })
    }

    /// Creates a session for a number this site knows (`POST /api/v1/sessions`): the
    /// widget then verifies that number and no other, shown masked.
    ///
    /// # Errors
    /// When phone-verify refuses or cannot be reached.
    pub async fn create_session(
        &self,
        e164: &str,
        reference: &str,
        action: &str,
    ) -> Result<String, Refusal> {
        #[derive(Deserialize)]
        struct Created {
            session: String,
        }
        let response = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .form(&[
                ("secret", self.secret.as_str()),
                ("phone_number", e164),
                ("ref", reference),
                ("action", action),
            ])
            .send()
            .await
            .map_err(|_| Refusal::Unavailable)?;
        if !response.status().is_success() {
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let code = body["error-codes"][0].as_str().unwrap_or_default();
            tracing::warn!(%status, code, "phone-verify refused a session");
            return Err(match code {
                "invalid-phone-number" => Refusal::InvalidNumber,
                "missing-input-secret" | "invalid-input-secret" => Refusal::Misconfigured,
                _ => Refusal::Unavailable,
            });
        }
        let created: Created = response.json().await.map_err(|_| Refusal::Unavailable)?;
        Ok(created.session)
    }

    /// Asks phone-verify to text `text` to the number of verification `vid` (from
    /// `siteverify`); the error code it answered with when it does not.
    ///
    /// # Errors
    /// phone-verify's error code, or `unreachable`.
    pub async fn notify(&self, vid: &str, text: &str) -> Result<(), String> {
        let response = self
            .http
            .post(format!("{}/api/v1/notify", self.base))
            .form(&[
                ("secret", self.secret.as_str()),
                ("vid", vid),
                ("text", text),
            ])
            .send()
            .await
            .map_err(|_| "unreachable".to_owned())?;
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| "unreachable".to_owned())?;
        if body["success"] == true {
            Ok(())
        } else {
            Err(body["error-codes"][0]
                .as_str()
                .unwrap_or("unknown")
                .to_owned())
        }
    }

    /// The hosted page for a visitor without JavaScript, coming back to `return_url`
    /// with `pv_token` and `state`.
    pub fn hosted_url(&self, hosted: &Hosted<'_>) -> String {
        let mut url =
            reqwest::Url::parse(&format!("{}/hosted", self.base)).expect("WIDGET_URL is an origin");
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("sitekey", &self.sitekey)
                .append_pair("return_url", hosted.return_url)
                .append_pair("state", hosted.state)
                .append_pair("nonce", hosted.state)
                .append_pair("action", hosted.action)
                .append_pair("lang", hosted.lang);
            if let Some(session) = hosted.session {
                query.append_pair("session", session);
            }
            if let Some(channel) = hosted.channel {
                query.append_pair("channel", channel);
            }
        }
        url.into()
    }
}

/// The hosted page's parameters.
pub struct Hosted<'a> {
    pub return_url: &'a str,
    /// The visitor session's nonce: `state` for the return, `nonce` in the token.
    pub state: &'a str,
    pub action: &'a str,
    pub lang: &'a str,
    pub session: Option<&'a str>,
    pub channel: Option<&'a str>,
}
