//! Load generator: full start+check round trips against a running server. Each
//! worker is a browser with its own number; each round trip is a new visitor (its
//! cookies cleared, so a fresh session), as real visitors verify once each: `start`
//! → read the code → `check` (verified).
//!
//! Two paths, as the two kinds of visitor take them:
//! - JSON (default): the hydrated widget's server-function calls, JSON answers;
//! - `--forms`: a browser without JavaScript, posting the page's forms and
//!   following each redirect back to the server-rendered page.
//!
//! The code comes from the local provider's `/dev/outbox.json`, or with
//! `--fake URL` from `fake-verify`'s message list (the app then talks to
//! MessageBird or Twilio at that fake).
//!
//! Run by `scripts/bench.sh`, or by hand against a server started with
//! `VERIFY_RESEND_COOLDOWN_SECS=0`:
//!   cargo run --release -p loadgen --bin flow -- http://127.0.0.1:3200 16 10 [--forms] [--fake URL]
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use serde_json::Value;

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let forms = take_flag(&mut args, "--forms");
    let fake = take_option(&mut args, "--fake");
    let path = Path {
        forms,
        fake: fake.clone(),
    };
    let base = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:3200".to_owned());
    let workers: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(10);

    // Warm-up: one round trip per worker, not measured.
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let base = base.clone();
            let path = path.clone();
            tokio::spawn(async move {
                let cookies = Arc::new(Cookies::default());
                let client = reqwest::Client::builder()
                    .cookie_provider(cookies.clone())
                    .redirect(reqwest::redirect::Policy::none())
                    // A request the server never finishes fails the run instead of
                    // hanging it (above the server's own 30 s request timeout).
                    .timeout(Duration::from_secs(40))
                    .build()
                    .unwrap();
                let e164 = format!("+447400{worker:06}");
                path.round_trip(&client, &base, &e164).await;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    cookies.clear();
                    let started = Instant::now();
                    path.round_trip(&client, &base, &e164).await;
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let begun = Instant::now();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = begun.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{} path: round trips: {}  workers: {workers}  throughput: {:.0}/s  p50: {:.2} ms  p99: {:.2} ms",
        if forms { "form" } else { "JSON" },
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

/// Which way the round trips go.
#[derive(Clone)]
struct Path {
    forms: bool,
    fake: Option<String>,
}

impl Path {
    async fn round_trip(&self, client: &reqwest::Client, base: &str, e164: &str) {
        let start = [("phone", e164), ("channel", "sms")];
        if self.forms {
            let page = post_form(client, base, "start", &start).await;
            assert!(page.contains(r#"data-step="code""#), "start failed");
        } else {
            let sent = post(client, base, "start", &start).await;
            assert!(sent.get("EnterCode").is_some(), "start failed: {sent}");
        }
        let code = match &self.fake {
            Some(fake) => loadgen::code_for(client, fake, e164)
                .await
                .expect("the fake sent a code"),
            None => loadgen::outbox_code(client, base, e164).await,
        };
        if self.forms {
            let page = post_form(client, base, "check", &[("code", &code)]).await;
            assert!(page.contains(r#"data-step="verified""#), "check failed");
        } else {
            let checked = post(client, base, "check", &[("code", &code)]).await;
            assert!(checked.get("Verified").is_some(), "check failed: {checked}");
        }
    }
}

/// Posts the page's form as a browser without JavaScript does, and follows the redirect
/// back to the page; returns the page.
async fn post_form(
    client: &reqwest::Client,
    base: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> String {
    let answer = client
        .post(format!("{base}/api/verify/{endpoint}"))
        .header("sec-fetch-site", "same-origin")
        .header("accept", "text/html,application/xhtml+xml")
        .header("referer", format!("{base}/"))
        .form(form)
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_redirection(),
        "{endpoint}: a redirect back to the page, not {}",
        answer.status()
    );
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let page = if location.starts_with("http") {
        location
    } else {
        format!("{base}{location}")
    };
    client.get(page).send().await.unwrap().text().await.unwrap()
}

/// A browser's cookies for one site, which a new visitor starts without.
#[derive(Default)]
struct Cookies(Mutex<BTreeMap<String, String>>);

impl Cookies {
    fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl reqwest::cookie::CookieStore for Cookies {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, _url: &reqwest::Url) {
        let mut jar = self.0.lock().unwrap();
        for header in headers.filter_map(|h| h.to_str().ok()) {
            let mut parts = header.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|c| c.split_once('=')) else {
                continue;
            };
            let removed = parts.any(|a| a.eq_ignore_ascii_case("max-age=0")) || value.is_empty();
            if removed {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookies(&self, _url: &reqwest::Url) -> Option<HeaderValue> {
        let jar = self.0.lock().unwrap();
        let header: Vec<String> = jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        (!header.is_empty())
            .then(|| HeaderValue::from_str(&header.join("; ")).ok())
            .flatten()
    }
}

fn take_flag(args: &mut Vec<String>, flag: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != flag);
    args.len() != before
}

fn take_option(args: &mut Vec<String>, name: &str) -> Option<String> {
    let at = args.iter().position(|a| a == name)?;
    let value = args.get(at + 1).cloned();
    args.drain(at..(at + 2).min(args.len()));
    value
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> Value {
    client
        .post(format!("{base}/api/verify/{endpoint}"))
        // As the widget's own page: the API refuses requests that do not say so.
        .header("sec-fetch-site", "same-origin")
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
