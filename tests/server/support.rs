//! Starts the real app on 127.0.0.1:0 with a hand-driven clock, and talks to it over
//! HTTP like a browser with cookies would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fake_verify as fake;
use leptos::config::get_configuration;
use phone_verify::server::clock::ManualClock;
use phone_verify::server::{AppState, Settings, serve, serve_metrics};
use reqwest::header::{ACCEPT, REFERER};
use serde_json::Value;

/// Runs each named `async fn(Upstream)` as two tests, `messagebird::name` and
/// `twilio::name`. The using file must have `Upstream` in scope.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod messagebird { $( #[tokio::test] async fn $name() { super::$name(super::Upstream::MessageBird).await } )* }
        mod twilio { $( #[tokio::test] async fn $name() { super::$name(super::Upstream::Twilio).await } )* }
    };
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The app's metrics listener (`METRICS_ADDR` in production).
    pub metrics: SocketAddr,
    pub clock: Arc<ManualClock>,
    /// The fake upstream's base URL, when the app talks to one.
    pub fake: Option<String>,
    /// The Redis server the app's state lives in, kept alive as long as the app.
    pub redis: Option<Arc<RedisServer>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Sending on it starts a graceful shutdown, as SIGTERM does.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Where the app keeps its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Redis,
}

/// A real `redis-server` on a free loopback port, killed when dropped.
pub struct RedisServer {
    child: std::process::Child,
    pub url: String,
}

impl RedisServer {
    pub async fn start() -> Arc<Self> {
        Self::start_with(&[]).await
    }

    /// As [`Self::start`], with more `redis-server` options.
    ///
    /// The port is free when picked but may be taken before redis-server binds it
    /// (other tests bind ports all the time): so readiness is a PONG from this
    /// child, not any answer on the port, and a child that could not bind is
    /// started again on another port.
    pub async fn start_with(options: &[&str]) -> Arc<Self> {
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = std::process::Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args(options)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server is installed (scripts/setup.sh installs it)");
            let url = format!("redis://127.0.0.1:{port}");
            // Owned from here on, so that it is killed even if it never answers.
            let mut server = Self { child, url };
            for _ in 0..500 {
                if server.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if pong(port).await {
                    return Arc::new(server);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        panic!("redis-server did not start");
    }
}

/// Whether a Redis server answers PING on `port`.
async fn pong(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").await.is_ok()
        && tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut answer))
            .await
            .is_ok_and(|read| read.is_ok())
        && &answer == b"+PONG\r\n"
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which provider the app under test uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    Local,
    MessageBird,
    Twilio,
}

/// Starts the fake MessageBird/Twilio upstream on 127.0.0.1:0.
pub async fn spawn_fake() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, fake::router(fake::Fake::default())).await });
    format!("http://{addr}")
}

