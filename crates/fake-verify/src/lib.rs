//! A fake Verify upstream that speaks both MessageBird's and Twilio's wire protocols
//! (docs/verify-apis.md §6), for tests, the end-to-end suite and
//! benchmarks. It really generates, sends (to its own log) and checks codes, with the
//! providers' own rules and error envelopes, and has knobs for latency and faults.
//!
//! It also speaks both messaging APIs a confirmation text goes through (§3, §4):
//! Twilio's `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` and MessageBird's
//! `POST /messages`, with the same credentials, each with its own error envelope.
//!
//! Control endpoints, for tests:
//! - `GET  /_fake/messages[?to=+44…][&limit=N]`: codes "sent", newest first (the last
//!   10,000; the newest `N` only with `limit`):
//!   `[{provider,to,channel,code,id,locale,text,sent_at}]`
//! - `GET  /_fake/texts[?to=+44…][&limit=N]`: plain texts sent through the messaging
//!   APIs, newest first: `[{provider,to,from,body,id,sent_at}]`
//! - `GET  /_fake/stats`: `{creates: {"+44…": n}, checks, texts, requests, last_messagebird_create}`
//! - `GET|POST /_fake/knobs`: read or replace the [`Knobs`] (JSON)
//! - `POST /_fake/advance?secs=N`: move the fake's clock forward
//! - `POST /_fake/reset`: forget everything and restore the default knobs
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::{Deserialize, Serialize};

mod control;
mod messagebird;
mod twilio;

#[cfg(test)]
mod tests;

/// The credentials the fake accepts; tests and the e2e suite configure the app with them.
pub const MESSAGEBIRD_KEY: &str = "test_fake_messagebird_key";
pub const TWILIO_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
pub const TWILIO_AUTH_TOKEN: &str = "test_fake_twilio_token";
pub const TWILIO_SERVICE_SID: &str = "VA00000000000000000000000000000000";

/// What goes wrong, on every protocol request, until changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    #[default]
    None,
    /// 500 with a JSON body.
    ServerError,
    /// Never answers.
    Hang,
    /// Closes the connection without an answer.
    Reset,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 429 with `Retry-After`.
    RateLimited,
    /// 307 back to the same URL: a client that follows it sends the request (and
    /// the code in it) again, and again.
    Redirect,
    /// 200 with an endless body, sent in chunks without a length.
    Oversized,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Knobs {
    /// Added before every protocol answer.
    pub latency_ms: u64,
    pub fault: Fault,
    /// Seconds in `Retry-After` for [`Fault::RateLimited`].
    pub retry_after: u32,
    /// MessageBird create answers 200 (as its SDK fixtures) or 201.
    pub messagebird_create_status: u16,
    /// MessageBird `POST /messages` answers 201 (as its documentation) or 200 (as its
    /// SDK fixtures).
    pub messagebird_message_status: u16,
    /// Twilio VerificationCheck answers 200 or 201.
    pub twilio_check_status: u16,
    /// MessageBird wrong tokens before a verification fails, when the request sets none.
    pub messagebird_max_attempts: u32,
    /// Numbers starting with one of these are refused (MessageBird code 10 on
    /// `recipient`, Twilio 60410).
    pub blocked_prefixes: Vec<String>,
    /// Channels switched off (`sms`, `voice`): Twilio 60223, MessageBird code 10 on `type`.
    pub disabled_channels: Vec<String>,
    /// Fixed lines: numbers starting with one of these take calls, not texts (Twilio
    /// 60205; MessageBird code 21, its generic "bad request", on `recipient`).
    pub landline_prefixes: Vec<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            fault: Fault::None,
            retry_after: 30,
            messagebird_create_status: 200,
            messagebird_message_status: 201,
            twilio_check_status: 200,
            messagebird_max_attempts: 5,
            blocked_prefixes: Vec::new(),
            disabled_channels: Vec::new(),
            landline_prefixes: Vec::new(),
        }
    }
}

/// A code the fake "sent".
#[derive(Clone, Debug, Serialize)]
pub struct SentMessage {
    pub provider: &'static str,
    /// E.164.
    pub to: String,
    /// `sms` or `voice`.
    pub channel: &'static str,
    pub code: String,
    /// The verification's id (MessageBird) or SID (Twilio).
    pub id: String,
    /// The language asked for: MessageBird `language`, Twilio `Locale`.
    pub locale: String,
    /// The SMS or spoken text with the code in it (MessageBird; Twilio's templates
    /// live on its side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub sent_at: String,
}

