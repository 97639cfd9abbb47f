//! `POST /api/v1/notify`: a host's backend asks phone-verify to send one short text
//! (a confirmation such as "your account has been created") to a number just
//! verified for its site, so that no provider key has to live in the host.
//!
//! The rules, in the order they are checked; nothing is counted or sent before 7:
//! 1. the site's secret;
//! 2. a sender to send from (the provider's messaging settings);
//! 3. the text ([`NotifyText`]);
//! 4. the verification: a result token of the site (also after its five minutes),
//!    or its `vid` as siteverify answers it, for a verification whose token was
//!    handed to that site ([`remember`]);
//! 5. verified at most [`WINDOW_SECS`] ago (`auth_time`);
//! 6. a number that takes texts (not a fixed line);
//! 7. once per verification, and within the site's daily budget (`sends_per_day`),
//!    both in one atomic store call: of two requests at once, one sends;
//! 8. the provider's messaging API, under the guard. A failure that certainly sent
//!    nothing (refused, throttled, not reached) gives both counts back, so the host
//!    may try again; one that may have sent (a timeout, a 5xx) does not.
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::limits::SiteBudget;
use super::metrics::Metrics;
use super::provider::{ProviderError, VerifyProvider};
use super::sites::{Site, Sites};
use super::store::{Counter, StateStore, StoreError};
use super::tokens::Issuer;
use crate::verify::{NumberKind, PhoneNumber, mask_e164};
use phone_verify_token::TokenError;

mod text;

pub use text::{MAX_TEXT_CHARS, NotifyText, TextProblem, VerificationId};

/// How long after the code was accepted a confirmation may be sent: ten minutes,
/// the time a sign-up form takes, and the default age of a site's fresh tokens.
pub const WINDOW_SECS: u64 = 600;

/// What is remembered of a verification for notify outlives the window by an hour,
/// so that a late request is told it is late rather than that the id is unknown.
const KEPT_AFTER_WINDOW_SECS: u64 = 3_600;

/// The once-only mark outlives the window by this much: instances' clocks differ.
const CLOCK_MARGIN_SECS: u64 = 300;

/// The wait suggested when the provider cannot be reached or throttles without
/// saying for how long.
const PROVIDER_RETRY_SECS: u32 = 30;

/// The request, as a form or JSON.
#[derive(Debug, Default, Deserialize)]
pub struct NotifyRequest {
    #[serde(default)]
    pub secret: Option<String>,
    /// A result token of the site, as siteverify takes it.
    #[serde(default)]
    pub response: Option<String>,
    /// Or the verification's id, as siteverify answers it.
    #[serde(default)]
    pub vid: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// Why no text was sent: one per answer a host can get (`error-codes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyError {
    /// The body is not a notify request, or names both a token and a `vid`.
    BadRequest,
    MissingSecret,
    InvalidSecret,
    /// This server has no sender for texts (see [`VerifyProvider::sends_texts`]).
    Unavailable,
    /// Missing, empty, over [`MAX_TEXT_CHARS`], or with control characters.
    InvalidText,
    /// Neither a token nor a `vid`.
    MissingResponse,
    /// Not a token of ours, or tampered with; a `vid` unknown, or another site's.
    InvalidResponse,
    /// A token of another site.
    SitekeyMismatch,
    /// Verified more than [`WINDOW_SECS`] ago.
    NotVerifiedRecently,
    /// A fixed line, verified by a call: it takes no texts.
    NotAMobile,
    /// This verification's confirmation was sent (or is being sent) already.
    AlreadyNotified,
    /// The site's daily budget is used up, or the provider throttles us.
    RateLimited {
        retry_after: u32,
    },
    /// The provider could not be reached, or is left alone for a while (breaker,
    /// calls in flight); nothing was sent.
    ProviderUnavailable {
        retry_after: u32,
    },
    /// No answer in time: the text may or may not have been sent.
    ProviderTimeout,
    /// The provider refused the text (a number it will not text, our sender or
    /// account): nothing was sent.
    ProviderRefused,
    /// The provider failed (a fault, a bad answer): the text may have been sent.
    ProviderFailed,
    /// The state store failed.
    Internal,
}

