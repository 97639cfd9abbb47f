//! Open-loop load through a real provider client against the fake upstream.
//!
//! Each scheduled item is one start+check round trip for a fresh session and number.
//! Items start on a fixed schedule whatever the answers (open loop), and latency is
//! measured from the scheduled time, so a slow server cannot hide its queueing.
//!
//!   cargo run --release -p loadgen --bin upstream -- <target> <fake-url> <rate> <seconds> [app-url]
//!
//! `target` is `app` (through the app at `app-url`, whose provider is set by how it
//! was started) or `messagebird` / `twilio` (straight to the fake: the baseline the
//! app's added latency is measured against). `paired-messagebird` and
//! `paired-twilio` run both for `seconds` each, in turns of one second (through the
//! app, then straight, and so on), and print the difference: the two then see the
//! same machine, so a machine busier in one run than in the next does not show as
//! latency the app added, and neither runs alongside the other.

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, COOKIE, SET_COOKIE};
use serde_json::Value;
use tokio::sync::mpsc;

use loadgen::code_for;

const MB_KEY: &str = "AccessKey test_fake_messagebird_key";
const TW_SERVICE: &str = "VA00000000000000000000000000000000";

#[derive(Clone)]
struct Target {
    kind: String,
    fake: String,
    app: String,
    client: reqwest::Client,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let kind = args.first().cloned().unwrap_or_else(|| "app".into());
    let fake = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:4210".into());
    let rate: u64 = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(200);
    let seconds: u64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(10);
    let app = args
        .get(4)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:3210".into());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let target = Target {
        kind,
        fake,
        app,
        client,
    };
    // Each run uses its own block of numbers, so runs never meet a pending verification.
    let base = std::process::id() as u64 % 90 * 10_000;

    let paired = target.kind.strip_prefix("paired-").map(str::to_owned);
    let (tx, mut rx) = mpsc::unbounded_channel();
    // Paired: twice the seconds, the app's and the straight ones in turn.
    let total = rate * seconds * if paired.is_some() { 2 } else { 1 };
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let begun = Instant::now();
    for i in 0..total {
        let scheduled = begun + period * u32::try_from(i).unwrap();
        tokio::time::sleep_until(scheduled.into()).await;
        let kind = match &paired {
            Some(provider) if (i / rate) % 2 == 1 => provider.clone(),
            Some(_) => "app".to_owned(),
            None => target.kind.clone(),
        };
        let target = Target {
            kind,
            ..target.clone()
        };
        let e164 = format!("+447400{:06}", base + i);
        let tx = tx.clone();
        tokio::spawn(async move {
            let ok = round_trip(&target, &e164).await;
            let _ = tx.send((target.kind == "app", scheduled.elapsed(), ok));
        });
    }
    drop(tx);
    let (mut through_app, mut straight) = (Latencies::default(), Latencies::default());
    while let Some((app, latency, ok)) = rx.recv().await {
        let latencies = if app { &mut through_app } else { &mut straight };
        latencies.add(latency, ok);
    }
    let elapsed = begun.elapsed().as_secs_f64();
    through_app.answered.sort_unstable();
    straight.answered.sort_unstable();
    match &paired {
        Some(provider) => {
            // Each ran half the time.
            through_app.print("app", rate, seconds, elapsed / 2.0);
            straight.print(provider, rate, seconds, elapsed / 2.0);
            println!(
                "{:<11} added p50 {:.2} ms, p99 {:.2} ms",
                "",
                through_app.ms(0.50) - straight.ms(0.50),
                through_app.ms(0.99) - straight.ms(0.99),
            );
        }
        None => {
            let latencies = if target.kind == "app" {
                &through_app
            } else {
                &straight
            };
            latencies.print(&target.kind, rate, seconds, elapsed);
        }
    }
}

/// One target's answered round trips, and its errors.
#[derive(Default)]
struct Latencies {
    answered: Vec<Duration>,
    errors: usize,
}

impl Latencies {
    fn add(&mut self, latency: Duration, ok: bool) {
        if ok {
            self.answered.push(latency);
        } else {
            self.errors += 1;
        }
    }

    /// The `p` quantile in milliseconds, once sorted.
    fn ms(&self, p: f64) -> f64 {
        let last = self.answered.len().saturating_sub(1);
        let at = ((self.answered.len() as f64 * p) as usize).min(last);
        self.answered
            .get(at)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    }

    fn print(&self, kind: &str, rate: u64, seconds: u64, elapsed: f64) {
        println!(
            "{kind:<11} offered {rate}/s for {seconds}s: done {}, errors {}, throughput {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
            self.answered.len(),
            self.errors,
            self.answered.len() as f64 / elapsed,
            self.ms(0.50),
            self.ms(0.99),
        );
    }
}

/// start → read the code from the fake → check; true when verified.
async fn round_trip(t: &Target, e164: &str) -> bool {
    match t.kind.as_str() {
        "app" => through_app(t, e164).await,
        "messagebird" => messagebird(t, e164).await,
        "twilio" => twilio(t, e164).await,
        other => panic!("unknown target {other}"),
    }
    .unwrap_or(false)
}

async fn through_app(t: &Target, e164: &str) -> Option<bool> {
    let started = t
        .client
        .post(format!("{}/api/verify/start", t.app))
        // As the widget's own page: the API refuses requests that do not say so.
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(&[("phone", e164), ("channel", "sms")])
        .send()
        .await
        .ok()?;
    let cookie = started
        .headers()
        .get(SET_COOKIE)?
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .to_owned();
    if !started.status().is_success() {
        return Some(false);
    }
    let code = code_for(&t.client, &t.fake, e164).await?;
    let checked: Value = t
        .client
        .post(format!("{}/api/verify/check", t.app))
        // As the widget's own page: the API refuses requests that do not say so.
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .header(COOKIE, cookie)
        .form(&[("code", code.as_str())])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(checked.get("Verified").is_some())
}

async fn messagebird(t: &Target, e164: &str) -> Option<bool> {
    let created: Value = t
        .client
        .post(format!("{}/verify", t.fake))
        .header("Authorization", MB_KEY)
        .json(&serde_json::json!({"recipient": e164.trim_start_matches('+'), "type": "sms", "template": "Code %token", "timeout": 600}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let id = created["id"].as_str()?.to_owned();
    let code = code_for(&t.client, &t.fake, e164).await?;
    let checked: Value = t
        .client
        .get(format!("{}/verify/{id}", t.fake))
        .query(&[("token", code.as_str())])
        .header("Authorization", MB_KEY)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(checked["status"] == "verified")
}

async fn twilio(t: &Target, e164: &str) -> Option<bool> {
    let auth = (
        "AC00000000000000000000000000000000",
        Some("test_fake_twilio_token"),
    );
    let created: Value = t
        .client
        .post(format!("{}/v2/Services/{TW_SERVICE}/Verifications", t.fake))
        .basic_auth(auth.0, auth.1)
        .form(&[("To", e164), ("Channel", "sms")])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let sid = created["sid"].as_str()?.to_owned();
    let code = code_for(&t.client, &t.fake, e164).await?;
    let checked: Value = t
        .client
        .post(format!(
            "{}/v2/Services/{TW_SERVICE}/VerificationCheck",
            t.fake
        ))
        .basic_auth(auth.0, auth.1)
        .form(&[("VerificationSid", sid.as_str()), ("Code", code.as_str())])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(checked["status"] == "approved")
}
