//! Row 38 of the matrix in docs/security.md: after a full run through each provider,
//! every response and every log line is searched for the API credentials, the codes,
//! the verification ids and the provider's address. None may appear.
//! (The browser bundle is searched by the Playwright suite, which has it built.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::support::{Browser, TestApp, Upstream, spawn_with};
use fake_verify as fake;
use phone_verify::server::telemetry::DEFAULT_FILTER;
use serde_json::{Value, json};

/// Captures everything logged on this thread, as the production format prints it
/// (without times, whose microseconds could look like a code). A `#[tokio::test]`
/// runs the app it starts on its own thread, so only this test's app is captured,
/// while the other tests of the binary run beside it.
fn capture_log() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "{DEFAULT_FILTER},phone_verify=debug,tower_http=debug"
        )))
        .without_time()
        .with_ansi(false)
        .with_writer(move || Sink(sink.clone()))
        .finish();
    (log, tracing::subscriber::set_default(subscriber))
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

/// Every response the browsers got, head and body, one after another.
#[derive(Default)]
struct Transcript(String);

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

    async fn record(&mut self, response: reqwest::Response) -> u16 {
        let status = response.status().as_u16();
        self.0.push_str(&format!("{status}\n"));
        for (name, value) in response.headers() {
            self.0.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        self.0.push_str(&response.text().await.unwrap_or_default());
        self.0.push('\n');
        status
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
    transcript.call(&visitor, "state", &[]).await;

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

async fn nothing_secret_in_responses_or_logs(upstream: Upstream) {
    let (log, _capturing) = capture_log();
    let app = spawn_with(upstream, &[("UPSTREAM_TIMEOUT_MS", "300")]).await;
    let mut transcript = Transcript::default();
    full_run(&app, &mut transcript).await;
    let secrets = secrets(&app).await;
    let logged = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    assert!(
        logged.contains("code sent"),
        "the log was captured:\n{logged}"
    );
    for secret in &secrets {
        if let Some(context) = find(&transcript.0, secret) {
            panic!("{secret:?} in a response: …{context}…");
        }
        if let Some(context) = find(&logged, secret) {
            panic!("{secret:?} in the log: …{context}…");
        }
    }
    for word in ["panicked", "RUST_BACKTRACE", "reqwest::", "for url"] {
        assert!(find(&transcript.0, word).is_none(), "{word} in a response");
        if let Some(context) = find(&logged, word) {
            panic!("{word:?} in the log: …{context}…");
        }
    }
}

both!(nothing_secret_in_responses_or_logs);

#[test]
fn a_code_counts_only_as_a_whole_number() {
    assert!(find("sent to +447400123456", "123456").is_none());
    assert!(find("code=123456.", "123456").is_some());
    assert!(find("key test_fake_messagebird_key!", fake::MESSAGEBIRD_KEY).is_some());
}
