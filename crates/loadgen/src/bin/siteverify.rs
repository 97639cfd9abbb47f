//! Siteverify throughput: makes `tokens` result tokens through embed sessions on the
//! local provider (frame → start → code from the dev outbox → check), then has
//! `workers` host backends redeem each once, and then check as many tampered tokens
//! (a signature that fails). Prints redemptions per second with latencies.
//!
//! Run by `scripts/bench.sh`, or by hand against a server on loopback with the
//! limits lifted and `VERIFY_RESEND_COOLDOWN_SECS=0`:
//!   cargo run --release -p loadgen --bin siteverify -- http://127.0.0.1:3200 2000 16
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let base = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:3200".to_owned());
    let count: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(2000);
    let workers: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(16);

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let made = Instant::now();
    let tokens = Arc::new(
        in_parallel(count, workers, {
            let (client, base) = (client.clone(), base.clone());
            move |i| {
                let (client, base) = (client.clone(), base.clone());
                async move { make_token(&client, &base, i).await }
            }
        })
        .await,
    );
    let made = made.elapsed().as_secs_f64();
    println!(
        "tokens made through embed sessions: {count} in {made:.1} s ({:.0} verifications/s)",
        count as f64 / made
    );

    for (label, tamper) in [
        ("valid, redeemed once", false),
        ("tampered signature", true),
    ] {
        let started = Instant::now();
        let latencies = in_parallel(count, workers, {
            let (client, base, tokens) = (client.clone(), base.clone(), tokens.clone());
            move |i| {
                let (client, base, tokens) = (client.clone(), base.clone(), tokens.clone());
                async move {
                    let mut token = tokens[i].clone();
                    if tamper {
                        // Change one character inside the signature: the token still
                        // parses, and the ECDSA check is what refuses it.
                        let at = token.len() - 10;
                        let swapped = if &token[at..=at] == "A" { "B" } else { "A" };
                        token.replace_range(at..=at, swapped);
                    }
                    let begun = Instant::now();
                    let answer: Value = client
                        .post(format!("{base}/api/v1/siteverify"))
                        .form(&[("secret", "sk_test_local"), ("response", token.as_str())])
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    assert_eq!(answer["success"], !tamper, "{answer}");
                    begun.elapsed()
                }
            }
        })
        .await;
        report(label, latencies, started.elapsed().as_secs_f64());
    }
}

fn report(label: &str, mut latencies: Vec<Duration>, elapsed: f64) {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "siteverify, {label}: {} in {elapsed:.2} s  throughput: {:.0}/s  p50: {:.2} ms  p99: {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

/// Runs `job(0..count)` on `workers` tasks; results in index order.
async fn in_parallel<T, F, Fut>(count: usize, workers: usize, job: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = T> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (next, job) = (next.clone(), job.clone());
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return done;
                    }
                    done.push((i, job(i).await));
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, value)| value).collect()
}

async fn make_token(client: &reqwest::Client, base: &str, i: usize) -> String {
    let e164 = format!("+447400{i:06}");
    let frame = client
        .get(format!(
            "{base}/embed?sitekey=pk_test_local&origin=http://localhost:3100"
        ))
        .send()
        .await
        .unwrap();
    let path = frame.headers()["location"].to_str().unwrap().to_owned();
    let call = |endpoint: &str, form: Vec<(&str, String)>| {
        client
            .post(format!("{base}{path}/api/verify/{endpoint}"))
            // As the widget's own page: the API refuses requests that do not say so.
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .form(&form)
            .send()
    };
    let sent: Value = call(
        "start",
        vec![("phone", e164.clone()), ("channel", "sms".into())],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(sent.get("EnterCode").is_some(), "start failed: {sent}");
    let code = loadgen::outbox_code(client, base, &e164).await;
    let checked: Value = call("check", vec![("code", code)])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    checked["Verified"]["token"]
        .as_str()
        .expect("a token")
        .to_owned()
}
