//! The embedded backend: one SQLite file in WAL mode, with every live key also in
//! memory, where the store's calls are answered (`memory.rs`).
//!
//! A call changes the memory under one short lock and returns; no request waits
//! for the disk. A thread of the store's own writes the changed keys to the file
//! every [`WRITE_BEHIND`] in one transaction, each key once with its latest value:
//! a session written several times, or a code made and used, between two writes
//! costs one row or none. So an answer can go out before its state is on file, by
//! up to [`WRITE_BEHIND`] and the write's own time: a crash loses what changed since
//! the last write; a shutdown, or the last handle going away, writes everything
//! first. A key made about to expire anyway ([`MEMORY_ONLY_UNDER`]) is not written
//! at all. The same thread copies the WAL into the database now and then, so that it
//! starts over and stays small.
//!
//! One process owns the file (`is_shared` is false): several instances need Redis.
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

use super::memory::{Change, Row, Rows};
use super::{Counter, StateStore, StoreError};

#[derive(Clone)]
pub struct SqliteStore {
    handles: Arc<Handles>,
}

/// What every handle on the store shares; when the last goes, it writes the changes
/// the writer has not yet (`Drop`), before the drop returns.
struct Handles(Arc<Shared>);

struct Shared {
    rows: Mutex<Rows>,
    /// Held while writing: one write at a time, in the order the changes were taken.
    file: Mutex<File>,
    /// Why the last write failed, until one succeeds.
    failure: Mutex<Option<String>>,
}

struct File {
    connection: Connection,
    wal: Option<Wal>,
    writes: u32,
}

/// No index on `expires_at`: it would cost every write a second B-tree change, for
/// the sweep's sake alone, which reads the whole table once a minute off the request
/// path instead. The page cache (16 MiB) holds the whole table at the sizes seen
/// under load.
const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA wal_autocheckpoint = 0;
    PRAGMA cache_size = -16384;
    CREATE TABLE IF NOT EXISTS kv (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    DROP INDEX IF EXISTS kv_expires_at;
";

/// How often the changes in memory are written to the file: about what a crash
/// can lose.
pub const WRITE_BEHIND: Duration = Duration::from_millis(50);

/// A key made since the file's last write, with less than this left to live, is
/// kept in memory only, like the note that lets a double submit follow its session
/// to a new id (10 s): a crash or a restart then costs at most such a double
/// submit, while writing it would cost every verification a row written and, later,
/// swept. A key the file has is written as ever.
pub const MEMORY_ONLY_UNDER: Duration = Duration::from_secs(15);

/// How often expired rows are deleted. Reads ignore them already; the sweep keeps
/// memory and the file from growing with sessions, codes and counters nobody reads
/// again.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The WAL is copied into the database after this many writes (about every 250 ms).
const CHECKPOINT_EVERY: u32 = 5;

/// Past this size the WAL is truncated after its copy; it is trimmed back to it
/// whenever it starts over (`journal_size_limit`).
const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

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

/// A lock whose holder panicked still guards well-formed rows (each change is a map
/// insert or remove), so the store goes on rather than failing every call after.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, loads its live rows, and starts
    /// the thread that writes changes back.
    ///
    /// # Errors
    /// When the file cannot be opened or read, or the schema cannot be created.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_wal_limit(path, WAL_SIZE_LIMIT)
    }

    fn open_with_wal_limit(path: &Path, wal_limit: i64) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        Self::with_connection(
            Connection::open(path).map_err(failed)?,
            Some(Wal {
                path: wal_path(path),
                limit: wal_limit,
            }),
        )
    }

    /// A private database that lives as long as the store; for tests.
    ///
    /// # Errors
    /// When SQLite cannot start.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::with_connection(Connection::open_in_memory().map_err(failed)?, None)
    }

    fn with_connection(connection: Connection, wal: Option<Wal>) -> Result<Self, StoreError> {
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(failed)?;
        connection.execute_batch(SCHEMA).map_err(failed)?;
        if let Some(wal) = &wal {
            connection
                .pragma_update(None, "journal_size_limit", wal.limit)
                .map_err(failed)?;
        }
        let rows = live_rows(&connection).map_err(failed)?;
        let shared = Arc::new(Shared {
            rows: Mutex::new(Rows::loaded(rows)),
            file: Mutex::new(File {
                connection,
                wal,
                writes: 0,
            }),
            failure: Mutex::new(None),
        });
        let handles = Arc::new(Handles(shared.clone()));
        let alive = Arc::downgrade(&handles);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_behind(&shared, &alive))
            .map_err(failed)?;
        Ok(Self { handles })
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handles.0
    }

    fn rows(&self) -> MutexGuard<'_, Rows> {
        lock(&self.shared().rows)
    }

    /// Forgets every expired row, in memory and in the file; how many memory held.
    ///
    /// # Errors
    /// When SQLite fails.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        let now = now_ms();
        let swept = self.rows().sweep(now);
        let shared = self.shared().clone();
        tokio::task::spawn_blocking(move || {
            lock(&shared.file)
                .connection
                .prepare_cached("DELETE FROM kv WHERE expires_at <= ?1")
                .and_then(|mut statement| statement.execute(params![now]))
                .map_err(failed)
        })
        .await
        .map_err(failed)??;
        Ok(swept)
    }

    /// Sweeps expired rows every `interval` for as long as the store is in use.
    pub fn sweep_every(&self, interval: Duration) {
        let handles = Arc::downgrade(&self.handles);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(handles) = handles.upgrade() else {
                    return;
                };
                match (SqliteStore { handles }).sweep_expired().await {
                    Ok(swept) => tracing::debug!(swept, "expired state swept"),
                    Err(error) => tracing::warn!(%error, "cannot sweep expired state"),
                }
            }
        });
    }
}

