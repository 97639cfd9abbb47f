//! Row 38 of the matrix in docs/security.md: after a full run through each provider,
//! every response, every log line (as text and as `LOG_FORMAT=json` prints it) and
//! every metric label is searched for the API credentials, the codes, the
//! verification ids, the provider's address and the visitors' numbers. None may
//! appear. (The browser bundle is searched by the Playwright suite, which has it built.)
//!
//! A test binary of its own: the capture is per thread, and tracing decides once per
//! call site whether anyone listens. Among the other server tests, whose apps reach
//! the same call sites from other threads at the same moment, the first lines of
//! this test's requests were sometimes never delivered. Here nothing else runs, and
//! the two runs take turns.
#![cfg(feature = "ssr")]

#[macro_use]
#[allow(dead_code)]
#[path = "server/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::support::{Browser, TestApp, Upstream, spawn_with};
use fake_verify as fake;
use phone_verify::server::telemetry::{self, DEFAULT_FILTER, LogFormat};
use serde_json::{Value, json};
use tracing_subscriber::prelude::*;

/// A log's bytes, as a sink fills them.
type Log = Arc<Mutex<Vec<u8>>>;

/// Everything logged on this thread, as text and as `LOG_FORMAT=json` prints it.
struct Captured {
    text: Log,
    json: Log,
    _guard: tracing::subscriber::DefaultGuard,
}

/// Captures the log in both formats, at debug (the text without times, whose
/// microseconds could look like a code; the JSON lines lose theirs when read). A
/// `#[tokio::test]` runs the app it starts on its own thread, so only this test's
/// app is captured, while the other tests of the binary run beside it.
fn capture_log() -> Captured {
    let text: Log = Arc::default();
    let json: Log = Arc::default();
    let (text_sink, json_sink) = (text.clone(), json.clone());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new(format!(
            "{DEFAULT_FILTER},phone_verify=debug"
        )))
        .with(
            tracing_subscriber::fmt::layer()
                .without_time()
                .with_ansi(false)
                .with_writer(move || Sink(text_sink.clone())),
        )
        .with(telemetry::layer(LogFormat::Json, move || {
            Sink(json_sink.clone())
        }));
    Captured {
        text,
        json,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}

