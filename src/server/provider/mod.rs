//! Verify providers: services that send a one-time code and later check it.
//!
//! The app talks to all of them through [`VerifyProvider`], so that the flow, the
//! limits and the tests do not care which one is configured:
//! - [`LocalProvider`]: built in, delivers to the dev outbox; the default.
//! - [`MessageBird`]: MessageBird Verify (`POST /verify`, `GET /verify/{id}?token=`).
//! - [`Twilio`]: Twilio Verify v2 (`Verifications`, `VerificationCheck`).
//!
//! Besides codes, each can send one plain text, a host's confirmation after a
//! verification ([`VerifyProvider::send_text`], `POST /api/v1/notify`): Twilio's
//! Messages API, MessageBird's SMS API, or the dev outbox.
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::verify::{Channel, OtpCode, PhoneNumber};

mod guard;
mod http;
mod local;
mod messagebird;
mod messages;
mod metered;
mod twilio;

pub use guard::{GuardPolicy, Guarded};
pub use http::UpstreamTimeouts;
pub use local::LocalProvider;
pub use messagebird::{MessageBird, MessageBirdConfig, Voice};
pub use messages::{CodePolicy, MessageTemplates};
pub use metered::Metered;
pub use twilio::{Twilio, TwilioConfig};

/// The provider's handle on one verification (a MessageBird id, a Twilio `VE…` SID,
/// a local id). It stays on the server, in the session; the browser never sees it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationRef(String);

impl VerificationRef {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationRef(..)")
    }
}

/// What to send.
#[derive(Debug, Clone, Copy)]
pub struct StartRequest<'a> {
    pub to: &'a PhoneNumber,
    pub channel: Channel,
    /// The language of the SMS or the call.
    pub lang: Lang,
}

/// A code is on its way.
#[derive(Debug, Clone)]
pub struct Started {
    pub reference: VerificationRef,
    /// How long the code will work.
    pub lifetime: Duration,
}

/// What the provider said about a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    Approved,
    /// Not the code; the flow counts the tries.
    Wrong,
    Expired,
    TooManyAttempts,
    /// Unknown, already used, or cancelled.
    NotFound,
}

/// Why a provider could not do what was asked. Each variant becomes one message for
/// the visitor (see `server::flow`); the `String`s are for logs only and never hold
/// a URL, a key or a code.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Nothing came back in time (504).
    #[error("provider timed out: {0}")]
    Timeout(String),
    /// No connection could be made (503).
    #[error("provider unreachable: {0}")]
    Unreachable(String),
    /// A 5xx, or an answer we cannot read (502).
    #[error("provider failed: {0}")]
    BadGateway(String),
    /// The provider refuses our credentials or account (503; the operator must act).
    #[error("provider rejected our account: {0}")]
    Misconfigured(String),
    /// The provider is throttling us (429).
    #[error("provider rate limit, retry after {retry_after:?} s")]
    RateLimited { retry_after: Option<u32> },
    /// The number cannot receive codes: invalid for the provider, blocked prefix or country.
    #[error("number rejected: {0}")]
    NumberRejected(String),
    /// The chosen channel is switched off for this account.
    #[error("channel unavailable: {0}")]
    ChannelUnavailable(String),
    /// The number is a fixed line, which can take a call but not a text.
    #[error("no texts to this number: {0}")]
    NoTexts(String),
    /// A refusal of this one request that we have no meaning for (an unknown 4xx).
    /// The provider is up and answering, so it is not an outage: anybody can make
    /// such requests, and they must not trip the breaker for everyone.
    #[error("provider refused the request: {0}")]
    Refused(String),
    /// Too many codes sent to this number recently (Twilio 60203).
    #[error("too many sends to this number")]
    TooManySends,
    /// Not called at all: too many calls in flight, or it has been failing (see
    /// [`Guarded`]). Try again after `retry_after` seconds.
    #[error("provider not called, retry after {retry_after} s")]
    Shed { retry_after: u32 },
}

impl ProviderError {
    /// The variant's name, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Unreachable(_) => "unreachable",
            Self::BadGateway(_) => "bad_gateway",
            Self::Misconfigured(_) => "misconfigured",
            Self::RateLimited { .. } => "rate_limited",
            Self::NumberRejected(_) => "number_rejected",
            Self::ChannelUnavailable(_) => "channel_unavailable",
            Self::NoTexts(_) => "no_texts",
            Self::Refused(_) => "refused",
            Self::TooManySends => "too_many_sends",
            Self::Shed { .. } => "shed",
        }
    }
}

#[async_trait::async_trait]
pub trait VerifyProvider: Send + Sync {
    /// A short name for logs (`local`, `messagebird`, `twilio`).
    fn name(&self) -> &'static str;

    /// Sends a new code. Never retried once the request may have reached the
    /// provider: a second SMS costs money and confuses the visitor.
    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError>;

    /// Checks `code` against the verification `reference`.
    async fn check(
        &self,
        reference: &VerificationRef,
        code: &OtpCode,
    ) -> Result<CheckOutcome, ProviderError>;

    /// Whether [`Self::send_text`] has a sender to send from: Twilio with
    /// `TWILIO_MESSAGING_SERVICE_SID` or `TWILIO_FROM`, MessageBird with
    /// `MESSAGEBIRD_ORIGINATOR`, the local provider always.
    fn sends_texts(&self) -> bool {
        false
    }

    /// Sends `text` by SMS to `to` through the provider's messaging API (not its
    /// Verify API). Never retried once the request may have reached the provider.
    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<(), ProviderError> {
        let _ = (to, text);
        Err(ProviderError::Misconfigured(format!(
            "{} sends no texts",
            self.name()
        )))
    }
}