/// Every row still live in the file.
fn live_rows(connection: &Connection) -> rusqlite::Result<Vec<(String, Row)>> {
    connection
        .prepare("SELECT key, value, expires_at FROM kv WHERE expires_at > ?1")?
        .query_map(params![now_ms()], |row| {
            Ok((
                row.get(0)?,
                Row {
                    value: row.get(1)?,
                    expires_at: row.get(2)?,
                },
            ))
        })?
        .collect()
}

/// The writer: every [`WRITE_BEHIND`], writes what changed, until every handle on
/// the store is gone (the last one writes the rest as it goes).
fn write_behind(shared: &Shared, alive: &Weak<Handles>) {
    loop {
        std::thread::sleep(WRITE_BEHIND);
        if alive.strong_count() == 0 {
            return;
        }
        let _ = shared.write_changes();
    }
}

impl Shared {
    /// Writes the changes since the last write in one transaction; on failure they
    /// stay to be written next time, and the store reports itself not ready.
    fn write_changes(&self) -> Result<(), StoreError> {
        let mut file = lock(&self.file);
        let lasting_until = expiry(MEMORY_ONLY_UNDER);
        let changes = lock(&self.rows).take_changes(lasting_until);
        if changes.is_empty() {
            return Ok(());
        }
        match file.write(&changes) {
            Ok(()) => {
                *lock(&self.failure) = None;
                file.keep_wal_small();
                Ok(())
            }
            Err(error) => {
                tracing::error!(%error, keys = changes.len(), "cannot write state to the database file; kept in memory to retry");
                lock(&self.rows).unwritten(changes.into_iter().map(|(key, _)| key));
                *lock(&self.failure) = Some(error.to_string());
                Err(failed(error))
            }
        }
    }
}

impl Drop for Handles {
    fn drop(&mut self) {
        let _ = self.0.write_changes();
    }
}

