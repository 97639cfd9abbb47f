//! The embedded backend: one SQLite file in WAL mode, worked on by a thread of its
//! own so that no request thread ever waits on the disk or on a lock.
//!
//! Every call becomes a job for the store's thread. The thread runs whatever jobs
//! are waiting in one transaction, each in a savepoint of its own (one job's failure
//! undoes only that job), and answers them all after the commit: under load a
//! commit carries many requests' writes, and a page written by several of them
//! goes to the WAL once. A second thread copies the WAL into the database several
//! times a second on its own connection (a passive checkpoint: the writer never
//! waits for it). Under steady writes the WAL would still never start over, since
//! the copy never quite catches up with the end; so once the file passes
//! `WAL_SIZE_LIMIT`, the writer finishes the copy itself (little is left by then)
//! and restarts the WAL from its beginning, trimmed back to the limit.
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{Counter, StateStore, StoreError};

/// A store call, run on the store's thread.
type Job = Box<dyn FnOnce(&Connection) -> Done + Send>;

/// A job that has run: whether it succeeded, and its answer, to give once the
/// transaction has committed (`true`) or not.
struct Done {
    ok: bool,
    answer: Box<dyn FnOnce(bool) + Send>,
}

#[derive(Clone)]
pub struct SqliteStore {
    jobs: Arc<Sender<Job>>,
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA wal_autocheckpoint = 0;
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

/// How often the WAL is copied into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Past this size the writer restarts the WAL; it is trimmed back to it when it
/// starts over (`journal_size_limit`).
const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// The writer looks at the WAL's size after this many transactions.
const WAL_SIZE_CHECK_EVERY: u32 = 32;

/// The most jobs one transaction carries, so that the first of them is not kept
/// waiting for the commit behind an endless queue.
const MAX_BATCH: usize = 256;

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
    /// Opens (or creates) the database at `path`, with its writer and checkpointer.
    ///
    /// # Errors
    /// When the file cannot be opened or the schema cannot be created.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_wal_limit(path, WAL_SIZE_LIMIT)
    }

    fn open_with_wal_limit(path: &Path, wal_limit: i64) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let store = Self::with_connection(
            Connection::open(path).map_err(failed)?,
            Some(Wal {
                path: wal_path(path),
                limit: wal_limit,
            }),
        )?;
        let checkpoints = Connection::open(path).map_err(failed)?;
        checkpoints
            .busy_timeout(Duration::from_secs(5))
            .map_err(failed)?;
        checkpoints
            .pragma_update(None, "journal_size_limit", wal_limit)
            .map_err(failed)?;
        let alive = Arc::downgrade(&store.jobs);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_while_open(&checkpoints, &alive))
            .map_err(failed)?;
        Ok(store)
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
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_jobs(&connection, &queue, wal.as_ref()))
            .map_err(failed)?;
        Ok(Self {
            jobs: Arc::new(jobs),
        })
    }

    /// Runs `job` on the store's thread and waits, without blocking this thread,
    /// for its answer after the commit.
    async fn with<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let result = job(connection).map_err(failed);
            Done {
                ok: result.is_ok(),
                answer: Box::new(move |committed| {
                    let _ = answer.send(match (result, committed) {
                        (Ok(value), true) => Ok(value),
                        (Ok(_), false) => Err(StoreError("the transaction did not commit".into())),
                        (Err(error), _) => Err(error),
                    });
                }),
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError("the store's thread has stopped".into()))?;
        answered
            .await
            .map_err(|_| StoreError("the store's thread has stopped".into()))?
    }

    /// Deletes every expired row; returns how many there were.
    ///
    /// # Errors
    /// When SQLite fails.
    pub async fn sweep_expired(&self) -> Result<usize, StoreError> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM kv WHERE expires_at <= ?1")
                .and_then(|mut statement| statement.execute(params![now_ms()]))
        })
        .await
    }

    /// Sweeps expired rows every `interval`, on the store's thread, for as long as
    /// the store is in use.
    pub fn sweep_every(&self, interval: Duration) {
        let jobs = Arc::downgrade(&self.jobs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(jobs) = jobs.upgrade() else {
                    return;
                };
                match (SqliteStore { jobs }).sweep_expired().await {
                    Ok(swept) => tracing::debug!(swept, "expired state swept"),
                    Err(error) => tracing::warn!(%error, "cannot sweep expired state"),
                }
            }
        });
    }
}

/// Runs a checkpoint of `mode`; its answer (busy, frames, copied) is not needed.
fn checkpoint(connection: &Connection, mode: &str) -> rusqlite::Result<()> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
}

/// A database file's WAL, and the size past which the writer restarts it.
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