/// A plain text the fake "sent" through a messaging API.
#[derive(Clone, Debug, Serialize)]
pub struct SentText {
    pub provider: &'static str,
    /// E.164.
    pub to: String,
    /// The sender: Twilio's `From` (absent with a messaging service alone) or
    /// MessageBird's `originator`.
    pub from: Option<String>,
    pub body: String,
    /// Twilio's `SM…` SID or MessageBird's message id.
    pub id: String,
    pub sent_at: String,
}

/// Messages kept for `/_fake/messages`; a benchmark sends far more.
const MAX_SENT: usize = 10_000;

#[derive(Default)]
struct World {
    knobs: Knobs,
    clock_offset: Duration,
    messagebird: HashMap<String, messagebird::Verification>,
    twilio: HashMap<String, twilio::Verification>,
    /// Newest first; a deque, as a benchmark records thousands a second.
    sent: VecDeque<SentMessage>,
    texts: VecDeque<SentText>,
    creates: HashMap<String, u32>,
    checks: u32,
    /// Protocol requests received, faults included.
    requests: u32,
    /// The body of the last MessageBird create, for tests of the wire format.
    last_messagebird_create: Option<serde_json::Value>,
}

/// The fake's shared state.
#[derive(Clone, Default)]
pub struct Fake(Arc<Mutex<World>>);

impl Fake {
    fn world(&self) -> MutexGuard<'_, World> {
        self.0.lock().expect("fake state lock")
    }

    fn now(&self) -> SystemTime {
        SystemTime::now() + self.world().clock_offset
    }

    /// Keeps `message` for `/_fake/messages`, stamped with the fake's time.
    fn record_send(&self, mut message: SentMessage) {
        message.sent_at = time::OffsetDateTime::from(self.now())
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut world = self.world();
        *world.creates.entry(message.to.clone()).or_default() += 1;
        world.sent.push_front(message);
        world.sent.truncate(MAX_SENT);
    }
}

impl Fake {
    /// Keeps `text` for `/_fake/texts`, stamped with the fake's time.
    fn record_text(&self, mut text: SentText) {
        text.sent_at = rfc3339(self.now());
        let mut world = self.world();
        world.texts.push_front(text);
        world.texts.truncate(MAX_SENT);
    }
}

/// The fake upstream's routes: both protocols plus `/_fake`.
pub fn router(fake: Fake) -> Router {
    let protocols = Router::new()
        .merge(messagebird::routes())
        .merge(twilio::routes())
        .layer(middleware::from_fn_with_state(fake.clone(), apply_knobs));
    Router::new()
        .merge(protocols)
        .merge(control::routes())
        .with_state(fake)
}

/// Latency and faults, before the protocol handlers.
async fn apply_knobs(State(fake): State<Fake>, request: Request, next: Next) -> Response {
    let knobs = {
        let mut world = fake.world();
        world.requests += 1;
        world.knobs.clone()
    };
    if knobs.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(knobs.latency_ms)).await;
    }
    let path = request.uri().path();
    let twilio = path.starts_with("/v2/") || path.starts_with("/2010-04-01/");
    match knobs.fault {
        Fault::None => next.run(request).await,
        Fault::ServerError => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"internal server error"}"#.into(),
        ),
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        // Unwinding drops the connection mid-request; `resume_unwind` skips the panic hook.
        Fault::Reset => std::panic::resume_unwind(Box::new("fake-verify: connection reset knob")),
        Fault::Malformed => json(StatusCode::OK, "{\"id\": \"truncated".into()),
        Fault::RateLimited => {
            let body = if twilio {
                twilio::error_body(20429, "Too Many Requests", 429)
            } else {
                messagebird::error_body(29, "Too many requests", None)
            };
            let mut response = json(StatusCode::TOO_MANY_REQUESTS, body);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, knobs.retry_after.into());
            response
        }
        Fault::Redirect => Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header(header::LOCATION, request.uri().to_string())
            .body(Body::empty())
            .expect("a valid response"),
        Fault::Oversized => {
            let chunk = axum::body::Bytes::from(vec![b' '; 16 * 1024]);
            let endless =
                futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(endless))
                .expect("a valid response")
        }
    }
}

fn json(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("a valid response")
}

/// Whether `number` starts with one of `prefixes` (a knob's list).
fn starts_with_any(number: &str, prefixes: &[String]) -> bool {
    prefixes
        .iter()
        .any(|prefix| number.starts_with(prefix.as_str()))
}

fn random_digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

fn rfc3339(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
