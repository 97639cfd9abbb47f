//! The verification steps as the server runs them: each server function in
//! [`crate::api`] is one call here. This is the one boundary where provider and
//! session failures become the [`VerifyError`] a visitor sees.
use axum::http::{HeaderValue, StatusCode, header};
use leptos::prelude::{expect_context, use_context};
use leptos_axum::ResponseOptions;
use tower_sessions::Session;

use super::AppState;
use super::countries;
use super::limits::{self, SESSION_WINDOW};
use super::provider::{CheckOutcome, ProviderError, StartRequest, Started};
use super::session::{Pending, StepPolicy, Verified, VerifySession};
use crate::i18n::Lang;
use crate::verify::{
    Channel, CountryCode, Flow, OtpCode, PhoneCheck, PhoneNumber, Step, VerifyError, mask_e164,
};

/// One server-function call: the app, the visitor's session, and how they called.
pub struct FlowRequest {
    state: AppState,
    session: Session,
    /// A plain HTML form post (no JavaScript): errors go to the session for the next
    /// page render, because the response is a redirect back to the page.
    plain_form: bool,
    /// Who is asking, as the per-IP limit counts them.
    client: String,
    /// What the browser says about its language (`Accept-Language`).
    accept_language: String,
    /// A language chosen with the switch (`?lang=` on the page's address).
    chosen_lang: Option<Lang>,
}

