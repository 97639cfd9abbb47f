//! MessageBird Verify: `POST /verify` sends a code by SMS or text-to-speech call,
//! `GET /verify/{id}?token=…` checks it. A confirmation text goes through the SMS
//! API instead (`POST /messages`). Wire formats: docs/verify-apis.md §1 and §4.
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::http::{self, UpstreamTimeouts};
use super::{CheckOutcome, ProviderError, StartRequest, Started, VerificationRef, VerifyProvider};
use super::{CodePolicy, MessageTemplates};
use crate::i18n::Lang;
use crate::verify::{Channel, OtpCode, PhoneNumber};

/// The text-to-speech voice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Voice {
    #[default]
    Female,
    Male,
}

impl Voice {
    fn as_str(self) -> &'static str {
        match self {
            Voice::Female => "female",
            Voice::Male => "male",
        }
    }
}

#[derive(Clone, Debug)]
pub struct MessageBirdConfig {
    pub access_key: SecretString,
    pub api_url: Url,
    /// Sender name or number; MessageBird's default when `None`. The SMS API has no
    /// default: without one, no confirmation texts are sent.
    pub originator: Option<String>,
    /// The SMS and spoken texts; `%token` is replaced by the code (read out digit by
    /// digit in a call).
    pub templates: MessageTemplates,
    pub voice: Voice,
    /// e.g. `en-gb`: the voice's language for English calls.
    pub language: String,
    pub code: CodePolicy,
    pub timeouts: UpstreamTimeouts,
}

pub struct MessageBird {
    config: MessageBirdConfig,
    client: reqwest::Client,
}

impl MessageBird {
    pub fn new(config: MessageBirdConfig) -> Self {
        let client = http::client(config.timeouts);
        Self { config, client }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.config.api_url.clone();
        url.path_segments_mut()
            .expect("an http(s) base URL")
            .pop_if_empty()
            .extend(segments);
        url
    }

    fn authorization(&self) -> String {
        format!("AccessKey {}", self.config.access_key.expose_secret())
    }

    /// Posts `body` as JSON to the API path `path`, with the access key.
    async fn post_json(
        &self,
        path: &[&str],
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, ProviderError> {
        let url = self.url(path);
        http::send(|| {
            self.client
                .post(url.clone())
                .header("Authorization", self.authorization())
                .json(body)
        })
        .await
    }
}

/// The fields of a Verify object this client reads.
#[derive(Deserialize)]
struct VerifyObject {
    id: String,
    status: String,
}

/// What a created SMS message must have for the answer to be one.
#[derive(Deserialize)]
struct MessageObject {
    #[serde(rename = "id")]
    _id: String,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    code: u32,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameter: Option<String>,
}

/// The first error of an error answer, or a description of an unexpected one.
fn first_error(status: StatusCode, body: &[u8]) -> Result<ApiError, ProviderError> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .and_then(|envelope| envelope.errors.into_iter().next())
        .ok_or_else(|| {
            ProviderError::Refused(format!(
                "MessageBird answered {status} without an error envelope"
            ))
        })
}

/// What a call answered: its object, or the first error of an error envelope.
enum Answer<T> {
    Object(T),
    Error(StatusCode, ApiError),
}

/// Reads an answer of `call`; throttling, faults and nonsense become provider errors.
async fn answer<T: DeserializeOwned>(
    response: reqwest::Response,
    call: &str,
) -> Result<Answer<T>, ProviderError> {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(ProviderError::RateLimited {
            retry_after: http::retry_after(&response),
        });
    }
    let bytes = http::body(response).await?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map(Answer::Object)
            .map_err(|e| {
                ProviderError::BadGateway(format!("MessageBird {call} answer unreadable: {e}"))
            });
    }
    // A redirect is as wrong as a fault: the API never sends one, and it is not
    // followed (see `http::client`).
    if status.is_server_error() || status.is_redirection() {
        return Err(ProviderError::BadGateway(format!(
            "MessageBird answered {status}"
        )));
    }
    first_error(status, &bytes).map(|error| Answer::Error(status, error))
}

/// Errors that mean the same whichever call returned them.
fn common_error(status: StatusCode, error: &ApiError) -> ProviderError {
    match error.code {
        2 | 25 => ProviderError::Misconfigured(format!(
            "MessageBird error {}: {}",
            error.code, error.description
        )),
        _ if status == StatusCode::TOO_MANY_REQUESTS => {
            ProviderError::RateLimited { retry_after: None }
        }
        _ => ProviderError::Refused(format!(
            "MessageBird error {} ({status}): {}",
            error.code, error.description
        )),
    }
}

