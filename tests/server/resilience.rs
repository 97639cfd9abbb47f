//! Rows 9 and 33–35 of the matrix in docs/security.md: slow clients, a slow or failing
//! provider, and shutdown with requests in flight.

use std::time::{Duration, Instant};

use crate::support::{TestApp, Upstream, spawn_app, spawn_with};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Lifts the per-IP and per-prefix limits: these tests send many codes from one
/// address to one range on purpose.
const MANY_SENDS: [(&str, &str); 2] = [
    ("VERIFY_LIMIT_IP_PER_HOUR", "100000"),
    ("VERIFY_LIMIT_PREFIX_PER_HOUR", "100000"),
];

fn number(i: usize) -> String {
    format!("+44 7400 {:06}", 100_000 + i)
}

/// Reads until the server closes the connection (or 10 s pass); returns what came.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Opens a connection and sends the head of a form post whose 40-byte body is to follow.
async fn start_slow_post(app: &TestApp) -> TcpStream {
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /api/verify/start HTTP/1.1\r\nHost: {}\r\nSec-Fetch-Site: same-origin\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n",
            app.addr
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    slow
}

const SLOW_BODY: &[u8] = b"phone=%2B447400123456&channel=sms";

#[tokio::test]
async fn a_body_sent_one_byte_at_a_time_gets_408() {
    let app = spawn_app(&[("BODY_READ_TIMEOUT_SECS", "1")]).await;
    let mut slow = start_slow_post(&app).await;
    for byte in SLOW_BODY {
        if slow.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let answer = read_to_close(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // The slow request never reached the flow: nothing was sent to it.
    assert!(app.outbox().await.is_empty());
}

/// Not a timing test: the other visitor's whole flow happens while the slow body is
/// still being read (its deadline is a minute away), which a server that read bodies
/// one at a time could not do.
#[tokio::test]
async fn others_are_served_while_a_body_dribbles() {
    let app = spawn_app(&[("BODY_READ_TIMEOUT_SECS", "60")]).await;
    let mut slow = start_slow_post(&app).await;
    slow.write_all(&SLOW_BODY[..5]).await.unwrap();

    let browser = app.browser();
    let answer = browser
        .call("start", &[("phone", "+44 7400 654321"), ("channel", "sms")])
        .await;
    assert_eq!(answer.status, 200);
    let code = app.latest_code().await;
    let answer = browser.call("check", &[("code", &code)]).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let mut unanswered = [0u8; 1];
    assert!(
        matches!(slow.try_read(&mut unanswered), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the slow request is still being read, unanswered"
    );
    assert_eq!(
        app.outbox().await.len(),
        1,
        "only the other visitor got a code"
    );
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let app = spawn_app(&[("HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The bound is generous, a close that is due, not a measure of speed; the
    // timer must not fire early, which no machine's speed excuses.
    assert!(closed_within(&mut slow, Duration::from_secs(10)).await);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed after {elapsed:?}"
    );
}

/// Whether the server closes `stream` (end of file, or a reset) within `wait`, which
/// is a generous bound for a close that is due, never a measure of speed.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut byte)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = spawn_app(&[("HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    assert!(closed_within(&mut silent, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn cleartext_http2_is_not_spoken() {
    let app = spawn_app(&[]).await;
    let mut h2c = TcpStream::connect(app.addr).await.unwrap();
    h2c.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut h2c).await;
    // An HTTP/2 server would answer with a SETTINGS frame (type 4 in the 4th byte).
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_as_they_arrive() {
    let app = spawn_app(&[
        ("MAX_CONNECTIONS", "16"),
        ("HEADER_READ_TIMEOUT_SECS", "60"),
    ])
    .await;
    let mut silent = Vec::new();
    for _ in 0..100 {
        silent.push(TcpStream::connect(app.addr).await.unwrap());
    }
    let closed = futures::future::join_all(
        silent
            .iter_mut()
            .map(|stream| closed_within(stream, Duration::from_secs(5))),
    )
    .await;
    let held: Vec<usize> = (0..100).filter(|&i| !closed[i]).collect();
    assert_eq!(held.len(), 16, "the server holds exactly its cap");
    // A freed slot serves the next visitor.
    silent.truncate(0);
    assert!(app.browser().page().await.contains("<main"));
}

both!(
    excess_callers_get_a_fast_503_while_the_provider_is_slow,
    a_failing_provider_is_left_alone_then_probed,
    refusals_anyone_can_provoke_never_open_the_breaker,
    shutdown_lets_requests_in_flight_finish,
);

async fn excess_callers_get_a_fast_503_while_the_provider_is_slow(upstream: Upstream) {
    let mut vars = MANY_SENDS.to_vec();
    vars.push(("UPSTREAM_MAX_IN_FLIGHT", "4"));
    let app = spawn_with(upstream, &vars).await;
    app.knobs(json!({"latency_ms": 2000})).await;
    // Each answer is stamped with its place in the order of arrival.
    let arrived = std::sync::atomic::AtomicUsize::new(0);
    let calls = (0..20).map(|i| {
        let browser = app.browser();
        let arrived = &arrived;
        async move {
            let answer = browser
                .call("start", &[("phone", &number(i)), ("channel", "sms")])
                .await;
            (
                answer,
                arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            )
        }
    });
    let answers = futures::future::join_all(calls).await;
    let sent: Vec<_> = answers.iter().filter(|(a, _)| a.status == 200).collect();
    let shed: Vec<_> = answers.iter().filter(|(a, _)| a.status == 503).collect();
    assert_eq!((sent.len(), shed.len()), (4, 16));
    for (answer, place) in &shed {
        assert_eq!(answer.body, json!({"ServiceBusy": {"retry_after": 5}}));
        assert_eq!(answer.headers["retry-after"], "5");
        // Not queued behind the slow provider: refused before any send came back.
        assert!(
            *place < 16,
            "a refusal waited for a send (arrived {place}th)"
        );
    }
    assert_eq!(
        app.upstream_requests().await,
        4,
        "the refused never reached the provider"
    );
}

async fn a_failing_provider_is_left_alone_then_probed(upstream: Upstream) {
    let mut vars = MANY_SENDS.to_vec();
    vars.push(("UPSTREAM_BREAKER_FAILURES", "3"));
    vars.push(("UPSTREAM_BREAKER_COOLDOWN_SECS", "30"));
    let app = spawn_with(upstream, &vars).await;
    app.knobs(json!({"fault": "server_error"})).await;
    for i in 0..3 {
        let answer = app
            .browser()
            .call("start", &[("phone", &number(i)), ("channel", "sms")])
            .await;
        assert_eq!(answer.status, 502);
    }
    assert_eq!(app.upstream_requests().await, 3);
    let answer = app
        .browser()
        .call("start", &[("phone", &number(3)), ("channel", "sms")])
        .await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body, json!({"ServiceBusy": {"retry_after": 30}}));
    assert_eq!(answer.headers["retry-after"], "30");
    assert_eq!(
        app.upstream_requests().await,
        3,
        "the open breaker calls nobody"
    );

    // The provider recovers; after the cooldown one request probes and closes it.
    app.knobs(json!({"fault": "none"})).await;
    app.advance_all(30).await;
    for i in 4..6 {
        let answer = app
            .browser()
            .call("start", &[("phone", &number(i)), ("channel", "sms")])
            .await;
        assert_eq!(answer.status, 200);
    }
    assert_eq!(app.upstream_requests().await, 5);
}

/// A landline asked for a text is refused by the provider with a 4xx; an attacker can
/// send such requests at will, so they must not count as an outage.
async fn refusals_anyone_can_provoke_never_open_the_breaker(upstream: Upstream) {
    let mut vars = MANY_SENDS.to_vec();
    vars.push(("UPSTREAM_BREAKER_FAILURES", "3"));
    let app = spawn_with(upstream, &vars).await;
    app.knobs(json!({"landline_prefixes": ["+1201555"]})).await;
    // Twilio names the reason (60205); MessageBird's code says only "bad request".
    let refusal = match upstream {
        Upstream::Twilio => json!("LandlineNeedsCall"),
        _ => json!("NumberUnreachable"),
    };
    for i in 0..6 {
        let landline = format!("+1 201 555 {:04}", 100 + i);
        let answer = app
            .browser()
            .call("start", &[("phone", &landline), ("channel", "sms")])
            .await;
        assert_eq!((answer.status, &answer.body), (422, &refusal));
    }
    assert_eq!(
        app.upstream_requests().await,
        6,
        "each refusal was asked for"
    );
    let answer = app
        .browser()
        .call("start", &[("phone", &number(0)), ("channel", "sms")])
        .await;
    assert_eq!(
        answer.status, 200,
        "the breaker is still closed: {:?}",
        answer.body
    );
}

async fn shutdown_lets_requests_in_flight_finish(upstream: Upstream) {
    let mut vars = MANY_SENDS.to_vec();
    vars.push(("SHUTDOWN_DRAIN_SECS", "60"));
    let app = spawn_with(upstream, &vars).await;
    app.knobs(json!({"latency_ms": 1000})).await;
    let addr = app.addr;
    let fake = app.fake.clone().unwrap();
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let browser = app.browser();
            tokio::spawn(async move {
                browser
                    .call("start", &[("phone", &number(i)), ("channel", "sms")])
                    .await
                    .status
            })
        })
        .collect();
    // Wait until all 50 are with the provider, then ask the app to stop.
    crate::support::wait_for_upstream_requests(&fake, 50).await;
    let started = Instant::now();
    app.shut_down().await.unwrap();
    let drained = started.elapsed();
    for call in calls {
        assert_eq!(call.await.unwrap(), 200, "a request in flight was cut off");
    }
    // Not a speed target: ending before the 60 s drain limit shows that shutdown
    // waited for the requests, not for the limit.
    assert!(drained < Duration::from_secs(60), "drain took {drained:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections after shutdown"
    );
}