impl NotifyError {
    /// The code in `error-codes`.
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::MissingSecret => "missing-input-secret",
            Self::InvalidSecret => "invalid-input-secret",
            Self::Unavailable => "notify-unavailable",
            Self::InvalidText => "invalid-text",
            Self::MissingResponse => "missing-input-response",
            Self::InvalidResponse => "invalid-input-response",
            Self::SitekeyMismatch => "sitekey-secret-mismatch",
            Self::NotVerifiedRecently => "not-verified-recently",
            Self::NotAMobile => "not-a-mobile-number",
            Self::AlreadyNotified => "already-notified",
            Self::RateLimited { .. } => "rate-limited",
            Self::ProviderUnavailable { .. } => "provider-unavailable",
            Self::ProviderTimeout => "provider-timeout",
            Self::ProviderRefused => "provider-refused",
            Self::ProviderFailed => "provider-error",
            Self::Internal => "internal-error",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest
            | Self::InvalidText
            | Self::MissingResponse
            | Self::InvalidResponse => StatusCode::BAD_REQUEST,
            Self::MissingSecret | Self::InvalidSecret => StatusCode::UNAUTHORIZED,
            Self::SitekeyMismatch | Self::NotVerifiedRecently => StatusCode::FORBIDDEN,
            Self::AlreadyNotified => StatusCode::CONFLICT,
            Self::NotAMobile => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::NOT_IMPLEMENTED,
            Self::ProviderRefused | Self::ProviderFailed => StatusCode::BAD_GATEWAY,
            Self::ProviderUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::ProviderTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds for `Retry-After`, when waiting can help.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Self::RateLimited { retry_after } | Self::ProviderUnavailable { retry_after } => {
                Some(retry_after)
            }
            _ => None,
        }
    }
}

/// What notify keeps of a verification whose token was handed to a site, for a
/// request that names it by `vid`.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Grant {
    sitekey: String,
    e164: String,
    /// Unix seconds when the code was accepted.
    verified_at: u64,
}

fn grant_key(vid: &VerificationId) -> String {
    format!("notify:grant:{}", vid.as_str())
}

fn sent_key(vid: &VerificationId) -> String {
    format!("notify:sent:{}", vid.as_str())
}

/// Remembers that the verification `vid` of `e164`, accepted at `verified_at`, was
/// handed to the site `sitekey` (called where its tokens are minted), while notify
/// may still use it. The first site to get it keeps it.
///
/// # Errors
/// When the store fails.
pub async fn remember(
    store: &dyn StateStore,
    sitekey: &str,
    e164: &str,
    verified_at: u64,
    vid: &str,
    now: u64,
) -> Result<(), StoreError> {
    let Some(vid) = VerificationId::parse(vid) else {
        return Ok(());
    };
    let until = verified_at.saturating_add(WINDOW_SECS);
    if now > until {
        return Ok(());
    }
    let grant = Grant {
        sitekey: sitekey.to_owned(),
        e164: e164.to_owned(),
        verified_at,
    };
    let value = serde_json::to_vec(&grant).map_err(|e| StoreError(e.to_string()))?;
    let ttl = Duration::from_secs(until - now + KEPT_AFTER_WINDOW_SECS);
    store
        .set_if_absent(&grant_key(&vid), &value, ttl)
        .await
        .map(|_| ())
}

/// A verification a request named, known to be the site's.
struct Verified {
    e164: String,
    verified_at: u64,
    vid: VerificationId,
}

/// The parts of the app notify works with.
pub struct Notifier<'a> {
    pub sites: &'a Sites,
    pub issuer: &'a Issuer,
    pub store: &'a dyn StateStore,
    /// The provider, behind a guard of its own (its breaker counts texts only).
    pub messenger: &'a dyn VerifyProvider,
    pub metrics: &'a Metrics,
}