#[async_trait::async_trait]
impl VerifyProvider for MessageBird {
    fn name(&self) -> &'static str {
        "messagebird"
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        let kind = match request.channel {
            Channel::Sms => "sms",
            Channel::Voice => "tts",
        };
        let language = match request.lang {
            Lang::En => self.config.language.as_str(),
            Lang::De => "de-de",
            Lang::Ar => "ar-sa",
        };
        let mut body = json!({
            "recipient": request.to.e164().trim_start_matches('+'),
            "type": kind,
            "template": self.config.templates.template(request.channel, request.lang),
            // Arabic and German letters need more than the GSM alphabet.
            "datacoding": "auto",
            "tokenLength": self.config.code.length,
            "timeout": self.config.code.lifetime.as_secs(),
            "maxAttempts": self.config.code.max_attempts,
            "language": language,
        });
        if request.channel == Channel::Voice {
            body["voice"] = json!(self.config.voice.as_str());
        }
        if let Some(originator) = &self.config.originator {
            body["originator"] = json!(originator);
        }
        let response = self.post_json(&["verify"], &body).await?;
        let (status, error) = match answer::<VerifyObject>(response, "create").await? {
            Answer::Object(created) => {
                return Ok(Started {
                    reference: VerificationRef::new(created.id),
                    lifetime: self.config.code.lifetime,
                });
            }
            Answer::Error(status, error) => (status, error),
        };
        Err(match (error.code, error.parameter.as_deref()) {
            (9 | 10, Some("recipient")) => ProviderError::NumberRejected(format!(
                "MessageBird error {}: {}",
                error.code, error.description
            )),
            (10, Some("type")) => ProviderError::ChannelUnavailable(format!(
                "MessageBird error 10: {}",
                error.description
            )),
            _ => common_error(status, &error),
        })
    }

    async fn check(
        &self,
        reference: &VerificationRef,
        code: &OtpCode,
    ) -> Result<CheckOutcome, ProviderError> {
        let mut url = self.url(&["verify", reference.as_str()]);
        url.query_pairs_mut().append_pair("token", code.as_str());
        let response = http::send(|| {
            self.client
                .get(url.clone())
                .header("Authorization", self.authorization())
        })
        .await?;
        let (status, error) = match answer::<VerifyObject>(response, "check").await? {
            Answer::Object(object) => {
                // Only "verified" is a success: an older API answered 200 "sent" to an empty token.
                return Ok(match object.status.as_str() {
                    "verified" => CheckOutcome::Approved,
                    "expired" => CheckOutcome::Expired,
                    "failed" => CheckOutcome::TooManyAttempts,
                    _ => CheckOutcome::Wrong,
                });
            }
            Answer::Error(status, error) => (status, error),
        };
        let description = error.description.to_ascii_lowercase();
        Ok(match error.code {
            20 => CheckOutcome::NotFound,
            10 if description.contains("expired") => CheckOutcome::Expired,
            10 if description.contains("already been processed") => CheckOutcome::NotFound,
            10 if description.contains("too many") || description.contains("failed") => {
                CheckOutcome::TooManyAttempts
            }
            10 => CheckOutcome::Wrong,
            _ => return Err(common_error(status, &error)),
        })
    }

    fn sends_texts(&self) -> bool {
        self.config.originator.is_some()
    }

    async fn send_text(&self, to: &PhoneNumber, text: &str) -> Result<(), ProviderError> {
        let Some(originator) = &self.config.originator else {
            return Err(ProviderError::Misconfigured(
                "no MESSAGEBIRD_ORIGINATOR to send texts from".into(),
            ));
        };
        let body = json!({
            "originator": originator,
            "recipients": [to.e164().trim_start_matches('+')],
            "body": text,
            // Hosts write in any language: GSM-7 when it fits, else Unicode.
            "datacoding": "auto",
        });
        let response = self.post_json(&["messages"], &body).await?;
        let (status, error) = match answer::<MessageObject>(response, "message").await? {
            Answer::Object(_) => return Ok(()),
            Answer::Error(status, error) => (status, error),
        };
        // The description is left out: it may quote the recipient.
        let text = format!(
            "MessageBird SMS error {} ({status}) on {}",
            error.code,
            error.parameter.as_deref().unwrap_or("-")
        );
        Err(match (error.code, error.parameter.as_deref()) {
            (9 | 10, Some("recipient" | "recipients")) | (21, _) => {
                ProviderError::NumberRejected(text)
            }
            (2 | 25, _) | (9 | 10, Some("originator")) => ProviderError::Misconfigured(text),
            _ if status == StatusCode::TOO_MANY_REQUESTS => {
                ProviderError::RateLimited { retry_after: None }
            }
            _ => ProviderError::Refused(text),
        })
    }
}
