//! State that outlives a process and is shared between processes: a verification in
//! progress survives a restart on either backend, and two instances behind a load
//! balancer share one Redis.

use crate::support::{Backend, RedisServer, Upstream, fresh_data_dir, spawn_app, spawn_on};
use phone_verify::server::store::RedisStore;
use serde_json::json;

const NUMBER: &str = "+44 7400 123456";

#[tokio::test]
async fn a_verification_in_progress_survives_a_restart_on_sqlite() {
    let data_dir = fresh_data_dir().display().to_string();
    let before = spawn_app(&[("DATA_DIR", &data_dir)]).await;
    let browser = before.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = before.latest_code().await;
    before.kill().await;

    let after = spawn_app(&[("DATA_DIR", &data_dir)]).await;
    let browser = after.browser_for(&browser);
    let state = browser.call("state", &[]).await;
    assert_eq!(
        state.body["step"]["EnterCode"]["phone"], NUMBER,
        "the session came back: {}",
        state.body
    );
    let checked = browser.call("check", &[("code", &code)]).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
}

#[tokio::test]
async fn a_verification_in_progress_survives_a_restart_on_redis() {
    let before = spawn_on(Upstream::Local, Backend::Redis, &[]).await;
    let browser = before.browser();
    browser.call("start", &[("phone", NUMBER)]).await;
    let code = before.latest_code().await;
    let redis = before.kill().await.expect("a redis server");

    let after = spawn_app(&[("REDIS_URL", &redis.url)]).await;
    let browser = after.browser_for(&browser);
    assert_eq!(browser.call("check", &[("code", &code)]).await.status, 200);
}

#[tokio::test]
async fn two_instances_share_sessions_codes_and_countdowns_through_redis() {
    let first = spawn_on(Upstream::Local, Backend::Redis, &[]).await;
    let redis_url = first.redis.as_ref().unwrap().url.clone();
    let second = spawn_app(&[("REDIS_URL", &redis_url)]).await;
    let on_first = first.browser();
    let on_second = second.browser_for(&on_first);

    on_first.call("start", &[("phone", NUMBER)]).await;
    let early = on_second.call("resend", &[]).await;
    assert_eq!(
        (early.status, early.body),
        (429, json!({"ResendTooSoon": {"retry_after": 30}}))
    );
    let code = first.latest_code().await;
    let checked = on_second.call("check", &[("code", &code)]).await;
    assert_eq!(
        checked.status, 200,
        "a code sent by one instance checks on the other: {}",
        checked.body
    );
    assert!(
        on_first.call("state", &[]).await.body["step"]
            .get("Verified")
            .is_some()
    );
}

#[tokio::test]
async fn a_bad_redis_url_stops_start_up_with_a_clear_error() {
    let leptos = leptos::config::get_configuration(Some("Cargo.toml"))
        .unwrap()
        .leptos_options;
    let error = phone_verify::server::Settings::from_lookup(leptos, |name| {
        (name == "REDIS_URL").then(|| "http://127.0.0.1:6379".to_owned())
    })
    .unwrap_err();
    assert_eq!(error.variable, "REDIS_URL");
}

