//! Load against a running app: the numbers of the reliability goals in docs/security.md.
//!
//!   cargo run --release -p loadgen --bin load -- mixed <app-url> <fake-url> <requests/s> <seconds>
//!   cargo run --release -p loadgen --bin load -- reject <app-url> <workers> <seconds>
//!
//! `mixed` is open loop: requests go out on a fixed schedule whatever the answers,
//! alternating sends and checks (a check takes a visitor whose code has arrived; with
//! none ready the slot sends instead), and each latency is measured from its scheduled
//! time, so queueing in the app cannot hide. Every answer other than "code sent" or
//! "verified" is counted as unexpected.
//!
//! `reject` is closed loop: workers send from one address to one number until the
//! app's limits refuse them, and report how fast the refusals (429) come back.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, COOKIE, SET_COOKIE};
use serde_json::Value;
use tokio::sync::mpsc;

use loadgen::code_for;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let number = |i: usize, default: u64| arg(i).parse().unwrap_or(default);
    match arg(0).as_str() {
        "mixed" => mixed(&arg(1), &arg(2), number(3, 300), number(4, 60)).await,
        "reject" => reject(&arg(1), number(2, 32), number(3, 10)).await,
        other => panic!("unknown mode {other:?}: mixed or reject"),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A visitor whose code has arrived: the session cookie and the code.
struct Ready {
    cookie: String,
    code: String,
}

/// What one request came to: its kind, status (0 for no answer), latency, and
/// whether it was what a working app answers.
type Outcome = (&'static str, u16, Duration, bool);

async fn mixed(app: &str, fake: &str, rate: u64, seconds: u64) {
    let client = client();
    let ready: Arc<Mutex<VecDeque<Ready>>> = Arc::default();
    let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
    // Each run gets its own block of numbers, so it never meets an earlier verification.
    let base = u64::from(std::process::id()) % 90 * 10_000;
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let begun = Instant::now();
    for i in 0..rate * seconds {
        let scheduled = begun + period * u32::try_from(i).unwrap();
        tokio::time::sleep_until(scheduled.into()).await;
        let visitor = if i % 2 == 1 {
            ready.lock().unwrap().pop_front()
        } else {
            None
        };
        let (client, tx, ready) = (client.clone(), tx.clone(), ready.clone());
        let (app, fake) = (app.to_owned(), fake.to_owned());
        let e164 = format!("+447400{:06}", base + i);
        tokio::spawn(async move {
            let outcome = match visitor {
                Some(visitor) => check(&client, &app, visitor, scheduled).await,
                None => {
                    let (outcome, visitor) = start(&client, &app, &fake, &e164, scheduled).await;
                    if let Some(visitor) = visitor {
                        ready.lock().unwrap().push_back(visitor);
                    }
                    outcome
                }
            };
            let _ = tx.send(outcome);
        });
    }
    drop(tx);
    let mut outcomes = Vec::new();
    while let Some(outcome) = rx.recv().await {
        outcomes.push(outcome);
    }
    let elapsed = begun.elapsed().as_secs_f64();
    report(
        &format!("mixed {rate}/s for {seconds}s"),
        &outcomes,
        elapsed,
    );
}

async fn start(
    client: &reqwest::Client,
    app: &str,
    fake: &str,
    e164: &str,
    scheduled: Instant,
) -> (Outcome, Option<Ready>) {
    let response = client
        .post(format!("{app}/api/verify/start"))
        // As the widget's own page: the API refuses requests that do not say so.
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(&[("phone", e164), ("channel", "sms")])
        .send()
        .await;
    let latency = scheduled.elapsed();
    let Ok(response) = response else {
        return (("start", 0, latency, false), None);
    };
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let sent = status == 200;
    let outcome = ("start", status, latency, sent);
    let (Some(cookie), true) = (cookie, sent) else {
        return (outcome, None);
    };
    let code = code_for(client, fake, e164).await;
    (outcome, code.map(|code| Ready { cookie, code }))
}

async fn check(client: &reqwest::Client, app: &str, visitor: Ready, scheduled: Instant) -> Outcome {
    let response = client
        .post(format!("{app}/api/verify/check"))
        // As the widget's own page: the API refuses requests that do not say so.
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .header(COOKIE, visitor.cookie)
        .form(&[("code", visitor.code.as_str())])
        .send()
        .await;
    let latency = scheduled.elapsed();
    let Ok(response) = response else {
        return ("check", 0, latency, false);
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    ("check", status, latency, body.get("Verified").is_some())
}

async fn reject(app: &str, workers: u64, seconds: u64) {
    let client = client();
    // Use up the limits first, so that every measured request is a refusal.
    for _ in 0..20 {
        send_one(&client, app).await;
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let begun = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (client, app) = (client.clone(), app.to_owned());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let status = send_one(&client, &app).await;
                    outcomes.push(("start", status, sent.elapsed(), status == 429));
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.unwrap());
    }
    report(
        &format!("limit refusals, {workers} workers for {seconds}s"),
        &outcomes,
        begun.elapsed().as_secs_f64(),
    );
}

async fn send_one(client: &reqwest::Client, app: &str) -> u16 {
    client
        .post(format!("{app}/api/verify/start"))
        // As the widget's own page: the API refuses requests that do not say so.
        .header("sec-fetch-site", "same-origin")
        .header(ACCEPT, "application/json")
        .form(&[("phone", "+447400999999"), ("channel", "sms")])
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

fn report(title: &str, outcomes: &[Outcome], elapsed: f64) {
    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.2).collect();
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let mut statuses: BTreeMap<(&str, u16), usize> = BTreeMap::new();
    for (kind, status, _, _) in outcomes {
        *statuses.entry((kind, *status)).or_default() += 1;
    }
    let unexpected = outcomes.iter().filter(|o| !o.3).count();
    println!(
        "{title}: {} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms, unexpected {unexpected}",
        outcomes.len(),
        outcomes.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(0.999),
        pct(1.0),
    );
    let statuses: Vec<String> = statuses
        .iter()
        .map(|((kind, status), n)| format!("{kind} {status}: {n}"))
        .collect();
    println!("  statuses: {}", statuses.join(", "));
}