/// The JSON log's lines, each an object, without their timestamps.
fn json_lines(captured: &Captured) -> Vec<Value> {
    String::from_utf8_lossy(&captured.json.lock().unwrap())
        .lines()
        .map(|line| {
            let mut object: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
            object.as_object_mut().unwrap().remove("timestamp");
            object
        })
        .collect()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every response the browsers got, head and body, one after another; and how many.
#[derive(Default)]
struct Transcript(String, usize);

impl Transcript {
    async fn call(&mut self, browser: &Browser, endpoint: &str, form: &[(&str, &str)]) -> u16 {
        let response = browser
            .client
            .post(format!("{}/api/verify/{endpoint}", browser.app))
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        self.record(response).await
    }

    async fn get(&mut self, browser: &Browser, path: &str) -> u16 {
        let response = browser
            .client
            .get(format!("{}{path}", browser.app))
            .send()
            .await
            .unwrap();
        self.record(response).await
    }

    /// A host backend's confirmation text (`POST /api/v1/notify`).
    async fn notify(&mut self, browser: &Browser, form: &[(&str, &str)]) -> u16 {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/notify", browser.app))
            .form(form)
            .send()
            .await
            .unwrap();
        self.record(response).await
    }

    async fn record(&mut self, response: reqwest::Response) -> u16 {
        self.record_body(response).await.0
    }

    async fn record_body(&mut self, response: reqwest::Response) -> (u16, String) {
        let status = response.status().as_u16();
        self.0.push_str(&format!("{status}\n"));
        self.1 += 1;
        for (name, value) in response.headers() {
            self.0.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        let body = response.text().await.unwrap_or_default();
        self.0.push_str(&body);
        self.0.push('\n');
        (status, body)
    }
}

/// Walks through everything a visitor (or an attacker) can make the app do.
async fn full_run(app: &TestApp, transcript: &mut Transcript) {
    let visitor = app.browser();
    transcript.get(&visitor, "/").await;
    let form = [("phone", "+44 7400 111111"), ("channel", "sms")];
    assert_eq!(transcript.call(&visitor, "start", &form).await, 200);
    transcript.get(&visitor, "/").await;
    assert_eq!(
        transcript
            .call(&visitor, "check", &[("code", "000000")])
            .await,
        422
    );
    app.advance_all(30).await;
    assert_eq!(transcript.call(&visitor, "resend", &[]).await, 200);
    let code = app.latest_code().await;
    assert_eq!(
        transcript.call(&visitor, "check", &[("code", &code)]).await,
        200
    );
    transcript.call(&visitor, "check", &[("code", &code)]).await;
    transcript.get(&visitor, "/").await;
    let state = visitor
        .client
        .post(format!("{}/api/verify/state", visitor.app))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    let (_, state) = transcript.record_body(state).await;
    let state: Value = serde_json::from_str(&state).unwrap();
    let token = state["step"]["Verified"]["token"]
        .as_str()
        .expect("the page's token (VERIFY_PAGE_SITEKEY)")
        .to_owned();

    // The host's confirmation text: refused by the provider, whose error quotes the
    // number, then sent.
    let notify = [
        ("secret", "sk_test_local"),
        ("response", token.as_str()),
        ("text", "Welcome aboard."),
    ];
    app.knobs(json!({"blocked_prefixes": ["+447400111"]})).await;
    assert_eq!(transcript.notify(&visitor, &notify).await, 502);
    app.knobs(json!({"fault": "none"})).await;
    assert_eq!(transcript.notify(&visitor, &notify).await, 200);
    assert_eq!(transcript.notify(&visitor, &notify).await, 409);

    // A call, then a fault on the check: the code must not be echoed back.
    let caller = app.browser();
    let form = [("phone", "+44 7400 222222"), ("channel", "voice")];
    assert_eq!(transcript.call(&caller, "start", &form).await, 200);
    let code = app.latest_code().await;
    for fault in ["server_error", "malformed", "reset"] {
        app.knobs(json!({ "fault": fault })).await;
        assert_eq!(
            transcript.call(&caller, "check", &[("code", &code)]).await,
            502
        );
    }
    app.knobs(json!({"fault": "none"})).await;
    transcript.call(&caller, "restart", &[]).await;

    // Every upstream failure while sending.
    for (i, knobs) in [
        json!({"fault": "server_error"}),
        json!({"fault": "malformed"}),
        json!({"fault": "reset"}),
        json!({"fault": "hang"}),
        json!({"fault": "rate_limited"}),
        json!({"fault": "none", "blocked_prefixes": ["+447400333"]}),
        json!({"fault": "none", "blocked_prefixes": [], "disabled_channels": ["voice"]}),
    ]
    .into_iter()
    .enumerate()
    {
        app.knobs(knobs).await;
        let phone = format!("+44 7400 333{i:03}");
        let status = transcript
            .call(
                &app.browser(),
                "start",
                &[("phone", &phone), ("channel", "voice")],
            )
            .await;
        assert!((400..600).contains(&status) && status != 500, "{status}");
    }

    // Bad requests.
    let stranger = app.browser();
    transcript
        .call(&stranger, "check", &[("code", "123456")])
        .await;
    transcript
        .call(&stranger, "start", &[("phone", "12")])
        .await;
    transcript.call(&stranger, "nope", &[]).await;
    transcript.get(&stranger, "/api/verify/start").await;
    transcript.get(&stranger, "/dev/outbox").await;
}

/// What must never be shown: credentials, the provider's address, every code and id
/// the fake issued.
async fn secrets(app: &TestApp) -> Vec<String> {
    let fake_url = app.fake.clone().unwrap();
    let sent: Value = reqwest::get(format!("{fake_url}/_fake/messages"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = sent.as_array().unwrap();
    assert!(sent.len() >= 3, "the run sent codes");
    let mut secrets = vec![
        fake::MESSAGEBIRD_KEY.to_owned(),
        fake::TWILIO_AUTH_TOKEN.to_owned(),
        fake::TWILIO_ACCOUNT_SID.to_owned(),
        fake::TWILIO_SERVICE_SID.to_owned(),
        fake_url.trim_start_matches("http://").to_owned(),
        "AccessKey".to_owned(),
        "Basic ".to_owned(),
        "/v2/Services".to_owned(),
    ];
    for message in sent {
        secrets.push(message["code"].as_str().unwrap().to_owned());
        secrets.push(message["id"].as_str().unwrap().to_owned());
    }
    let texts: Value = reqwest::get(format!("{fake_url}/_fake/texts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let texts = texts.as_array().unwrap();
    assert_eq!(texts.len(), 1, "the run sent a confirmation text");
    secrets.push(texts[0]["id"].as_str().unwrap().to_owned());
    secrets.extend(["sk_test_local", "/2010-04-01/", "Messages.json"].map(str::to_owned));
    secrets
}

/// Where `secret` shows up in `text`. A code counts only as a whole run of digits,
/// so that a phone number or a port that merely contains it is not a leak.
fn find(text: &str, secret: &str) -> Option<String> {
    let digits_only = secret.bytes().all(|b| b.is_ascii_digit());
    text.match_indices(secret).find_map(|(at, _)| {
        let before = text[..at].bytes().next_back();
        let after = text[at + secret.len()..].bytes().next();
        let whole = !(before.is_some_and(|b| b.is_ascii_digit())
            || after.is_some_and(|b| b.is_ascii_digit()));
        (!digits_only || whole).then(|| {
            let from = text[..at]
                .char_indices()
                .rev()
                .nth(80)
                .map_or(0, |(i, _)| i);
            let to = (at + secret.len() + 80).min(text.len());
            text.get(from..to).unwrap_or(&text[from..]).to_owned()
        })
    })
}

/// One run at a time (see the top of the file).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn nothing_secret_in_responses_logs_or_metrics(upstream: Upstream) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let captured = capture_log();
    let app = spawn_with(
        upstream,
        &[
            ("UPSTREAM_TIMEOUT_MS", "300"),
            // A token on the page, and a sender, for a confirmation text.
            ("VERIFY_PAGE_SITEKEY", "pk_test_local"),
            ("MESSAGEBIRD_ORIGINATOR", "PhoneVerify"),
            ("TWILIO_FROM", "+15005550006"),
        ],
    )
    .await;
    let mut transcript = Transcript::default();
    full_run(&app, &mut transcript).await;
    let secrets = secrets(&app).await;
    let logged = String::from_utf8_lossy(&captured.text.lock().unwrap()).into_owned();
    assert!(
        logged.contains("code sent"),
        "the log was captured:\n{logged}"
    );
    let json_lines = json_lines(&captured);
    let json_log: String = json_lines.iter().map(|line| format!("{line}\n")).collect();
    assert_every_request_has_one_access_line(&json_lines, transcript.1);
    let scrape = app.scrape().await;
    // The metrics' labels: their sums of timings are numbers that may hold any digits.
    let labels: String = scrape
        .scrape
        .samples
        .iter()
        .map(|sample| format!("{} {:?}\n", sample.metric, sample.labels))
        .collect();
    assert!(labels.contains("phone_verify_sends_total"), "{labels}");
    let places = [
        ("a response", &transcript.0),
        ("the log", &logged),
        ("the JSON log", &json_log),
        ("the metrics", &labels),
    ];
    for secret in &secrets {
        for (place, text) in places {
            if let Some(context) = find(text, secret) {
                panic!("{secret:?} in {place}: …{context}…");
            }
        }
    }
    for word in ["panicked", "RUST_BACKTRACE", "reqwest::", "for url"] {
        for (place, text) in places {
            if let Some(context) = find(text, word) {
                panic!("{word:?} in {place}: …{context}…");
            }
        }
    }
    // The visitors' numbers, in full: the page shows them back, the logs never.
    let numbers = [
        "+447400111111",
        "447400111111",
        "7400 111111",
        "+447400222222",
        "+447400333",
    ];
    for number in numbers {
        for (place, text) in &places[1..] {
            if let Some(context) = find(text, number) {
                panic!("{number:?} in {place}: …{context}…");
            }
        }
    }
}

/// One `phone_verify::access` line per request, at info, with its id, method, route,
/// status and duration; every other line of that request carries the same id in its
/// span.
fn assert_every_request_has_one_access_line(lines: &[Value], requests: usize) {
    let access: Vec<&Value> = lines
        .iter()
        .filter(|line| line["target"] == "phone_verify::access")
        .collect();
    let seen: Vec<String> = access
        .iter()
        .map(|line| format!("{} {} {}", line["method"], line["route"], line["status"]))
        .collect();
    assert_eq!(
        access.len(),
        requests,
        "one access line per request: {seen:#?}"
    );
    let mut ids = std::collections::HashSet::new();
    for line in &access {
        assert_eq!(line["level"], "INFO");
        for field in ["method", "route"] {
            assert!(line[field].is_string(), "{field} in {line}");
        }
        assert!(
            line["status"].is_u64() && line["duration_ms"].is_f64(),
            "{line}"
        );
        let id = line["request_id"].as_str().expect("a request id");
        assert!(ids.insert(id.to_owned()), "{id} is used twice");
        assert_eq!(line["span"]["request_id"], id, "{line}");
    }
    let sent = lines
        .iter()
        .find(|line| line["message"] == "code sent")
        .expect("a code was sent");
    let id = sent["spans"][0]["request_id"]
        .as_str()
        .expect("in a request");
    assert!(ids.contains(id), "the send's request has its access line");
    assert_eq!(sent["span"]["name"], "verification");
    assert_eq!(sent["span"]["step"], "start");
}

both!(nothing_secret_in_responses_logs_or_metrics);

#[test]
fn a_code_counts_only_as_a_whole_number() {
    assert!(find("sent to +447400123456", "123456").is_none());
    assert!(find("code=123456.", "123456").is_some());
    assert!(find("key test_fake_messagebird_key!", fake::MESSAGEBIRD_KEY).is_some());
}