#[tokio::test]
async fn a_redis_that_evicts_keys_is_refused_at_start_up() {
    let evicting = RedisServer::start_with(&["--maxmemory-policy", "allkeys-lru"]).await;
    let error = match RedisStore::connect(&evicting.url, "test:").await {
        Ok(_) => panic!("an evicting Redis was accepted"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("noeviction"), "{error}");
    let keeping = RedisServer::start().await;
    assert!(RedisStore::connect(&keeping.url, "test:").await.is_ok());
}

/// The calls the flow lock makes in one trip (a Redis pipeline) answer as the same
/// calls made one by one (SQLite, through the trait's own versions).
#[tokio::test]
async fn the_stores_answer_a_trip_of_several_calls_alike() {
    use phone_verify::server::store::{SqliteStore, StateStore, Write};
    use std::time::Duration;

    let redis = RedisServer::start().await;
    let on_redis = RedisStore::connect(&redis.url, "test:").await.unwrap();
    let on_sqlite = SqliteStore::open(&fresh_data_dir().join("state.sqlite3")).unwrap();
    let minute = Duration::from_secs(60);
    for store in [&on_redis as &dyn StateStore, &on_sqlite] {
        store.set("note", b"left", minute).await.unwrap();
        let first = store
            .set_if_absent_and_read("lock", b"1", minute, &["note", "nothing"])
            .await
            .unwrap();
        assert_eq!(first, (true, vec![Some(b"left".to_vec()), None]));
        let second = store
            .set_if_absent_and_read("lock", b"2", minute, &["note"])
            .await
            .unwrap();
        assert_eq!(second, (false, vec![Some(b"left".to_vec())]));
        let (taken, read) = store
            .set_if_absent_and_read("other", b"1", minute, &[])
            .await
            .unwrap();
        assert!(taken && read.is_empty());

        let writes = [
            Write::Set {
                key: "note",
                value: b"new",
                ttl: minute,
            },
            Write::Delete("lock"),
        ];
        store.write_all(&writes).await.unwrap();
        assert_eq!(store.get("note").await.unwrap(), Some(b"new".to_vec()));
        assert_eq!(store.get("lock").await.unwrap(), None, "freed");
        store.write_all(&[]).await.unwrap();
    }
}

/// Counters answer alike on both stores: all counted or none, the first full one
/// named, a count given back never below zero; and on Redis a counter's window runs
/// from its first hit, whatever comes after.
#[tokio::test]
async fn the_stores_count_alike_and_redis_never_lengthens_a_window() {
    use phone_verify::server::store::{Counter, SqliteStore, StateStore, Write};
    use std::time::Duration;

    let redis = RedisServer::start().await;
    let on_redis = RedisStore::connect(&redis.url, "test:").await.unwrap();
    let on_sqlite = SqliteStore::open(&fresh_data_dir().join("state.sqlite3")).unwrap();
    let counter = |key: &str, limit| Counter {
        key: key.to_owned(),
        limit,
        ttl: Duration::from_secs(60),
    };
    let (shared, own) = (counter("shared", 3), counter("own", 1));
    for store in [&on_redis as &dyn StateStore, &on_sqlite] {
        store.incr("shared", Duration::from_secs(60)).await.unwrap();
        let both = [shared.clone(), own.clone()];
        assert_eq!(
            store.admit(&both).await.unwrap(),
            None,
            "new and old counted"
        );
        assert_eq!(store.admit(&both).await.unwrap(), Some(1), "own is full");
        assert_eq!(store.admit(&both[..1]).await.unwrap(), None, "none counted");
        assert_eq!(store.admit(&both[..1]).await.unwrap(), Some(0), "3 of 3");
        store
            .write_all(&[Write::Release("own"), Write::Release("never")])
            .await
            .unwrap();
        store.release("own").await.unwrap();
        assert_eq!(
            store.get("never").await.unwrap(),
            None,
            "nothing to give back"
        );
        assert_eq!(
            store.admit(&both[1..]).await.unwrap(),
            None,
            "own given back"
        );
        assert_eq!(store.incr("own", Duration::from_secs(60)).await.unwrap(), 2);
    }

    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let raw = client.get_multiplexed_async_connection().await.unwrap();
    let pttl = |key: &'static str| {
        let mut raw = raw.clone();
        async move {
            redis::cmd("PTTL")
                .arg(format!("test:{key}"))
                .query_async::<i64>(&mut raw)
                .await
                .unwrap()
        }
    };
    let fresh = counter("fresh", 10);
    on_redis.admit(&[fresh.clone()]).await.unwrap();
    assert!((1..=60_000).contains(&pttl("fresh").await), "its window");
    // As if 55 seconds had passed.
    redis::cmd("PEXPIRE")
        .arg("test:fresh")
        .arg(5_000)
        .query_async::<()>(&mut raw.clone())
        .await
        .unwrap();
    on_redis.admit(&[fresh.clone()]).await.unwrap();
    on_redis.release("fresh").await.unwrap();
    on_redis.release("fresh").await.unwrap();
    on_redis.admit(&[fresh]).await.unwrap();
    assert!(
        (1..=5_000).contains(&pttl("fresh").await),
        "counted again, given back to zero and counted: the same window"
    );
}