impl FlowRequest {
    /// Gathers the request from Leptos' server-function context.
    pub async fn from_context() -> Result<Self, VerifyError> {
        let state = expect_context::<AppState>();
        let session = leptos_axum::extract::<Session>().await.map_err(|error| {
            tracing::error!(%error, "no session layer in front of the server functions");
            VerifyError::Internal
        })?;
        let parts = use_context::<axum::http::request::Parts>();
        let plain_form = parts
            .as_ref()
            .and_then(|parts| parts.headers.get(header::ACCEPT)?.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        let client = parts.as_ref().map_or_else(
            || "unknown".to_owned(),
            |p| limits::client_key(p, &state.settings.limits.trusted_proxies),
        );
        let accept_language = parts
            .as_ref()
            .and_then(|p| p.headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(MAX_ACCEPT_LANGUAGE)
            .collect();
        let chosen_lang = parts.as_ref().and_then(query_lang);
        Ok(Self {
            state,
            session,
            plain_form,
            client,
            accept_language,
            chosen_lang,
        })
    }

    /// The switch's choice, else the session's, else the browser's, else English.
    fn lang(&self, stored: &VerifySession) -> Lang {
        self.chosen_lang
            .or(stored.lang)
            .or_else(|| Lang::from_accept_language(&self.accept_language))
            .unwrap_or_default()
    }

    /// The picker's first choice: the configured country, else the browser's guess.
    fn default_country(&self) -> String {
        match self.state.settings.default_country {
            Some(country) => country.to_string(),
            None => countries::guess(&self.accept_language).unwrap_or_default(),
        }
    }

    fn step(&self, stored: &VerifySession, now: u64) -> Step {
        let policy = StepPolicy {
            code_length: self.code_length(),
            max_attempts: self.state.settings.code.max_attempts,
        };
        stored.step(policy, &self.default_country(), now)
    }

    /// Checks every limit before a send and counts the send; see [`limits`].
    async fn admit_send(
        &self,
        stored: &mut VerifySession,
        number: &PhoneNumber,
        now: u64,
    ) -> Result<(), VerifyError> {
        let policy = &self.state.settings.limits;
        stored.sends_at.retain(|at| now < at + SESSION_WINDOW);
        if stored.sends_at.len() >= policy.session_sends_per_10_min as usize {
            let oldest = stored.sends_at.iter().min().copied().unwrap_or(now);
            let retry_after = u32::try_from(oldest + SESSION_WINDOW - now).unwrap_or(u32::MAX);
            return Err(VerifyError::RateLimited { retry_after });
        }
        limits::admit_send(self.state.store.as_ref(), policy, number, &self.client, now).await?;
        stored.sends_at.push(now);
        Ok(())
    }

    /// Admits a send against every limit, remembers it in the session (so that a
    /// provider failure still counts), then asks the provider.
    async fn send(
        &self,
        stored: &mut VerifySession,
        number: &PhoneNumber,
        channel: Channel,
        now: u64,
    ) -> Result<Started, VerifyError> {
        let admitted = self.admit_send(stored, number, now).await;
        stored.save(&self.session).await?;
        admitted?;
        self.state
            .provider
            .start(StartRequest {
                to: number,
                channel,
                lang: self.lang(stored),
            })
            .await
            .map_err(|e| self.provider_failed(e))
    }

    fn cooldown(&self, sends: u32) -> u64 {
        limits::cooldown(self.state.settings.resend_cooldown, sends)
    }

    fn now(&self) -> u64 {
        self.state.clock.unix_secs()
    }

    fn code_length(&self) -> u8 {
        self.state.settings.code.length
    }

    /// The page's view of the session; hands over (and forgets) a pending form error,
    /// and remembers a language chosen with the switch.
    pub async fn current(&self) -> Result<Flow, VerifyError> {
        let mut stored = VerifySession::load(&self.session).await?;
        let error = stored.flash.take();
        let switched = self.chosen_lang.is_some() && self.chosen_lang != stored.lang;
        if switched {
            stored.lang = self.chosen_lang;
        }
        if error.is_some() || switched {
            stored.save(&self.session).await?;
        }
        let lang = self.lang(&stored);
        Ok(Flow {
            step: self.step(&stored, self.now()),
            error,
            dev_outbox: self.state.outbox.is_some(),
            lang,
            countries: countries::options(lang).to_vec(),
        })
    }

    /// Sends a first code to `phone`, read as a number of `country` (an ISO code) when
    /// it has no `+`.
    pub async fn start(
        &self,
        phone: &str,
        country: &str,
        channel: Channel,
    ) -> Result<Step, VerifyError> {
        let mut stored = VerifySession::load(&self.session).await?;
        stored.set_draft(phone, country, channel);
        let region = country
            .parse::<CountryCode>()
            .ok()
            .or(self.state.settings.default_country);
        let number = match PhoneNumber::parse(phone, region) {
            Ok(number) => number,
            Err(problem) => {
                stored.save(&self.session).await?;
                return Err(VerifyError::InvalidPhone(problem));
            }
        };
        let now = self.now();
        // A double submit of the same request must not send a second message.
        let repeated = stored.pending.as_ref().is_some_and(|pending| {
            pending.e164 == number.e164() && pending.channel == channel && now < pending.resend_at
        });
        if repeated {
            return Ok(self.step(&stored, now));
        }
        let started = self.send(&mut stored, &number, channel, now).await?;
        tracing::info!(to = %number.masked(), channel = channel.as_str(), "code sent");
        stored.verified = None;
        stored.pending = Some(Pending {
            e164: number.e164().to_owned(),
            display: number.international().to_owned(),
            channel,
            reference: started.reference,
            expires_at: now + started.lifetime.as_secs(),
            resend_at: now + self.cooldown(1),
            sends: 1,
            failed_checks: 0,
        });
        stored.save(&self.session).await?;
        Ok(self.step(&stored, now))
    }

    /// Checks a typed code against this session's pending verification.
    pub async fn check(&self, code: &str) -> Result<Step, VerifyError> {
        let mut stored = VerifySession::load(&self.session).await?;
        let now = self.now();
        let Some(pending) = stored.pending.clone() else {
            // A repeated submit after success lands here: show the success again.
            return match stored.verified {
                Some(_) => Ok(self.step(&stored, now)),
                None => Err(VerifyError::NoVerificationInProgress),
            };
        };
        let code = OtpCode::parse(code, self.code_length()).map_err(VerifyError::InvalidCode)?;
        if now >= pending.expires_at {
            return Err(VerifyError::CodeExpired);
        }
        let max_attempts = self.state.settings.code.max_attempts;
        if pending.failed_checks >= max_attempts {
            return Err(VerifyError::TooManyAttempts);
        }
        let (store, policy) = (self.state.store.as_ref(), &self.state.settings.limits);
        limits::admit_check(store, policy, &pending.e164, now).await?;
        let outcome = self
            .state
            .provider
            .check(&pending.reference, &code)
            .await
            .map_err(|e| self.provider_failed(e))?;
        match outcome {
            CheckOutcome::Approved => {
                tracing::info!(to = %mask_e164(&pending.e164), "number verified");
                stored.pending = None;
                stored.verified = Some(Verified {
                    e164: pending.e164,
                    display: pending.display,
                    at: now,
                });
                stored.save(&self.session).await?;
                Ok(self.step(&stored, now))
            }
            CheckOutcome::Wrong => {
                limits::record_failed_check(store, policy, &pending.e164, now).await?;
                let failed = pending.failed_checks + 1;
                if let Some(stored_pending) = stored.pending.as_mut() {
                    stored_pending.failed_checks = failed;
                }
                stored.save(&self.session).await?;
                match max_attempts.saturating_sub(failed) {
                    0 => Err(VerifyError::TooManyAttempts),
                    tries_left => Err(VerifyError::WrongCode { tries_left }),
                }
            }
            CheckOutcome::Expired => Err(VerifyError::CodeExpired),
            CheckOutcome::TooManyAttempts => Err(VerifyError::TooManyAttempts),
            CheckOutcome::NotFound => {
                stored.pending = None;
                stored.save(&self.session).await?;
                Err(VerifyError::NoVerificationInProgress)
            }
        }
    }

    /// Sends a new code to the pending number, once the cooldown is over; by
    /// `channel` if given ("call me instead"), else as before.
    pub async fn resend(&self, channel: Option<Channel>) -> Result<Step, VerifyError> {
        let mut stored = VerifySession::load(&self.session).await?;
        let now = self.now();
        let Some(pending) = stored.pending.as_ref() else {
            return Err(VerifyError::NoVerificationInProgress);
        };
        if now < pending.resend_at {
            let retry_after = u32::try_from(pending.resend_at - now).unwrap_or(u32::MAX);
            return Err(VerifyError::ResendTooSoon { retry_after });
        }
        let number = PhoneNumber::parse(&pending.e164, None).map_err(|problem| {
            tracing::error!(?problem, "a stored number no longer parses");
            VerifyError::Internal
        })?;
        let channel = channel.unwrap_or(pending.channel);
        let sends = pending.sends + 1;
        let started = self.send(&mut stored, &number, channel, now).await?;
        tracing::info!(to = %number.masked(), channel = channel.as_str(), "code resent");
        let cooldown = self.cooldown(sends);
        let Some(pending) = stored.pending.as_mut() else {
            return Err(VerifyError::NoVerificationInProgress);
        };
        pending.channel = channel;
        pending.reference = started.reference;
        pending.expires_at = now + started.lifetime.as_secs();
        pending.resend_at = now + cooldown;
        pending.sends = sends;
        pending.failed_checks = 0;
        stored.save(&self.session).await?;
        Ok(self.step(&stored, now))
    }

    /// Back to the phone step, keeping the number for editing.
    pub async fn restart(&self) -> Result<Step, VerifyError> {
        let mut stored = VerifySession::load(&self.session).await?;
        if let Some(pending) = stored.pending.take() {
            stored.draft_phone = pending.display;
            stored.channel = pending.channel;
        }
        if let Some(verified) = stored.verified.take() {
            stored.draft_phone = verified.display;
        }
        stored.save(&self.session).await?;
        Ok(self.step(&stored, self.now()))
    }

    /// Hands the result back, giving an error the right HTTP status, or, for a form
    /// posted without JavaScript, keeping it for the page the browser is sent back to.
    pub async fn finish<T>(&self, result: Result<T, VerifyError>) -> Result<T, VerifyError> {
        let Err(error) = result else { return result };
        if self.plain_form {
            let mut stored = VerifySession::load(&self.session).await?;
            stored.flash = Some(error.clone());
            stored.save(&self.session).await?;
        } else if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
            );
            if let Some(secs) = error.retry_after() {
                response.insert_header(header::RETRY_AFTER, HeaderValue::from(secs));
            }
        }
        Err(error)
    }

