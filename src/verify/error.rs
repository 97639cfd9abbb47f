use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use super::CodeProblem;

/// Why a phone number was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PhoneProblem {
    Empty,
    /// Not a phone number at all (letters, too few digits).
    NotANumber,
    /// A national number, and no default country is configured to place it.
    MissingCountryCode,
    /// A well-formed number that no operator has assigned (wrong length for its country).
    Invalid,
}

/// Everything the visitor can be told went wrong. This is the error type of every
/// server function; the UI turns each variant into a message with
/// [`VerifyError::message`], and the server gives each one an HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum VerifyError {
    #[error("invalid phone number: {0:?}")]
    InvalidPhone(PhoneProblem),
    #[error("invalid code: {0:?}")]
    InvalidCode(CodeProblem),
    #[error("wrong code, {tries_left} tries left")]
    WrongCode { tries_left: u32 },
    #[error("code expired")]
    CodeExpired,
    #[error("too many wrong codes")]
    TooManyAttempts,
    /// Nothing to check: the session expired, or the code was already used.
    #[error("no verification in progress")]
    NoVerificationInProgress,
    #[error("resend not allowed for {retry_after} s")]
    ResendTooSoon { retry_after: u32 },
    /// Too many requests or codes; try again after `retry_after` seconds.
    #[error("rate limited for {retry_after} s")]
    RateLimited { retry_after: u32 },
    /// The provider will not send to this number (invalid there, blocked prefix or country).
    #[error("number cannot be reached")]
    NumberUnreachable,
    /// A fixed line cannot get texts; a call can reach it.
    #[error("landline needs a call")]
    LandlineNeedsCall,
    /// This service does not send to numbers of that country.
    #[error("country not allowed")]
    CountryNotAllowed,
    /// The chosen channel (SMS or call) is switched off.
    #[error("channel unavailable")]
    ChannelUnavailable,
    #[error("verification service unavailable")]
    ServiceUnavailable,
    /// The provider is failing or saturated, so it was not called; try again after
    /// `retry_after` seconds.
    #[error("verification service paused for {retry_after} s")]
    ServiceBusy { retry_after: u32 },
    /// The provider answered with a fault or nonsense.
    #[error("verification service error")]
    UpstreamError,
    /// The provider did not answer in time.
    #[error("verification service timed out")]
    UpstreamTimeout,
    /// Another website's page tried to call the API (CSRF); refused.
    #[error("cross-site request refused")]
    CrossSiteRequest,
    /// The embedded widget names a sitekey this server does not know.
    #[error("unknown site")]
    UnknownSite,
    /// The embedded widget's page is not one of its site's origins.
    #[error("origin not allowed")]
    OriginNotAllowed,
    /// The embedded widget's session has timed out or never existed.
    #[error("embed session lost")]
    SessionLost,
    /// A fault on our side; details are in the server log, never in the response.
    #[error("internal error")]
    Internal,
    /// The request never reached the server function, or its answer was unreadable.
    #[error("request failed: {0}")]
    Transport(String),
}

impl VerifyError {
    /// The HTTP status a server function answers with. User mistakes are 4xx, never 500.
    pub fn status(&self) -> u16 {
        match self {
            VerifyError::InvalidPhone(_) | VerifyError::InvalidCode(_) => 422,
            VerifyError::WrongCode { .. } => 422,
            VerifyError::CodeExpired => 410,
            VerifyError::NoVerificationInProgress => 409,
            VerifyError::NumberUnreachable
            | VerifyError::LandlineNeedsCall
            | VerifyError::ChannelUnavailable
            | VerifyError::CountryNotAllowed => 422,
            VerifyError::TooManyAttempts
            | VerifyError::ResendTooSoon { .. }
            | VerifyError::RateLimited { .. } => 429,
            VerifyError::ServiceUnavailable | VerifyError::ServiceBusy { .. } => 503,
            VerifyError::UpstreamError => 502,
            VerifyError::UpstreamTimeout => 504,
            VerifyError::CrossSiteRequest | VerifyError::OriginNotAllowed => 403,
            VerifyError::UnknownSite => 400,
            VerifyError::SessionLost => 410,
            VerifyError::Internal => 500,
            VerifyError::Transport(_) => 400,
        }
    }
}

impl VerifyError {
    /// Seconds until trying again can work, for the `Retry-After` header.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            VerifyError::ResendTooSoon { retry_after }
            | VerifyError::RateLimited { retry_after }
            | VerifyError::ServiceBusy { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

impl FromServerFnError for VerifyError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        VerifyError::Transport(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_mistakes_are_never_server_errors() {
        let mistakes = [
            VerifyError::InvalidPhone(PhoneProblem::NotANumber),
            VerifyError::InvalidCode(CodeProblem::Empty),
            VerifyError::WrongCode { tries_left: 2 },
            VerifyError::CodeExpired,
            VerifyError::TooManyAttempts,
            VerifyError::NoVerificationInProgress,
            VerifyError::ResendTooSoon { retry_after: 12 },
            VerifyError::RateLimited { retry_after: 600 },
            VerifyError::NumberUnreachable,
            VerifyError::ChannelUnavailable,
        ];
        for mistake in mistakes {
            assert!((400..500).contains(&mistake.status()), "{mistake:?}");
            assert!(!mistake.message_in(crate::i18n::Lang::En).is_empty());
        }
    }

    #[test]
    fn provider_faults_are_gateway_errors() {
        assert_eq!(VerifyError::ServiceUnavailable.status(), 503);
        assert_eq!(VerifyError::UpstreamError.status(), 502);
        assert_eq!(VerifyError::UpstreamTimeout.status(), 504);
    }

    #[test]
    fn rate_limit_messages_give_the_wait() {
        assert!(
            VerifyError::RateLimited { retry_after: 30 }
                .message_in(crate::i18n::Lang::En)
                .contains("30 seconds")
        );
        assert!(
            VerifyError::RateLimited { retry_after: 600 }
                .message_in(crate::i18n::Lang::En)
                .contains("10 minutes")
        );
    }

    #[test]
    fn wrong_code_message_counts_tries() {
        assert!(
            VerifyError::WrongCode { tries_left: 3 }
                .message_in(crate::i18n::Lang::En)
                .contains("3 tries left")
        );
        assert!(
            VerifyError::WrongCode { tries_left: 1 }
                .message_in(crate::i18n::Lang::En)
                .contains("1 try left")
        );
    }
}
