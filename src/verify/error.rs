use serde::{Deserialize, Serialize};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};

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
    #[error("verification service unavailable")]
    ServiceUnavailable,
    /// A fault on our side; details are in the server log, never in the response.
    #[error("internal error")]
    Internal,
    /// The request never reached the server function, or its answer was unreadable.
    #[error("request failed: {0}")]
    Transport(String),
}

impl VerifyError {
    /// The sentence shown to the visitor.
    pub fn message(&self) -> String {
        match self {
            VerifyError::InvalidPhone(PhoneProblem::Empty) => "Enter your phone number.".into(),
            VerifyError::InvalidPhone(PhoneProblem::NotANumber) => {
                "That doesn't look like a phone number. Use digits, for example +44 7700 900123.".into()
            }
            VerifyError::InvalidPhone(PhoneProblem::MissingCountryCode) => {
                "Add your country code, starting with + (for example +1 for the US, +44 for the UK).".into()
            }
            VerifyError::InvalidPhone(PhoneProblem::Invalid) => {
                "That number isn't valid for its country. Check the digits and the country code.".into()
            }
            VerifyError::InvalidCode(CodeProblem::Empty) => "Enter the code we sent you.".into(),
            VerifyError::InvalidCode(CodeProblem::NotDigits) => "The code is made of digits only.".into(),
            VerifyError::InvalidCode(CodeProblem::WrongLength { expected }) => {
                format!("The code has {expected} digits.")
            }
            VerifyError::WrongCode { tries_left: 1 } => "That code isn't right. You have 1 try left.".into(),
            VerifyError::WrongCode { tries_left } => {
                format!("That code isn't right. You have {tries_left} tries left.")
            }
            VerifyError::CodeExpired => "That code has expired. Send a new one.".into(),
            VerifyError::TooManyAttempts => {
                "Too many wrong codes. Send a new code to try again.".into()
            }
            VerifyError::NoVerificationInProgress => {
                "There is no code waiting to be checked. Enter your number to get one.".into()
            }
            VerifyError::ResendTooSoon { retry_after: 1 } => {
                "Please wait 1 second before asking for another code.".into()
            }
            VerifyError::ResendTooSoon { retry_after } => {
                format!("Please wait {retry_after} seconds before asking for another code.")
            }
            VerifyError::ServiceUnavailable => {
                "We can't send codes right now. Please try again in a few minutes.".into()
            }
            VerifyError::Internal => "Something went wrong on our side. Please try again.".into(),
            VerifyError::Transport(_) => {
                "We couldn't reach the server. Check your connection and try again.".into()
            }
        }
    }

    /// The HTTP status a server function answers with. User mistakes are 4xx, never 500.
    pub fn status(&self) -> u16 {
        match self {
            VerifyError::InvalidPhone(_) | VerifyError::InvalidCode(_) => 422,
            VerifyError::WrongCode { .. } => 422,
            VerifyError::CodeExpired => 410,
            VerifyError::NoVerificationInProgress => 409,
            VerifyError::TooManyAttempts | VerifyError::ResendTooSoon { .. } => 429,
            VerifyError::ServiceUnavailable => 503,
            VerifyError::Internal => 500,
            VerifyError::Transport(_) => 400,
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
        ];
        for mistake in mistakes {
            assert!((400..500).contains(&mistake.status()), "{mistake:?}");
            assert!(!mistake.message().is_empty());
        }
    }

    #[test]
    fn wrong_code_message_counts_tries() {
        assert!(VerifyError::WrongCode { tries_left: 3 }.message().contains("3 tries left"));
        assert!(VerifyError::WrongCode { tries_left: 1 }.message().contains("1 try left"));
    }
}