    fn provider_failed(&self, error: ProviderError) -> VerifyError {
        let provider = self.state.provider.name();
        match error {
            ProviderError::Misconfigured(_) => {
                tracing::error!(provider, %error, "provider refuses our account")
            }
            ProviderError::NumberRejected(_) | ProviderError::ChannelUnavailable(_) => {
                tracing::info!(provider, %error, "provider refused the request")
            }
            // Already logged once by the guard when it started refusing.
            ProviderError::Shed { .. } => tracing::debug!(provider, %error, "provider not called"),
            _ => tracing::warn!(provider, %error, "provider failed"),
        }
        match error {
            ProviderError::Timeout(_) => VerifyError::UpstreamTimeout,
            ProviderError::Unreachable(_) | ProviderError::Misconfigured(_) => {
                VerifyError::ServiceUnavailable
            }
            ProviderError::BadGateway(_) => VerifyError::UpstreamError,
            ProviderError::RateLimited { retry_after } => VerifyError::RateLimited {
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER_SECS),
            },
            ProviderError::TooManySends => VerifyError::RateLimited {
                retry_after: SEND_WINDOW_SECS,
            },
            ProviderError::Shed { retry_after } => VerifyError::ServiceBusy { retry_after },
            ProviderError::NumberRejected(_) => VerifyError::NumberUnreachable,
            ProviderError::ChannelUnavailable(_) => VerifyError::ChannelUnavailable,
        }
    }
}

