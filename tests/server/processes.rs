//! The real `phone-verify` binary, as deployed: two processes sharing one Redis (a
//! limit reached through one holds on the other), and SIGTERM with requests in flight
//! (all of them finish, then the process exits cleanly).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as OtlpValue;
use prost::Message;

use crate::support::{Browser, RedisServer, provider_vars, spawn_fake};
use serde_json::{Value, json};

/// A `phone-verify` process on a free loopback port; killed if the test ends first.
struct AppProcess {
    child: Child,
    url: String,
}

impl AppProcess {
    async fn start(vars: &[(String, String)]) -> Self {
        Self::start_logging_to(vars, Stdio::inherit()).await
    }

    /// As [`Self::start`], with the process's log (stderr) going to `log`.
    async fn start_logging_to(vars: &[(String, String)], log: Stdio) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_phone-verify"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", crate::support::fresh_data_dir())
            .env("RUST_LOG", "error")
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the phone-verify binary runs");
        let process = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if reqwest::get(format!("{}/", process.url)).await.is_ok() {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("phone-verify did not start on port {port}");
    }

    fn browser(&self) -> Browser {
        Browser {
            app: self.url.clone(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_limit_reached_through_one_process_holds_on_the_other() {
    let redis = RedisServer::start().await;
    let shared = vars(&[
        ("REDIS_URL", &redis.url),
        ("VERIFY_LIMIT_NUMBER_PER_HOUR", "2"),
    ]);
    let (one, two) = tokio::join!(AppProcess::start(&shared), AppProcess::start(&shared));
    let form = [("phone", "+44 7400 123456"), ("channel", "sms")];
    assert_eq!(one.browser().call("start", &form).await.status, 200);
    assert_eq!(two.browser().call("start", &form).await.status, 200);
    let third = one.browser().call("start", &form).await;
    assert_eq!(third.status, 429, "{}", third.body);
    let fourth = two.browser().call("start", &form).await;
    assert_eq!(fourth.status, 429, "{}", fourth.body);
    assert!(fourth.headers.contains_key("retry-after"));

    // A session started on one process is checked on the other.
    let browser = one.browser();
    let other = Browser {
        app: two.url.clone(),
        client: browser.client.clone(),
    };
    let form = [("phone", "+44 7400 654321"), ("channel", "sms")];
    assert_eq!(browser.call("start", &form).await.status, 200);
    let state = other.call("state", &[]).await;
    assert_eq!(state.body["step"]["EnterCode"]["phone"], "+44 7400 654321");
}

#[tokio::test]
async fn sigterm_lets_every_request_in_flight_finish_then_exits() {
    let fake = spawn_fake().await;
    reqwest::Client::new()
        .post(format!("{fake}/_fake/knobs"))
        .json(&json!({"latency_ms": 1000}))
        .send()
        .await
        .unwrap();
    let mut settings = provider_vars(crate::support::Upstream::Twilio, &fake);
    settings.extend(vars(&[
        ("VERIFY_LIMIT_IP_PER_HOUR", "1000"),
        ("VERIFY_LIMIT_PREFIX_PER_HOUR", "1000"),
        ("SHUTDOWN_DRAIN_SECS", "60"),
    ]));
    let mut app = AppProcess::start(&settings).await;
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let browser = app.browser();
            tokio::spawn(async move {
                let phone = format!("+44 7400 {:06}", 200_000 + i);
                browser
                    .call("start", &[("phone", &phone), ("channel", "sms")])
                    .await
                    .status
            })
        })
        .collect();
    // All 50 are with the (slow) provider before the signal.
    crate::support::wait_for_upstream_requests(&fake, 50).await;
    let signalled = Instant::now();
    app.terminate();
    for call in calls {
        assert_eq!(call.await.unwrap(), 200, "a request in flight was cut off");
    }
    let status = loop {
        if let Some(status) = app.child.try_wait().unwrap() {
            break status;
        }
        // Not a speed target: exiting before the drain limit shows the process
        // stopped because its requests were done, not because the limit cut them.
        assert!(
            signalled.elapsed() < DRAIN_LIMIT,
            "still running when the drain limit ran out"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
    assert!(reqwest::get(format!("{}/", app.url)).await.is_err());
}

/// `SHUTDOWN_DRAIN_SECS` in the drain test.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_binary_warns_loudly_while_the_dev_outbox_is_served_and_refuses_it_on_a_public_address() {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = |addr: String, extra: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_phone-verify"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("LEPTOS_SITE_ADDR", addr)
            .env("DATA_DIR", crate::support::fresh_data_dir())
            .env("RUST_LOG", "warn")
            .envs(extra.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the phone-verify binary runs")
    };
    let mut child = start(format!("127.0.0.1:{port}"), &[]);
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    // A hang guard, not a speed bound: the warning comes as the server starts.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut warned = false;
    while let Ok(line) = seen.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if line.contains("DEVELOPMENT MODE") && line.contains("/dev/outbox") {
            warned = true;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(warned, "the start-up log says the outbox is open to anyone");

    let refused = start(format!("0.0.0.0:{port}"), &[])
        .wait_with_output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("VERIFY_PROVIDER") && message.contains("loopback"),
        "{message}"
    );
}

#[test]
fn the_binary_checks_its_configuration_and_says_its_version() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_phone-verify"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .env("DATA_DIR", crate::support::fresh_data_dir())
            .envs(env.iter().copied())
            .output()
            .expect("the phone-verify binary runs")
    };
    let version = run(&["--version"], &[]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("phone-verify {}", env!("CARGO_PKG_VERSION"))
    );

    let secrets = [
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "tok-never-printed-7f3a"),
        (
            "TWILIO_VERIFY_SERVICE_SID",
            "VA0123456789abcdef0123456789abcdef",
        ),
        ("REDIS_URL", "redis://:pw-never-printed-91c2@127.0.0.1:1"),
    ];
    let checked = run(&["--check-config"], &secrets);
    let printed = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{printed}");
    assert!(
        printed.contains("configuration OK") && printed.contains("Twilio"),
        "{printed}"
    );
    for secret in ["tok-never-printed-7f3a", "pw-never-printed-91c2"] {
        assert!(!printed.contains(secret), "{secret} printed");
    }
    let refused = run(&["--check-config"], &[("VERIFY_CODE_LENGTH", "4")]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("VERIFY_CODE_LENGTH"));
    assert_eq!(run(&["--frobnicate"], &[]).status.code(), Some(2));
}

