//! Load generator: full start+check round trips against a running server on the
//! local provider. Each worker is one browser session with its own number; a round
//! trip is `start` → read the code from `/dev/outbox.json` → `check` (verified).
//!
//! Run by `scripts/bench.sh`, or by hand against a server started with
//! `VERIFY_RESEND_COOLDOWN_SECS=0`:
//!   cargo run --release -p loadgen --bin flow -- http://127.0.0.1:3200 16 10
use std::time::{Duration, Instant};

use serde_json::Value;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
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
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .cookie_store(true)
                    .build()
                    .unwrap();
                let e164 = format!("+447400{worker:06}");
                round_trip(&client, &base, &e164).await;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    round_trip(&client, &base, &e164).await;
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
        "round trips: {}  workers: {workers}  throughput: {:.0}/s  p50: {:.2} ms  p99: {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

async fn round_trip(client: &reqwest::Client, base: &str, e164: &str) {
    let sent = post(
        client,
        base,
        "start",
        &[("phone", e164), ("channel", "sms")],
    )
    .await;
    assert!(sent.get("EnterCode").is_some(), "start failed: {sent}");
    let code = loadgen::outbox_code(client, base, e164).await;
    let checked = post(client, base, "check", &[("code", &code)]).await;
    assert!(checked.get("Verified").is_some(), "check failed: {checked}");
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
