//! The embedded backend: one SQLite file, written in WAL mode so readers never wait.
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

use super::{Counter, StateStore, StoreError};

#[derive(Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS kv_expires_at ON kv (expires_at);
";

/// How often expired rows are deleted. Reads ignore them already; the sweep keeps
/// the file from growing with sessions, codes and counters nobody reads again.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn expiry(ttl: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

fn failed(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`.
    ///
    /// # Errors
    /// When the file cannot be opened or the schema cannot be created.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        Self::with_connection(Connection::open(path).map_err(failed)?)
    }

    /// A private database that lives as long as the store; for tests.
    ///
    /// # Errors
    /// When SQLite cannot start.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory().map_err(failed)?)
    }

    fn with_connection(connection: Connection) -> Result<Self, StoreError> {
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(failed)?;
        connection.execute_batch(SCHEMA).map_err(failed)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `job` on the connection. Statements are prepared once and cached, and in
    /// WAL mode with `synchronous = NORMAL` a commit does not wait for the disk, so a
    /// job takes microseconds: running it in place is cheaper than a thread hop.
    async fn with<T>(
        &self,
        job: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut connection = self
            .connection
            .lock()
            .map_err(|_| StoreError("connection lock poisoned".into()))?;
        job(&mut connection).map_err(failed)
    }

    /// Deletes every expired row; returns how many there were.
    ///
    /// # Errors
    /// When SQLite fails.
    pub fn sweep_expired(&self) -> Result<usize, StoreError> {
        let connection = self
            .connection
            .lock()
            .map_err(|_| StoreError("connection lock poisoned".into()))?;
        connection
            .prepare_cached("DELETE FROM kv WHERE expires_at <= ?1")
            .and_then(|mut statement| statement.execute(params![now_ms()]))
            .map_err(failed)
    }

    /// Sweeps expired rows every `interval`, off the request threads, for as long as
    /// the store is in use.
    pub fn sweep_every(&self, interval: Duration) {
        let connection = Arc::downgrade(&self.connection);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(connection) = connection.upgrade() else {
                    return;
                };
                let store = SqliteStore { connection };
                match tokio::task::spawn_blocking(move || store.sweep_expired()).await {
                    Ok(Ok(swept)) => tracing::debug!(swept, "expired state swept"),
                    Ok(Err(error)) => tracing::warn!(%error, "cannot sweep expired state"),
                    Err(error) => tracing::warn!(%error, "the sweep stopped"),
                }
            }
        });
    }
}

fn read(c: &Connection, key: &str, now: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    c.prepare_cached("SELECT value FROM kv WHERE key = ?1 AND expires_at > ?2")?
        .query_row(params![key, now], |row| row.get(0))
        .optional()
}

fn upsert(c: &Connection, key: &str, value: &[u8], expires_at: i64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO kv (key, value, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
    )?
    .execute(params![key, value, expires_at])
    .map(drop)
}

/// Adds one to a live counter, or starts it at one.
fn bump(c: &Connection, key: &str, ttl: Duration, now: i64) -> rusqlite::Result<u64> {
    match read(c, key, now)? {
        Some(bytes) => {
            let count = parse_count(&bytes) + 1;
            c.prepare_cached("UPDATE kv SET value = ?2 WHERE key = ?1")?
                .execute(params![key, count.to_string().into_bytes()])?;
            Ok(count)
        }
        None => {
            upsert(c, key, b"1", expiry(ttl))?;
            Ok(1)
        }
    }
}

#[async_trait::async_trait]
impl StateStore for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|c| read(c, key, now_ms())).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.with(|c| upsert(c, key, value, expiry(ttl))).await
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            let changed = c
                .prepare_cached(
                    "INSERT INTO kv (key, value, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                     WHERE kv.expires_at <= ?4",
                )?
                .execute(params![key, value, expiry(ttl), now_ms()])?;
            Ok(changed == 1)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM kv WHERE key = ?1")?
                .execute(params![key])
                .map(drop)
        })
        .await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM kv WHERE key = ?1 RETURNING value, expires_at")?
                .query_row(params![key], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?))
                })
                .optional()
                .map(|taken| {
                    taken.and_then(|(value, expires_at)| (expires_at > now_ms()).then_some(value))
                })
        })
        .await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            if let Some(bytes) = read(&tx, key, now_ms())? {
                let count = parse_count(&bytes).saturating_sub(1);
                tx.prepare_cached("UPDATE kv SET value = ?2 WHERE key = ?1")?
                    .execute(params![key, count.to_string().into_bytes()])?;
            }
            tx.commit()
        })
        .await
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.with(|c| {
            let now = now_ms();
            let tx = c.transaction()?;
            let count = bump(&tx, key, ttl, now)?;
            tx.commit()?;
            Ok(count)
        })
        .await
    }

    async fn admit(&self, counters: &[Counter]) -> Result<Option<usize>, StoreError> {
        self.with(|c| {
            let now = now_ms();
            let tx = c.transaction()?;
            for (i, counter) in counters.iter().enumerate() {
                let count = read(&tx, &counter.key, now)?.map_or(0, |bytes| parse_count(&bytes));
                if count >= counter.limit {
                    return Ok(Some(i)); // the transaction rolls back on drop
                }
            }
            for counter in counters {
                bump(&tx, &counter.key, counter.ttl, now)?;
            }
            tx.commit()?;
            Ok(None)
        })
        .await
    }
}

fn parse_count(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_expire_and_set_if_absent_respects_live_values() {
        let store = SqliteStore::in_memory().unwrap();
        assert!(
            store
                .set_if_absent("k", b"one", Duration::from_millis(40))
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_if_absent("k", b"two", Duration::from_secs(60))
                .await
                .unwrap()
        );
        assert_eq!(store.get("k").await.unwrap().as_deref(), Some(&b"one"[..]));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.get("k").await.unwrap(), None);
        assert!(
            store
                .set_if_absent("k", b"three", Duration::from_secs(60))
                .await
                .unwrap()
        );
        store.delete("k").await.unwrap();
        assert_eq!(store.get("k").await.unwrap(), None);
    }

    /// Rows, expired ones included.
    fn rows(store: &SqliteStore) -> i64 {
        store
            .connection
            .lock()
            .unwrap()
            .query_row("SELECT count(*) FROM kv", [], |row| row.get(0))
            .unwrap()
    }

    #[tokio::test]
    async fn expired_rows_are_swept_on_a_timer_however_few_the_writes() {
        let store = SqliteStore::in_memory().unwrap();
        for i in 0..50 {
            let key = format!("session:{i}");
            store
                .set(&key, b"v", Duration::from_millis(1))
                .await
                .unwrap();
        }
        store
            .set("live", b"v", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(rows(&store), 51);
        store.sweep_every(Duration::from_millis(20));
        let mut waited = 0;
        while rows(&store) > 1 && waited < 500 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert_eq!(rows(&store), 1, "only the live row is left");
        assert_eq!(store.get("live").await.unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[tokio::test]
    async fn a_value_is_taken_once() {
        let store = SqliteStore::in_memory().unwrap();
        store.set("k", b"v", Duration::from_secs(60)).await.unwrap();
        let (first, second) = tokio::join!(store.take("k"), store.take("k"));
        let mut taken = [first.unwrap(), second.unwrap()];
        taken.sort();
        assert_eq!(taken, [None, Some(b"v".to_vec())]);
        store
            .set("old", b"v", Duration::from_millis(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            store.take("old").await.unwrap(),
            None,
            "an expired value is gone"
        );
    }

    #[tokio::test]
    async fn counters_count_within_their_window() {
        let store = SqliteStore::in_memory().unwrap();
        for expected in 1..=3 {
            assert_eq!(
                store.incr("c", Duration::from_millis(40)).await.unwrap(),
                expected
            );
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            store.incr("c", Duration::from_secs(60)).await.unwrap(),
            1,
            "a new window"
        );
    }

    #[tokio::test]
    async fn admit_counts_all_or_nothing() {
        let store = SqliteStore::in_memory().unwrap();
        let counter = |key: &str, limit| Counter {
            key: key.into(),
            limit,
            ttl: Duration::from_secs(60),
        };
        let both = [counter("a", 2), counter("b", 1)];
        assert_eq!(store.admit(&both).await.unwrap(), None);
        assert_eq!(store.admit(&both).await.unwrap(), Some(1), "b is full");
        assert_eq!(
            store.get("a").await.unwrap().as_deref(),
            Some(&b"1"[..]),
            "a was not counted again"
        );
        store.release("b").await.unwrap();
        assert_eq!(store.admit(&both).await.unwrap(), None, "b has room again");
        store.release("gone").await.unwrap();
        assert_eq!(store.get("gone").await.unwrap(), None, "nothing to release");
    }

    #[tokio::test]
    async fn state_survives_reopening_the_file() {
        let path =
            std::env::temp_dir().join(format!("phone-verify-test-{}.sqlite3", std::process::id()));
        let _ = std::fs::remove_file(&path);
        SqliteStore::open(&path)
            .unwrap()
            .set("k", b"kept", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            SqliteStore::open(&path)
                .unwrap()
                .get("k")
                .await
                .unwrap()
                .as_deref(),
            Some(&b"kept"[..])
        );
        let _ = std::fs::remove_file(&path);
    }
}