/// A stand-in OpenTelemetry collector: keeps every OTLP/HTTP trace export it gets.
async fn spawn_collector() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let exports: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let kept = exports.clone();
    let router = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, exports)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_binary_logs_json_serves_metrics_and_exports_its_spans() {
    let (collector, exports) = spawn_collector().await;
    let metrics = format!("127.0.0.1:{}", free_port());
    let log_path = crate::support::fresh_data_dir().with_extension("log");
    std::fs::create_dir_all(log_path.parent().unwrap()).unwrap();
    let log = std::fs::File::create(&log_path).unwrap();
    let app = AppProcess::start_logging_to(
        &vars(&[
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "info"),
            ("METRICS_ADDR", &metrics),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector),
        ]),
        Stdio::from(log),
    )
    .await;
    let browser = app.browser();
    let answer = browser.call("start", &[("phone", "+44 7400 123456")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let request_id = answer.headers["x-request-id"].to_str().unwrap().to_owned();

    let scrape = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        scrape.contains(r#"phone_verify_sends_total{provider="local",channel="sms",country="GB",outcome="sent"} 1"#),
        "{scrape}"
    );

    app.terminate();
    let mut child = app;
    let exited = tokio::task::spawn_blocking(move || child.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exited.success(), "{exited}");

    // Every line a JSON object; the request's access line carries the id it returned.
    let logged = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = logged
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let access = lines
        .iter()
        .find(|line| {
            line["target"] == "phone_verify::access" && line["request_id"] == request_id.as_str()
        })
        .unwrap_or_else(|| panic!("no access line for {request_id}:\n{logged}"));
    assert_eq!(access["route"], "/api/verify/start");
    assert_eq!(access["status"], 200);
    assert!(!logged.contains("7400123456") && !logged.contains("7400 123456"));

    // The spans reached the collector by the time the process exited.
    let mut spans = Vec::new();
    let mut services = Vec::new();
    for export in exports.lock().unwrap().iter() {
        let request = ExportTraceServiceRequest::decode(export.as_ref()).expect("OTLP protobuf");
        for resource in request.resource_spans {
            for attribute in resource.resource.iter().flat_map(|r| r.attributes.iter()) {
                if attribute.key == "service.name" {
                    services.push(format!("{:?}", attribute.value));
                }
            }
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
    }
    assert!(
        services.iter().all(|s| s.contains("phone-verify")) && !services.is_empty(),
        "{services:?}"
    );
    let attribute = |span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str| {
        span.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref()?.value.clone())
            .map(|value| match value {
                OtlpValue::StringValue(text) => text,
                other => format!("{other:?}"),
            })
    };
    let named = |name: &str| {
        spans
            .iter()
            .filter(|span| span.name == name)
            .collect::<Vec<_>>()
    };
    let step = named("verification")
        .into_iter()
        .find(|span| attribute(span, "step").as_deref() == Some("start"))
        .expect("the start use case's span");
    assert_eq!(attribute(step, "provider").as_deref(), Some("local"));
    let request = named("request")
        .into_iter()
        .find(|span| attribute(span, "request_id").as_deref() == Some(request_id.as_str()))
        .expect("the request's span");
    assert_eq!(step.trace_id, request.trace_id, "one trace per request");
    let parent = |span: &opentelemetry_proto::tonic::trace::v1::Span| {
        spans.iter().find(|p| p.span_id == span.parent_span_id)
    };
    let mut ancestor = parent(step);
    while let Some(span) = ancestor.filter(|span| span.span_id != request.span_id) {
        ancestor = parent(span);
    }
    assert!(
        ancestor.is_some(),
        "the use case runs inside the request's span"
    );
    let call = named("provider")
        .into_iter()
        .find(|span| span.parent_span_id == step.span_id)
        .expect("the provider call's span, inside the use case");
    assert_eq!(attribute(call, "operation").as_deref(), Some("start"));
}