/// Waits until the fake upstream at `fake` has received `count` protocol requests
/// (requests in flight there count as soon as they arrive).
pub async fn wait_for_upstream_requests(fake: &str, count: u64) {
    let stats = format!("{fake}/_fake/stats");
    for _ in 0..500 {
        let seen: Value = reqwest::get(&stats).await.unwrap().json().await.unwrap();
        if seen["requests"].as_u64() >= Some(count) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the fake upstream never saw {count} requests");
}

/// The app's settings for talking to the fake at `fake_url` as `upstream`.
pub fn provider_vars(upstream: Upstream, fake_url: &str) -> Vec<(String, String)> {
    let vars: Vec<(&str, &str)> = match upstream {
        Upstream::Local => vec![],
        Upstream::MessageBird => vec![
            ("VERIFY_PROVIDER", "messagebird"),
            ("MESSAGEBIRD_ACCESS_KEY", fake::MESSAGEBIRD_KEY),
            ("MESSAGEBIRD_API_URL", fake_url),
        ],
        Upstream::Twilio => vec![
            ("VERIFY_PROVIDER", "twilio"),
            ("TWILIO_ACCOUNT_SID", fake::TWILIO_ACCOUNT_SID),
            ("TWILIO_AUTH_TOKEN", fake::TWILIO_AUTH_TOKEN),
            ("TWILIO_VERIFY_SERVICE_SID", fake::TWILIO_SERVICE_SID),
            ("TWILIO_VERIFY_API_URL", fake_url),
            // The Messages API of confirmation texts, at the same fake.
            ("TWILIO_API_URL", fake_url),
        ],
    };
    vars.into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Starts the app on `upstream` (and the fake it talks to), with extra settings.
pub async fn spawn_with(upstream: Upstream, extra: &[(&str, &str)]) -> TestApp {
    spawn_on(upstream, Backend::Sqlite, extra).await
}

/// Starts the app on `upstream` with its state in `backend` (a fresh SQLite file or a
/// fresh redis-server).
pub async fn spawn_on(upstream: Upstream, backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let redis = match backend {
        Backend::Sqlite => None,
        Backend::Redis => Some(RedisServer::start().await),
    };
    let redis_url = redis.as_ref().map(|r| r.url.clone()).unwrap_or_default();
    let mut with_redis: Vec<(&str, &str)> = Vec::new();
    if redis.is_some() {
        with_redis.push(("REDIS_URL", &redis_url));
    }
    with_redis.extend_from_slice(extra);
    let mut app = spawn_upstream(upstream, &with_redis).await;
    app.redis = redis;
    app
}

async fn spawn_upstream(upstream: Upstream, extra: &[(&str, &str)]) -> TestApp {
    let fake = match upstream {
        Upstream::Local => None,
        _ => Some(spawn_fake().await),
    };
    let mut vars = provider_vars(upstream, fake.as_deref().unwrap_or(""));
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut app = spawn_app(&vars).await;
    app.fake = fake;
    app
}

/// A browser session: its own cookie jar.
pub struct Browser {
    pub app: String,
    pub client: reqwest::Client,
}

/// An empty directory for one app's state.
pub fn fresh_data_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("phone-verify-tests/{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Writes `sites` as a sites file in a fresh directory; its path, for
/// `VERIFY_SITES_FILE`.
pub fn sites_file(sites: &str) -> String {
    let dir = fresh_data_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sites.toml");
    std::fs::write(&file, sites).unwrap();
    file.display().to_string()
}

pub async fn spawn_app(vars: &[(&str, &str)]) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_app_on(listener, vars).await
}

/// The app with `VERIFY_PUBLIC_URL` its own address, as a host backend that checks
/// the tokens' issuer needs it.
pub async fn spawn_app_at_its_address(vars: &[(&str, &str)]) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut all = vec![("VERIFY_PUBLIC_URL", url.as_str())];
    all.extend_from_slice(vars);
    spawn_app_on(listener, &all).await
}

async fn spawn_app_on(listener: tokio::net::TcpListener, vars: &[(&str, &str)]) -> TestApp {
    // Server logs only when asked for: TEST_LOG=1 cargo test …
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = phone_verify::server::telemetry::init();
    }
    let leptos = get_configuration(Some("Cargo.toml"))
        .expect("Cargo.toml has Leptos settings")
        .leptos_options;
    // Each app gets its own SQLite file unless the test names one (restart tests do).
    let mut all = vec![(
        "DATA_DIR".to_owned(),
        fresh_data_dir().display().to_string(),
    )];
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let vars = all;
    let settings = Settings::from_lookup(leptos, |name| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("test settings are valid");
    let clock = Arc::new(ManualClock::new());
    let state = AppState::new(settings, clock.clone())
        .await
        .expect("the state store opens");
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = metrics_listener.local_addr().unwrap();
    tokio::spawn(serve_metrics(metrics_listener, state.metrics.clone()));
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        metrics,
        clock,
        redis: None,
        server,
        fake: None,
        stop: Some(stop),
    }
}

impl TestApp {
    /// Stops the app abruptly: no shutdown, requests cut. The state store goes with
    /// it and, on SQLite, writes what it held in memory as its last handle drops; a
    /// real crash could lose the last `store::sqlite::WRITE_BEHIND` of it.
    pub async fn kill(self) -> Option<Arc<RedisServer>> {
        self.server.abort();
        let _ = self.server.await;
        self.redis
    }

