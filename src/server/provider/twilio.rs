//! Twilio Verify v2: form-encoded `POST /v2/Services/{sid}/Verifications` sends a
//! code, `POST …/VerificationCheck` checks it; Basic auth with the account SID and
//! auth token. A confirmation text goes through the Messages API instead
//! (`POST /2010-04-01/Accounts/{sid}/Messages.json`, same auth). Wire formats:
//! docs/verify-apis.md §2 and §3.
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::CodePolicy;
use super::http::{self, UpstreamTimeouts};
use super::{CheckOutcome, ProviderError, StartRequest, Started, VerificationRef, VerifyProvider};
use crate::i18n::Lang;
use crate::verify::{Channel, OtpCode, PhoneNumber};

#[derive(Clone, Debug)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub service_sid: String,
    pub api_url: Url,
    /// The Messages API's base URL (`TWILIO_API_URL`, default `https://api.twilio.com`).
    pub messages_api_url: Url,
    /// `TWILIO_MESSAGING_SERVICE_SID` (`MG…`): the sender pool confirmation texts go
    /// out from; with `from` as well, Twilio picks that sender of the pool.
    pub messaging_service_sid: Option<String>,
    /// `TWILIO_FROM`: a Twilio number (E.164) or an alphanumeric sender ID.
    pub from: Option<String>,
    /// Twilio `Locale`, e.g. `en`, `de`.
    pub locale: String,
    /// Twilio's code lifetime is a setting of the Verify service; this is what the
    /// app shows and enforces on its side (default 10 minutes, as Twilio's).
    pub code: CodePolicy,
    pub timeouts: UpstreamTimeouts,
}

pub struct Twilio {
    config: TwilioConfig,
    client: reqwest::Client,
}

impl Twilio {
    pub fn new(config: TwilioConfig) -> Self {
        let client = http::client(config.timeouts);
        Self { config, client }
    }

    fn url(&self, last: &str) -> Url {
        let mut url = self.config.api_url.clone();
        url.path_segments_mut()
            .expect("an http(s) base URL")
            .pop_if_empty()
            .extend(["v2", "Services", self.config.service_sid.as_str(), last]);
        url
    }

    async fn post(
        &self,
        last: &str,
        form: &[(&str, &str)],
    ) -> Result<reqwest::Response, ProviderError> {
        let url = self.url(last);
        http::send(|| {
            self.client
                .post(url.clone())
                .basic_auth(
                    &self.config.account_sid,
                    Some(self.config.auth_token.expose_secret()),
                )
                .form(form)
        })
        .await
    }
}

/// What a created Message must have for the answer to be one.
#[derive(Deserialize)]
struct Message {
    #[serde(rename = "sid")]
    _sid: String,
}

#[derive(Deserialize)]
struct Verification {
    sid: String,
}

#[derive(Deserialize)]
struct CheckAnswer {
    status: String,
}

#[derive(Deserialize)]
struct ApiError {
    code: u32,
    #[serde(default)]
    message: String,
}

/// Maps an error answer to what it means for the visitor.
fn error(status: StatusCode, retry_after: Option<u32>, body: &[u8]) -> ProviderError {
    // A redirect is as wrong as a fault: the API never sends one, and it is not
    // followed (see `http::client`).
    if status.is_server_error() || status.is_redirection() {
        return ProviderError::BadGateway(format!("Twilio answered {status}"));
    }
    let Ok(error) = serde_json::from_slice::<ApiError>(body) else {
        return if status == StatusCode::TOO_MANY_REQUESTS {
            ProviderError::RateLimited { retry_after }
        } else {
            ProviderError::Refused(format!("Twilio answered {status} without an error body"))
        };
    };
    let text = format!("Twilio error {} ({status}): {}", error.code, error.message);
    match error.code {
        60200 if error.message.contains("To") => ProviderError::NumberRejected(text),
        60410 | 60605 | 21408 | 21614 => ProviderError::NumberRejected(text),
        60223 => ProviderError::ChannelUnavailable(text),
        60205 => ProviderError::NoTexts(text),
        60203 => ProviderError::TooManySends,
        20429 | 60212 => ProviderError::RateLimited { retry_after },
        20003 | 20404 => ProviderError::Misconfigured(text),
        _ if status == StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited { retry_after },
        _ => ProviderError::Refused(text),
    }
}

