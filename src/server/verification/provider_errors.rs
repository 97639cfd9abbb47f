//! What a provider failure means to a visitor: the one place a [`ProviderError`]
//! becomes a [`VerifyError`], logged at the level the operator should see it at.
use crate::server::provider::ProviderError;
use crate::verify::VerifyError;

/// The wait to suggest when a provider throttles us without saying for how long.
const DEFAULT_RETRY_AFTER_SECS: u32 = 60;
/// Twilio counts sends to a number over 10 minutes (error 60203).
const SEND_WINDOW_SECS: u32 = 600;

pub fn visitor_error(provider: &'static str, error: ProviderError) -> VerifyError {
    match error {
        ProviderError::Misconfigured(_) => {
            tracing::error!(provider, %error, "provider refuses our account")
        }
        ProviderError::NumberRejected(_)
        | ProviderError::ChannelUnavailable(_)
        | ProviderError::NoTexts(_)
        | ProviderError::Refused(_) => {
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
        ProviderError::NumberRejected(_) | ProviderError::Refused(_) => {
            VerifyError::NumberUnreachable
        }
        ProviderError::ChannelUnavailable(_) => VerifyError::ChannelUnavailable,
        ProviderError::NoTexts(_) => VerifyError::LandlineNeedsCall,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_own_message() {
        let cases = [
            (
                ProviderError::Timeout("t".into()),
                VerifyError::UpstreamTimeout,
            ),
            (
                ProviderError::Unreachable("u".into()),
                VerifyError::ServiceUnavailable,
            ),
            (
                ProviderError::Misconfigured("m".into()),
                VerifyError::ServiceUnavailable,
            ),
            (
                ProviderError::BadGateway("b".into()),
                VerifyError::UpstreamError,
            ),
            (
                ProviderError::RateLimited { retry_after: None },
                VerifyError::RateLimited {
                    retry_after: DEFAULT_RETRY_AFTER_SECS,
                },
            ),
            (
                ProviderError::RateLimited {
                    retry_after: Some(7),
                },
                VerifyError::RateLimited { retry_after: 7 },
            ),
            (
                ProviderError::TooManySends,
                VerifyError::RateLimited { retry_after: 600 },
            ),
            (
                ProviderError::Shed { retry_after: 5 },
                VerifyError::ServiceBusy { retry_after: 5 },
            ),
            (
                ProviderError::NumberRejected("n".into()),
                VerifyError::NumberUnreachable,
            ),
            (
                ProviderError::ChannelUnavailable("c".into()),
                VerifyError::ChannelUnavailable,
            ),
            (
                ProviderError::NoTexts("l".into()),
                VerifyError::LandlineNeedsCall,
            ),
            (
                ProviderError::Refused("r".into()),
                VerifyError::NumberUnreachable,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(visitor_error("test", error), expected);
        }
    }
}