    /// Asks the app to shut down as SIGTERM does, without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Asks the app to shut down as SIGTERM does, and waits until it has.
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        self.begin_shutdown();
        (&mut self.server)
            .await
            .expect("the server task does not panic")
    }

    /// The same browser (cookie jar) pointed at another app, as behind a load balancer.
    pub fn browser_for(&self, other: &Browser) -> Browser {
        Browser {
            app: self.url(""),
            client: other.client.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn browser(&self) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Browser {
            app: self.url(""),
            client,
        }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// A Prometheus scrape of the app, read with a Prometheus text parser.
    pub async fn scrape(&self) -> Scrape {
        let response = reqwest::get(format!("http://{}/metrics", self.metrics))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        let text = response.text().await.unwrap();
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("the scrape parses");
        Scrape { text, scrape }
    }

    pub async fn outbox(&self) -> Vec<Value> {
        let body: Value = reqwest::get(self.url("/dev/outbox.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body.as_array().expect("the outbox is a JSON array").clone()
    }

    /// The keys in the app's Redis matching `pattern` (`KEYS`), with their values
    /// (empty for a value that is not a string).
    pub async fn redis_values(&self, pattern: &str) -> Vec<(String, String)> {
        let redis = self.redis.as_ref().expect("an app on Redis");
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut connection)
            .await
            .unwrap();
        keys.sort();
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            let value: Option<String> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap_or_default();
            values.push((key, value.unwrap_or_default()));
        }
        values
    }

    /// The code in the newest message, read as a person reads it.
    pub async fn latest_code(&self) -> String {
        if self.fake.is_some() {
            let sent = self.fake_get("/_fake/messages").await;
            return sent[0]["code"]
                .as_str()
                .expect("the fake sent a code")
                .to_owned();
        }
        let outbox = self.outbox().await;
        let text = outbox.first().expect("a message was delivered")["text"]
            .as_str()
            .unwrap()
            .to_owned();
        text.chars().filter(char::is_ascii_digit).take(6).collect()
    }

    /// Messages sent, newest first, by whichever provider is in use: `(to, channel)`.
    pub async fn sent(&self) -> Vec<(String, String)> {
        let list = match &self.fake {
            Some(_) => self.fake_get("/_fake/messages").await,
            None => Value::Array(self.outbox().await),
        };
        list.as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["to"].as_str().unwrap().to_owned(),
                    m["channel"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    pub async fn fake_get(&self, path: &str) -> Value {
        let base = self.fake.as_ref().expect("a fake upstream");
        reqwest::get(format!("{base}{path}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Sets the fake's knobs (JSON; omitted fields take their defaults).
    pub async fn knobs(&self, knobs: Value) {
        let base = self.fake.as_ref().expect("a fake upstream");
        let response = reqwest::Client::new()
            .post(format!("{base}/_fake/knobs"))
            .json(&knobs)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "knobs refused: {knobs}");
    }

    /// Protocol requests the fake has received (0 for the local provider).
    pub async fn upstream_requests(&self) -> u64 {
        match &self.fake {
            Some(_) => self.fake_get("/_fake/stats").await["requests"]
                .as_u64()
                .unwrap(),
            None => 0,
        }
    }

    /// Moves the fake upstream's clock only (the provider runs ahead of the app).
    pub async fn advance_upstream(&self, secs: u64) {
        if let Some(base) = &self.fake {
            reqwest::Client::new()
                .post(format!("{base}/_fake/advance?secs={secs}"))
                .send()
                .await
                .unwrap();
        }
    }

    /// Moves the app's clock and the fake's together.
    pub async fn advance_all(&self, secs: u64) {
        self.advance(secs);
        self.advance_upstream(secs).await;
    }
}

/// What a server function answered.
/// One scrape: the text as served, and as a Prometheus parser reads it.
pub struct Scrape {
    pub text: String,
    pub scrape: prometheus_parse::Scrape,
}

impl Scrape {
    /// The sample `name` whose labels include `labels` (0 when there is none: a
    /// counter nothing has touched yet); a histogram's `_count` is its count.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<f64> = self
            .scrape
            .samples
            .iter()
            .filter(|sample| sample.metric == name)
            .filter(|sample| labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v)))
            .map(|sample| match &sample.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(_) | prometheus_parse::Value::Summary(_) => {
                    panic!("{name} is a histogram: ask for its _count")
                }
            })
            .collect();
        assert!(
            matching.len() <= 1,
            "{name} {labels:?} matches {} samples",
            matching.len()
        );
        matching.first().copied().unwrap_or(0.0)
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Browser {
    /// Calls a server function as the hydrated widget does (JSON answer).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .client
            .post(format!("{}/api/verify/{endpoint}", self.app))
            .header("sec-fetch-site", "same-origin")
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Posts a form as a browser without JavaScript does; returns status and Location.
    pub async fn post_form(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Option<String>) {
        let response = self
            .client
            .post(format!("{}/api/verify/{endpoint}", self.app))
            .header("sec-fetch-site", "same-origin")
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .header(REFERER, format!("{}/", self.app))
            .form(form)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), location)
    }

    /// The server-rendered page.
    pub async fn page(&self) -> String {
        let response = self
            .client
            .get(format!("{}/", self.app))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
}

/// Opens a frame with `query` (what the loader puts after `/embed?`) and verifies
/// `number` by `channel` through the hydrated widget's calls (in a session the host's
/// backend created, `None`: its own number); the token the host's page receives.
pub async fn token_from_frame(
    app: &TestApp,
    query: &str,
    number: Option<&str>,
    channel: &str,
) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = client
        .get(app.url(&format!("/embed?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        opened.status(),
        303,
        "{query}: {}",
        opened.text().await.unwrap()
    );
    // The frame's address, without the language the redirect may add.
    let location = opened.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap();
    let frame = location.split('?').next().unwrap().to_owned();
    let call = |endpoint: &str, form: Vec<(&str, String)>| {
        client
            .post(app.url(&format!("{frame}/api/verify/{endpoint}")))
            .header("sec-fetch-site", "same-origin")
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
    };
    let mut start = vec![("channel", channel.to_owned())];
    if let Some(number) = number {
        start.push(("phone", number.to_owned()));
    }
    let started = call("start", start).await.unwrap();
    assert_eq!(started.status(), 200, "{}", started.text().await.unwrap());
    let code = app.latest_code().await;
    let checked: Value = call("check", vec![("code", code)])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    checked["Verified"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("a token in the verified step: {checked}"))
        .to_owned()
}