impl File {
    fn write(&mut self, changes: &[Change]) -> rusqlite::Result<()> {
        let transaction = self.connection.transaction()?;
        {
            let mut upsert = transaction.prepare_cached(
                "INSERT INTO kv (key, value, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            )?;
            let mut delete = transaction.prepare_cached("DELETE FROM kv WHERE key = ?1")?;
            for (key, row) in changes {
                match row {
                    Some(row) => upsert.execute(params![key, row.value, row.expires_at])?,
                    None => delete.execute(params![key])?,
                };
            }
        }
        transaction.commit()
    }

    /// Copies the WAL into the database every [`CHECKPOINT_EVERY`] writes; nothing
    /// else reads or writes the file, so the copy completes and the next write starts
    /// the WAL over. Truncates it once it has passed its limit.
    fn keep_wal_small(&mut self) {
        let Some(wal) = &self.wal else {
            return;
        };
        self.writes = self.writes.wrapping_add(1);
        if !self.writes.is_multiple_of(CHECKPOINT_EVERY) {
            return;
        }
        let size = std::fs::metadata(&wal.path).map_or(0, |meta| meta.len());
        let mode = if size > wal.limit.unsigned_abs() {
            "TRUNCATE"
        } else {
            "PASSIVE"
        };
        if let Err(error) = checkpoint(&self.connection, mode) {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
}

/// Runs a checkpoint of `mode`; its answer (busy, frames, copied) is not needed.
fn checkpoint(connection: &Connection, mode: &str) -> rusqlite::Result<()> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
}

/// A database file's WAL, and the size past which it is truncated.
struct Wal {
    path: std::path::PathBuf,
    limit: i64,
}

/// Where SQLite keeps the WAL of the database at `path`.
fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    wal.into()
}

#[async_trait::async_trait]
impl StateStore for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.rows().get(key, now_ms()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.rows().set(key, value, expiry(ttl));
        Ok(())
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        Ok(self.rows().set_if_absent(key, value, expiry(ttl), now_ms()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.rows().delete(key);
        Ok(())
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.rows().take(key, now_ms()))
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.rows().release(key, now_ms());
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        Ok(self.rows().incr(key, expiry(ttl), now_ms()))
    }

    async fn admit(&self, counters: &[Counter]) -> Result<Option<usize>, StoreError> {
        let now = now_ms();
        Ok(self
            .rows()
            .admit(counters, now, |counter| expiry(counter.ttl)))
    }

    /// Ready while the file takes the writes: a full disk shows here, though the
    /// calls themselves still succeed in memory.
    async fn ready(&self) -> Result<(), StoreError> {
        match lock(&self.shared().failure).as_deref() {
            None => Ok(()),
            Some(error) => Err(StoreError(format!(
                "cannot write the database file: {error}"
            ))),
        }
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let shared = self.shared().clone();
        tokio::task::spawn_blocking(move || shared.write_changes())
            .await
            .map_err(failed)?
    }

    /// One file, one process: a second instance needs Redis (README, Deploying).
    fn is_shared(&self) -> bool {
        false
    }
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

    /// The rows in the file, expired ones included.
    fn rows_in_file(store: &SqliteStore) -> Vec<(String, Vec<u8>)> {
        let file = lock(&store.shared().file);
        let mut statement = file
            .connection
            .prepare("SELECT key, value FROM kv ORDER BY key")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[tokio::test]
    async fn the_file_learns_each_change_once_without_being_asked() {
        let store = SqliteStore::in_memory().unwrap();
        let minute = Duration::from_secs(60);
        store.set("session", b"first", minute).await.unwrap();
        store.set("session", b"last", minute).await.unwrap();
        store.set("code", b"123456", minute).await.unwrap();
        assert_eq!(
            store.take("code").await.unwrap().as_deref(),
            Some(&b"123456"[..])
        );
        assert_eq!(store.incr("counter", minute).await.unwrap(), 1);
        let note = MEMORY_ONLY_UNDER - Duration::from_secs(5);
        store.set("renewed", b"new id", note).await.unwrap();
        // The writer runs every WRITE_BEHIND; a slow machine gets many of them.
        let expected = vec![
            ("counter".to_owned(), b"1".to_vec()),
            ("session".to_owned(), b"last".to_vec()),
        ];
        for _ in 0..200 {
            if rows_in_file(&store) == expected {
                break;
            }
            tokio::time::sleep(WRITE_BEHIND).await;
        }
        assert_eq!(
            rows_in_file(&store),
            expected,
            "a code made and used, and a note about to expire, never reached the file"
        );
        assert_eq!(
            store.get("renewed").await.unwrap().as_deref(),
            Some(&b"new id"[..]),
            "the note is answered from memory"
        );
    }

    #[tokio::test]
    async fn expired_rows_are_swept_on_a_timer_however_few_the_writes() {
        let store = SqliteStore::in_memory().unwrap();
        // Rows written while they had long to live, and expiring now: set through
        // the store, so short a life would never reach the file.
        let soon = expiry(Duration::from_millis(1));
        let written: Vec<Change> = (0..50)
            .map(|i| {
                let row = Row {
                    value: b"v".to_vec(),
                    expires_at: soon,
                };
                (format!("session:{i}"), Some(row))
            })
            .collect();
        lock(&store.shared().file).write(&written).unwrap();
        for (key, _) in &written {
            store.rows().set(key, b"v", soon);
        }
        store
            .set("live", b"v", Duration::from_secs(60))
            .await
            .unwrap();
        store.flush().await.unwrap();
        assert_eq!(rows_in_file(&store).len(), 51);
        store.sweep_every(Duration::from_millis(20));
        let mut waited = 0;
        while (rows_in_file(&store).len() > 1 || store.rows().len() > 1) && waited < 500 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert_eq!(
            rows_in_file(&store).len(),
            1,
            "only the live row is left on file"
        );
        assert_eq!(store.rows().len(), 1, "and in memory");
        assert_eq!(store.get("live").await.unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[tokio::test]
    async fn a_write_that_fails_is_kept_retried_and_reported_until_it_succeeds() {
        let store = SqliteStore::in_memory().unwrap();
        let minute = Duration::from_secs(60);
        store.ready().await.unwrap();
        lock(&store.shared().file)
            .connection
            .execute_batch("ALTER TABLE kv RENAME TO away")
            .unwrap();
        store.set("k", b"v", minute).await.unwrap();
        assert!(store.flush().await.is_err());
        let not_ready = store.ready().await.unwrap_err();
        assert!(
            not_ready.0.contains("cannot write the database file"),
            "{not_ready}"
        );
        assert_eq!(
            store.get("k").await.unwrap().as_deref(),
            Some(&b"v"[..]),
            "still answered from memory"
        );
        lock(&store.shared().file)
            .connection
            .execute_batch("ALTER TABLE away RENAME TO kv")
            .unwrap();
        store.flush().await.unwrap();
        store.ready().await.unwrap();
        assert_eq!(rows_in_file(&store), [("k".to_owned(), b"v".to_vec())]);
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
    async fn the_wal_stays_near_its_limit_under_steady_writes() {
        let path = std::env::temp_dir().join(format!(
            "phone-verify-wal-test-{}.sqlite3",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let limit = 256 * 1024;
        let store = SqliteStore::open_with_wal_limit(&path, limit).unwrap();
        let value = vec![7u8; 1024];
        let mut largest = 0;
        // 2,000 writes of a few pages each: some 12 MB of WAL, unchecked.
        for i in 0..2_000 {
            store
                .set(&format!("k{}", i % 300), &value, Duration::from_secs(60))
                .await
                .unwrap();
            store.flush().await.unwrap();
            largest = largest.max(std::fs::metadata(wal_path(&path)).map_or(0, |m| m.len()));
        }
        assert!(
            largest <= 4 * limit.unsigned_abs(),
            "the WAL reached {largest} bytes against a limit of {limit}"
        );
        assert_eq!(store.get("k7").await.unwrap(), Some(value));
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn state_survives_reopening_the_file() {
        let path =
            std::env::temp_dir().join(format!("phone-verify-test-{}.sqlite3", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let minute = Duration::from_secs(60);
        let store = SqliteStore::open(&path).unwrap();
        store.set("k", b"kept", minute).await.unwrap();
        store
            .set("gone", b"x", Duration::from_millis(1))
            .await
            .unwrap();
        assert_eq!(store.incr("c", minute).await.unwrap(), 1);
        // The last handle going away writes what the writer had not yet.
        drop(store);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(
            reopened.get("k").await.unwrap().as_deref(),
            Some(&b"kept"[..])
        );
        assert_eq!(
            reopened.get("gone").await.unwrap(),
            None,
            "expired: not loaded"
        );
        assert_eq!(reopened.incr("c", minute).await.unwrap(), 2, "counts go on");
        drop(reopened);
        let _ = std::fs::remove_file(&path);
    }
}