/// The page's language before the session is read: the switch's `?lang=`, else the
/// browser's; the widget itself also honours a choice remembered in the session.
pub fn page_lang() -> Lang {
    let Some(parts) = use_context::<axum::http::request::Parts>() else {
        return Lang::default();
    };
    query_lang(&parts)
        .or_else(|| {
            let header = parts.headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
            Lang::from_accept_language(header)
        })
        .unwrap_or_default()
}

fn query_lang(parts: &axum::http::request::Parts) -> Option<Lang> {
    parts
        .uri
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="))
        .and_then(Lang::parse)
}

/// Reads a number being typed as `start` would, for the browser's as-you-type
/// formatting and validation.
pub fn check_phone(phone: &str, country: &str) -> PhoneCheck {
    let region = country.parse::<CountryCode>().ok();
    match PhoneNumber::parse(phone, region) {
        Ok(number) => {
            let typed = phone.trim_start();
            let own_country = number.country() == Some(country);
            let international = typed.starts_with('+') || typed.starts_with("00") || !own_country;
            PhoneCheck {
                formatted: if international {
                    number.international().to_owned()
                } else {
                    number.national().to_owned()
                },
                country: number.country().unwrap_or_default().to_owned(),
                problem: None,
            }
        }
        Err(problem) => PhoneCheck {
            problem: Some(problem),
            ..PhoneCheck::default()
        },
    }
}

/// Enough for any real `Accept-Language`; the rest is ignored.
const MAX_ACCEPT_LANGUAGE: usize = 256;

/// The wait to suggest when a provider throttles us without saying for how long.
const DEFAULT_RETRY_AFTER_SECS: u32 = 60;
/// Twilio counts sends to a number over 10 minutes (error 60203).
const SEND_WINDOW_SECS: u32 = 600;