impl Notifier<'_> {
    /// Sends the request's text at Unix time `now`, or says why not.
    ///
    /// # Errors
    /// Why nothing was sent (or, for a timeout, whether it was is unknown).
    #[tracing::instrument(name = "notify", skip_all, fields(provider = self.messenger.name()))]
    pub async fn notify(&self, request: &NotifyRequest, now: u64) -> Result<(), NotifyError> {
        let secret = present(&request.secret).ok_or(NotifyError::MissingSecret)?;
        let site = self
            .sites
            .by_secret(secret)
            .ok_or(NotifyError::InvalidSecret)?;
        if !self.messenger.sends_texts() {
            return Err(NotifyError::Unavailable);
        }
        let text = NotifyText::parse(request.text.as_deref().unwrap_or_default())
            .map_err(|_| NotifyError::InvalidText)?;
        let verified = self.verification(site, request, now).await?;
        if now > verified.verified_at.saturating_add(WINDOW_SECS) {
            return Err(NotifyError::NotVerifiedRecently);
        }
        let number = PhoneNumber::parse(&verified.e164, None).map_err(|_| {
            tracing::error!(to = %mask_e164(&verified.e164), "a verified number does not parse");
            NotifyError::Internal
        })?;
        if number.kind() == NumberKind::FixedLine {
            return Err(NotifyError::NotAMobile);
        }
        let counted = self.count(site, &verified.vid, now).await?;
        match self.messenger.send_text(&number, text.as_str()).await {
            Ok(()) => {
                tracing::info!(to = %number.masked(), site = %site.sitekey, "confirmation text sent");
                Ok(())
            }
            Err(error) => {
                let sent = may_have_sent(&error);
                if let ProviderError::Misconfigured(_) = error {
                    tracing::error!(%error, "the provider refuses our account or sender: no confirmation texts");
                } else if sent {
                    tracing::warn!(
                        kind = error.kind(),
                        %error,
                        "confirmation text failed, perhaps after it was sent: not offered again"
                    );
                } else {
                    tracing::info!(kind = error.kind(), %error, "confirmation text not sent");
                }
                if !sent {
                    self.give_back(&counted).await;
                }
                Err(provider_failed(&error))
            }
        }
    }

    /// The verification the request names, if it is the site's.
    async fn verification(
        &self,
        site: &Site,
        request: &NotifyRequest,
        now: u64,
    ) -> Result<Verified, NotifyError> {
        match (present(&request.response), present(&request.vid)) {
            (Some(_), Some(_)) => Err(NotifyError::BadRequest),
            (None, None) => Err(NotifyError::MissingResponse),
            (Some(token), None) => {
                let claims = self
                    .issuer
                    .check_late(token, &site.sitekey, now, WINDOW_SECS)
                    .map_err(|error| match error {
                        TokenError::WrongAudience => NotifyError::SitekeyMismatch,
                        // Past its expiry by more than the window: verified long ago.
                        TokenError::Expired => NotifyError::NotVerifiedRecently,
                        _ => NotifyError::InvalidResponse,
                    })?;
                let vid = VerificationId::parse(&claims.vid).ok_or(NotifyError::InvalidResponse)?;
                Ok(Verified {
                    e164: claims.phone_number,
                    verified_at: claims.auth_time,
                    vid,
                })
            }
            (None, Some(vid)) => {
                let vid = VerificationId::parse(vid).ok_or(NotifyError::InvalidResponse)?;
                let stored = self.store.get(&grant_key(&vid)).await.map_err(|error| {
                    tracing::error!(%error, "cannot read a verification for notify");
                    NotifyError::Internal
                })?;
                let grant: Grant = stored
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                    .ok_or(NotifyError::InvalidResponse)?;
                // Another site's verification is, to this site, no verification at all.
                if grant.sitekey != site.sitekey {
                    return Err(NotifyError::InvalidResponse);
                }
                Ok(Verified {
                    e164: grant.e164,
                    verified_at: grant.verified_at,
                    vid,
                })
            }
        }
    }

    /// Marks the verification notified and counts the text in the site's budget, in
    /// one atomic store call; returns what was counted.
    async fn count(
        &self,
        site: &Site,
        vid: &VerificationId,
        now: u64,
    ) -> Result<Vec<Counter>, NotifyError> {
        let mut counters = vec![Counter {
            key: sent_key(vid),
            limit: 1,
            ttl: Duration::from_secs(WINDOW_SECS + CLOCK_MARGIN_SECS),
        }];
        let budget = site.sends_per_day.map(|per_day| SiteBudget {
            sitekey: site.sitekey.clone(),
            per_day: u32::try_from(per_day).unwrap_or(u32::MAX),
        });
        if let Some(budget) = &budget {
            counters.push(budget.counter(now));
        }
        match self.store.admit(&counters).await {
            Ok(None) => Ok(counters),
            Ok(Some(0)) => Err(NotifyError::AlreadyNotified),
            Ok(Some(_)) => {
                self.metrics.refused("site-day");
                tracing::warn!(
                    alert = "site_budget",
                    limit = "site-day",
                    site = %site.sitekey,
                    "a site's daily sends are used up"
                );
                Err(NotifyError::RateLimited {
                    retry_after: budget.map_or(PROVIDER_RETRY_SECS, |b| b.retry_after(now)),
                })
            }
            Err(error) => {
                tracing::error!(%error, "cannot count a confirmation text");
                Err(NotifyError::Internal)
            }
        }
    }

    /// Takes back what [`Self::count`] counted, for a text that was not sent.
    async fn give_back(&self, counted: &[Counter]) {
        for counter in counted {
            if let Err(error) = self.store.release(&counter.key).await {
                tracing::warn!(%error, "cannot give back a confirmation text's count");
            }
        }
    }
}

