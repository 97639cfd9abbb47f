//! What load balancers ask: alive, and ready for visitors.

use std::time::Duration;

use crate::support::{Backend, TestApp, Upstream, spawn_app, spawn_on};
use serde_json::{Value, json};

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = reqwest::get(app.url(path)).await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Asks `/readyz` until it is not ready (or 10 s pass, a generous bound for a change
/// that is due, not a measure of speed).
async fn until_not_ready(app: &TestApp) -> (u16, Value) {
    for _ in 0..200 {
        let answer = get(app, "/readyz").await;
        if answer.0 != 200 {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("still ready");
}

#[tokio::test]
async fn ready_until_shutdown_begins_then_not_ready_while_still_serving() {
    let mut app = spawn_app(&[("SHUTDOWN_DELAY_SECS", "60")]).await;
    assert_eq!(get(&app, "/healthz").await, (200, json!({"alive": true})));
    assert_eq!(
        get(&app, "/readyz").await,
        (200, json!({"ready": true, "provider": "local"}))
    );
    app.begin_shutdown();
    assert_eq!(
        until_not_ready(&app).await,
        (503, json!({"ready": false, "reason": "shutting down"}))
    );
    // Still serving in the grace time: alive, and a visitor's flow goes on.
    assert_eq!(get(&app, "/healthz").await.0, 200);
    let browser = app.browser();
    let answer = browser.call("start", &[("phone", "+44 7400 123456")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn not_ready_when_the_state_store_is_gone() {
    let app = spawn_on(Upstream::Local, Backend::Redis, &[]).await;
    assert_eq!(get(&app, "/readyz").await.0, 200);
    let redis = app.redis.as_ref().unwrap();
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: Result<(), _> = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query_async(&mut connection)
        .await;
    let (status, body) = until_not_ready(&app).await;
    assert_eq!(status, 503);
    assert_eq!(body["ready"], json!(false));
    assert_eq!(get(&app, "/healthz").await.0, 200, "alive all the same");
}