/// Maps an error answer of the Messages API. The text names the code only: Twilio's
/// messages quote the numbers they refuse, and log lines never hold a whole number.
fn message_error(status: StatusCode, retry_after: Option<u32>, body: &[u8]) -> ProviderError {
    if status.is_server_error() || status.is_redirection() {
        return ProviderError::BadGateway(format!("Twilio Messages answered {status}"));
    }
    let Ok(error) = serde_json::from_slice::<ApiError>(body) else {
        return if status == StatusCode::TOO_MANY_REQUESTS {
            ProviderError::RateLimited { retry_after }
        } else {
            ProviderError::Refused(format!(
                "Twilio Messages answered {status} without an error body"
            ))
        };
    };
    let text = format!("Twilio Messages error {} ({status})", error.code);
    match error.code {
        // The number: invalid, not a mobile, a region not enabled, opted out, unroutable.
        21211 | 21408 | 21610 | 21612 | 21614 => ProviderError::NumberRejected(text),
        // Our side: credentials, the sender, the messaging service.
        20003 | 20404 | 21212 | 21603 | 21606 => ProviderError::Misconfigured(text),
        20429 => ProviderError::RateLimited { retry_after },
        _ if status == StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited { retry_after },
        _ => ProviderError::Refused(text),
    }
}

impl Twilio {
    fn messages_url(&self) -> Url {
        let mut url = self.config.messages_api_url.clone();
        url.path_segments_mut()
            .expect("an http(s) base URL")
            .pop_if_empty()
            .extend([
                "2010-04-01",
                "Accounts",
                self.config.account_sid.as_str(),
                "Messages.json",
            ]);
        url
    }

    /// Twilio's locales are bare languages; English keeps the configured one.
    fn locale(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.config.locale,
            other => other.code(),
        }
    }
}

#[async_trait::async_trait]
impl VerifyProvider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        let channel = match request.channel {
            Channel::Sms => "sms",
            Channel::Voice => "call",
        };
        let response = self
            .post(
                "Verifications",
                &[
                    ("To", request.to.e164()),
                    ("Channel", channel),
                    ("Locale", self.locale(request.lang)),
                ],
            )
            .await?;
        let status = response.status();
        let retry_after = http::retry_after(&response);
        let bytes = http::body(response).await?;
        if !status.is_success() {
            return Err(error(status, retry_after, &bytes));
        }
        let verification: Verification = serde_json::from_slice(&bytes).map_err(|e| {
            ProviderError::BadGateway(format!("Twilio Verifications answer unreadable: {e}"))
        })?;
        Ok(Started {
            reference: VerificationRef::new(verification.sid),
            lifetime: self.config.code.lifetime,
        })
    }

    async fn check(
        &self,
        reference: &VerificationRef,
        code: &OtpCode,
    ) -> Result<CheckOutcome, ProviderError> {
        let response = self
            .post(
                "VerificationCheck",
                &[
                    ("VerificationSid", reference.as_str()),
                    ("Code", code.as_str()),
                ],
            )
            .await?;
        let status = response.status();
        let retry_after = http::retry_after(&response);
        let bytes = http::body(response).await?;
        if status.is_success() {
            let answer: CheckAnswer = serde_json::from_slice(&bytes).map_err(|e| {
                ProviderError::BadGateway(format!(
                    "Twilio VerificationCheck answer unreadable: {e}"
                ))
            })?;
            return Ok(match answer.status.as_str() {
                "approved" => CheckOutcome::Approved,
                "pending" => CheckOutcome::Wrong,
                "expired" => CheckOutcome::Expired,
                "max_attempts_reached" => CheckOutcome::TooManyAttempts,
                _ => CheckOutcome::NotFound,
            });
        }
        // Once approved, expired or out of attempts, Twilio deletes the verification.
        match serde_json::from_slice::<ApiError>(&bytes).map(|e| e.code) {
            Ok(20404) => Ok(CheckOutcome::NotFound),
            Ok(60202) => Ok(CheckOutcome::TooManyAttempts),
            _ => Err(error(status, retry_after, &bytes)),
        }
    }

    fn sends_texts(&self) -> bool {
        self.config.messaging_service_sid.is_some() || self.config.from.is_some()
    }

    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<(), ProviderError> {
        let mut form = vec![("To", to.e164()), ("Body", text)];
        if let Some(service) = &self.config.messaging_service_sid {
            form.push(("MessagingServiceSid", service));
        }
        if let Some(from) = &self.config.from {
            form.push(("From", from));
        }
        if form.len() == 2 {
            return Err(ProviderError::Misconfigured(
                "no TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM to send texts from".into(),
            ));
        }
        let url = self.messages_url();
        let response = http::send(|| {
            self.client
                .post(url.clone())
                .basic_auth(
                    &self.config.account_sid,
                    Some(self.config.auth_token.expose_secret()),
                )
                .form(&form)
        })
        .await?;
        let status = response.status();
        let retry_after = http::retry_after(&response);
        let bytes = http::body(response).await?;
        if !status.is_success() {
            return Err(message_error(status, retry_after, &bytes));
        }
        // A 2xx that is not a Message resource is as wrong as a fault.
        serde_json::from_slice::<Message>(&bytes)
            .map(|_| ())
            .map_err(|e| {
                ProviderError::BadGateway(format!("Twilio Messages answer unreadable: {e}"))
            })
    }
}