/// Whether a failed call may still have sent the text: it reached the provider and
/// no clear answer came back (a timeout, a reset, a 5xx, nonsense).
fn may_have_sent(error: &ProviderError) -> bool {
    matches!(
        error,
        ProviderError::Timeout(_) | ProviderError::BadGateway(_)
    )
}

/// What a provider failure means to the host.
fn provider_failed(error: &ProviderError) -> NotifyError {
    match error {
        ProviderError::Timeout(_) => NotifyError::ProviderTimeout,
        ProviderError::Unreachable(_) => NotifyError::ProviderUnavailable {
            retry_after: PROVIDER_RETRY_SECS,
        },
        ProviderError::Shed { retry_after } => NotifyError::ProviderUnavailable {
            retry_after: *retry_after,
        },
        ProviderError::RateLimited { retry_after } => NotifyError::RateLimited {
            retry_after: retry_after.unwrap_or(PROVIDER_RETRY_SECS),
        },
        ProviderError::BadGateway(_) => NotifyError::ProviderFailed,
        _ => NotifyError::ProviderRefused,
    }
}

/// A field's value, unless absent or blank.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_own_code_and_a_client_or_upstream_status() {
        let all = [
            NotifyError::BadRequest,
            NotifyError::MissingSecret,
            NotifyError::InvalidSecret,
            NotifyError::Unavailable,
            NotifyError::InvalidText,
            NotifyError::MissingResponse,
            NotifyError::InvalidResponse,
            NotifyError::SitekeyMismatch,
            NotifyError::NotVerifiedRecently,
            NotifyError::NotAMobile,
            NotifyError::AlreadyNotified,
            NotifyError::RateLimited { retry_after: 1 },
            NotifyError::ProviderUnavailable { retry_after: 1 },
            NotifyError::ProviderTimeout,
            NotifyError::ProviderRefused,
            NotifyError::ProviderFailed,
            NotifyError::Internal,
        ];
        let mut codes: Vec<&str> = all.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for error in all {
            assert!(
                error.status().is_client_error() || error.status().is_server_error(),
                "{error:?}"
            );
            assert_eq!(
                error.retry_after().is_some(),
                matches!(error.status().as_u16(), 429 | 503),
                "{error:?}"
            );
        }
    }

    #[test]
    fn only_failures_that_may_have_sent_keep_the_verification_used() {
        // Refusals, throttling and unreachable providers sent nothing: the host may
        // try again. A timeout or a 5xx may have sent: it may not.
        for (error, sent) in [
            (ProviderError::Timeout("t".into()), true),
            (ProviderError::BadGateway("500".into()), true),
            (ProviderError::Unreachable("refused".into()), false),
            (ProviderError::Shed { retry_after: 5 }, false),
            (ProviderError::RateLimited { retry_after: None }, false),
            (ProviderError::NumberRejected("21211".into()), false),
            (ProviderError::Misconfigured("20003".into()), false),
            (ProviderError::Refused("422".into()), false),
        ] {
            assert_eq!(may_have_sent(&error), sent, "{error:?}");
        }
        assert_eq!(
            provider_failed(&ProviderError::Timeout("t".into())),
            NotifyError::ProviderTimeout
        );
        assert_eq!(
            provider_failed(&ProviderError::RateLimited { retry_after: None }),
            NotifyError::RateLimited {
                retry_after: PROVIDER_RETRY_SECS
            }
        );
        assert_eq!(
            provider_failed(&ProviderError::NumberRejected("n".into())),
            NotifyError::ProviderRefused
        );
        assert_eq!(
            provider_failed(&ProviderError::BadGateway("500".into())),
            NotifyError::ProviderFailed
        );
    }
}