/// The writer: takes the jobs waiting, runs them in one transaction, commits, then
/// answers them; now and then keeps the WAL within its limit. Ends when every
/// handle on the store is gone.
fn run_jobs(connection: &Connection, queue: &Receiver<Job>, wal: Option<&Wal>) {
    let mut transactions = 0u32;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
            tracing::error!(%error, "cannot begin a transaction");
            for job in batch {
                (job(connection).answer)(false);
            }
            continue;
        }
        let mut answers = Vec::with_capacity(batch.len());
        for job in batch {
            if let Err(error) = connection.execute_batch("SAVEPOINT job") {
                tracing::error!(%error, "cannot set a savepoint");
                (job(connection).answer)(false);
                continue;
            }
            let done = job(connection);
            // A job that failed half-way leaves nothing behind.
            let end = if done.ok {
                "RELEASE job"
            } else {
                "ROLLBACK TO job; RELEASE job"
            };
            let _ = connection.execute_batch(end);
            answers.push(done.answer);
        }
        let committed = match connection.execute_batch("COMMIT") {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, "cannot commit");
                let _ = connection.execute_batch("ROLLBACK");
                false
            }
        };
        for answer in answers {
            answer(committed);
        }
        transactions = transactions.wrapping_add(1);
        if let Some(wal) = wal
            && transactions.is_multiple_of(WAL_SIZE_CHECK_EVERY)
        {
            keep_wal_bounded(connection, wal);
        }
    }
}

/// Restarts the WAL once it has passed its limit. Between requests, after the
/// answers have gone out; the checkpointer has copied most of it already.
fn keep_wal_bounded(connection: &Connection, wal: &Wal) {
    let size = std::fs::metadata(&wal.path).map_or(0, |meta| meta.len());
    if size <= wal.limit.unsigned_abs() {
        return;
    }
    if let Err(error) = checkpoint(connection, "RESTART") {
        tracing::warn!(%error, "cannot restart the WAL");
    }
}

/// Copies the WAL into the database every [`CHECKPOINT_INTERVAL`], off the writer's
/// thread, for as long as the store is open.
fn checkpoint_while_open(connection: &Connection, alive: &Weak<Sender<Job>>) {
    loop {
        std::thread::sleep(CHECKPOINT_INTERVAL);
        if alive.strong_count() == 0 {
            return;
        }
        // PASSIVE: copies what it can without waiting for the writer or readers.
        if let Err(error) = checkpoint(connection, "PASSIVE") {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
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
        let key = key.to_owned();
        self.with(move |c| read(c, &key, now_ms())).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let (key, value) = (key.to_owned(), value.to_vec());
        self.with(move |c| upsert(c, &key, &value, expiry(ttl)))
            .await
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let (key, value) = (key.to_owned(), value.to_vec());
        self.with(move |c| {
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
        let key = key.to_owned();
        self.with(move |c| {
            c.prepare_cached("DELETE FROM kv WHERE key = ?1")?
                .execute(params![key])
                .map(drop)
        })
        .await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        self.with(move |c| {
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
        let key = key.to_owned();
        self.with(move |c| {
            if let Some(bytes) = read(c, &key, now_ms())? {
                let count = parse_count(&bytes).saturating_sub(1);
                c.prepare_cached("UPDATE kv SET value = ?2 WHERE key = ?1")?
                    .execute(params![key, count.to_string().into_bytes()])?;
            }
            Ok(())
        })
        .await
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        let key = key.to_owned();
        self.with(move |c| bump(c, &key, ttl, now_ms())).await
    }

    async fn admit(&self, counters: &[Counter]) -> Result<Option<usize>, StoreError> {
        let counters = counters.to_vec();
        // One job: nothing else runs between the reads and the counts.
        self.with(move |c| {
            let now = now_ms();
            for (i, counter) in counters.iter().enumerate() {
                let count = read(c, &counter.key, now)?.map_or(0, |bytes| parse_count(&bytes));
                if count >= counter.limit {
                    return Ok(Some(i));
                }
            }
            for counter in &counters {
                bump(c, &counter.key, counter.ttl, now)?;
            }
            Ok(None)
        })
        .await
    }

    /// One file, one process: a second instance needs Redis (README, Deploying).
    fn is_shared(&self) -> bool {
        false
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
    async fn rows(store: &SqliteStore) -> i64 {
        store
            .with(|c| c.query_row("SELECT count(*) FROM kv", [], |row| row.get(0)))
            .await
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
        assert_eq!(rows(&store).await, 51);
        store.sweep_every(Duration::from_millis(20));
        let mut waited = 0;
        while rows(&store).await > 1 && waited < 500 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        assert_eq!(rows(&store).await, 1, "only the live row is left");
        assert_eq!(store.get("live").await.unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[tokio::test]
    async fn a_failing_call_leaves_nothing_behind_and_takes_no_other_call_with_it() {
        let store = SqliteStore::in_memory().unwrap();
        let minute = Duration::from_secs(60);
        // Sent together, so that the store's thread most likely runs them in one
        // transaction; the outcome must be the same either way.
        let (failing, fine) = tokio::join!(
            store.with(move |c| {
                upsert(c, "half", b"v", expiry(minute))?;
                c.execute_batch("SELECT * FROM nowhere")
            }),
            store.set("whole", b"v", minute),
        );
        assert!(failing.is_err());
        fine.unwrap();
        assert_eq!(store.get("half").await.unwrap(), None, "undone");
        assert_eq!(
            store.get("whole").await.unwrap().as_deref(),
            Some(&b"v"[..])
        );
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
        // About 2,000 commits of a page or two each: some 12 MB of WAL, unchecked.
        for i in 0..2_000 {
            store
                .set(&format!("k{}", i % 300), &value, Duration::from_secs(60))
                .await
                .unwrap();
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
