//! Durable state shared by every instance: sessions, the local provider's pending
//! codes, and (for the limits) counters. Two backends behind one trait:
//! - [`SqliteStore`]: embedded, a file under `DATA_DIR` with a working copy in
//!   memory; the default, needs no server.
//! - [`RedisStore`]: when `REDIS_URL` is set, so instances behind a load balancer
//!   share everything.
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

mod after_answer;
mod measured;
mod memory;
mod redis;
mod sqlite;

pub use self::after_answer::{AfterAnswer, Later, after_answer};
pub use self::measured::Measured;
pub use self::redis::RedisStore;
pub use self::sqlite::{
    MEMORY_ONLY_UNDER as SQLITE_MEMORY_ONLY_UNDER, SWEEP_INTERVAL as SQLITE_SWEEP_INTERVAL,
    SqliteStore,
};

#[derive(Debug, thiserror::Error)]
#[error("state store: {0}")]
pub struct StoreError(pub String);

/// Keys with values that expire, and counters.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    /// The live value under `key`.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;
    /// Stores `value` only if `key` holds nothing live; says whether it did.
    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// [`Self::set_if_absent`] on `key`, and the live values under `reads`, in one
    /// trip to the store where it is a server (a lock taken with what it guards).
    async fn set_if_absent_and_read(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
        reads: &[&str],
    ) -> Result<(bool, Vec<Option<Vec<u8>>>), StoreError> {
        let taken = self.set_if_absent(key, value, ttl).await?;
        let mut values = Vec::with_capacity(reads.len());
        for read in reads {
            values.push(self.get(read).await?);
        }
        Ok((taken, values))
    }
    /// Applies `writes` in their order, in one trip to the store where it is a
    /// server: for what belongs together once a request has been answered.
    async fn write_all(&self, writes: &[Write<'_>]) -> Result<(), StoreError> {
        for write in writes {
            match *write {
                Write::Set { key, value, ttl } => self.set(key, value, ttl).await?,
                Write::Delete(key) => self.delete(key).await?,
                Write::Release(key) => self.release(key).await?,
            }
        }
        Ok(())
    }
    /// Removes the live value under `key` and returns it, in one step: of two callers
    /// racing for one value, exactly one gets it (a code that works once).
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Adds one to the counter under `key`, which lives `ttl` from its first hit;
    /// returns the new count.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError>;
    /// Takes one back from the live counter under `key` (never below zero): what
    /// [`Self::admit`] counted for a try that turned out not to count.
    async fn release(&self, key: &str) -> Result<(), StoreError>;
    /// Atomically: if every counter is below its limit, adds one to each and answers
    /// `None`; otherwise changes nothing and answers the index of the first that is full.
    async fn admit(&self, counters: &[Counter]) -> Result<Option<usize>, StoreError>;
    /// Whether the store can take work (`/readyz` asks): it answers, and whatever
    /// it keeps on disk is being written.
    async fn ready(&self) -> Result<(), StoreError> {
        self.get("readyz:probe").await.map(drop)
    }
    /// Writes down whatever the store holds only in memory so far; at shutdown.
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether other processes use this store too (Redis), or only this one
    /// (SQLite): what no other process can ask for may then be kept in memory.
    fn is_shared(&self) -> bool {
        true
    }
}

/// One write of [`StateStore::write_all`].
#[derive(Clone, Copy, Debug)]
pub enum Write<'a> {
    Set {
        key: &'a str,
        value: &'a [u8],
        ttl: Duration,
    },
    Delete(&'a str),
    /// [`StateStore::release`].
    Release(&'a str),
}

/// A fixed-window counter as [`StateStore::admit`] sees it.
#[derive(Clone, Debug)]
pub struct Counter {
    pub key: String,
    pub limit: u64,
    /// How long the counter lives from its first hit.
    pub ttl: Duration,
}

/// tower-sessions' store on top of a [`StateStore`]: sessions are keys like any other.
#[derive(Clone)]
pub struct Sessions(pub Arc<dyn StateStore>);

tokio::task_local! {
    /// A session's id as its cookie carries it, and its stored record, read ahead
    /// for this request ([`Sessions::with_read_ahead`]).
    static READ_AHEAD: RefCell<Option<(String, Option<Vec<u8>>)>>;
}

impl Sessions {
    /// The key of the session whose cookie carries `id`.
    pub fn key_for(id: &str) -> String {
        format!("session:{id}")
    }

    /// Runs `request` with the session under `id` already read from the store
    /// (`record`, from [`Self::key_for`]): the request's first load of that session
    /// takes it instead of a trip to the store. The flow lock reads it in the trip
    /// that takes the lock; nothing else writes a session while its lock is held.
    pub async fn with_read_ahead<F: Future>(
        id: String,
        record: Option<Vec<u8>>,
        request: F,
    ) -> F::Output {
        READ_AHEAD
            .scope(RefCell::new(Some((id, record))), request)
            .await
    }
}

/// The record read ahead for the session `id`, once.
fn read_ahead(id: &Id) -> Option<Option<Vec<u8>>> {
    READ_AHEAD
        .try_with(|slot| {
            let mut slot = slot.borrow_mut();
            let theirs = slot
                .as_ref()
                .is_some_and(|(read, _)| *read == id.to_string());
            theirs
                .then(|| slot.take().map(|(_, record)| record))
                .flatten()
        })
        .ok()
        .flatten()
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sessions")
    }
}

fn session_key(id: &Id) -> String {
    Sessions::key_for(&id.to_string())
}

fn ttl_until(record: &Record) -> Duration {
    let left = record.expiry_date - time::OffsetDateTime::now_utc();
    Duration::from_secs(u64::try_from(left.whole_seconds()).unwrap_or(0).max(1))
}

fn encode(record: &Record) -> session_store::Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))
}

fn backend(error: StoreError) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id until one is free: ids never collide in practice, and
        // overwriting another visitor's session must be impossible.
        loop {
            let (key, value) = (session_key(&record.id), encode(record)?);
            after_answer::forget(&key);
            if self
                .0
                .set_if_absent(&key, &value, ttl_until(record))
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let key = session_key(&record.id);
        after_answer::forget(&key);
        self.0
            .set(&key, &encode(record)?, ttl_until(record))
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let record = match read_ahead(id) {
            Some(record) => record,
            None => self.0.get(&session_key(id)).await.map_err(backend)?,
        };
        match record {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| session_store::Error::Decode(e.to_string())),
        }
    }

    /// In a flow request, the record goes once the answer is out
    /// ([`after_answer`]). A record is deleted only when its session's id is renewed
    /// (`Session::cycle_id`), and the answer then gives the cookie the new id: a
    /// request still carrying the old one was sent before that answer arrived, and
    /// could as well have come a moment before the delete.
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let key = Later::Delete(session_key(id));
        after_answer(self.0.as_ref(), [key]).await.map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: Id, mark: &str) -> Record {
        Record {
            id,
            data: [("mark".to_owned(), serde_json::json!(mark))].into(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        }
    }

    fn mark(loaded: Option<Record>) -> Option<String> {
        Some(loaded?.data["mark"].as_str()?.to_owned())
    }

    #[tokio::test]
    async fn a_session_read_ahead_is_loaded_once_and_only_for_its_id() {
        let dir = std::env::temp_dir().join(format!("pv-read-ahead-{}", std::process::id()));
        let store = SqliteStore::open(&dir.join("state.sqlite3")).unwrap();
        let sessions = Sessions(Arc::new(store));
        let id = Id::default();
        sessions.save(&record(id, "stored")).await.unwrap();
        let ahead = encode(&record(id, "read ahead")).unwrap();

        Sessions::with_read_ahead(id.to_string(), Some(ahead), async {
            let other = sessions.load(&Id::default()).await.unwrap();
            assert_eq!(mark(other), None, "another id asks the store");
            let first = sessions.load(&id).await.unwrap();
            assert_eq!(mark(first).as_deref(), Some("read ahead"));
            let again = sessions.load(&id).await.unwrap();
            assert_eq!(mark(again).as_deref(), Some("stored"), "used once");
        })
        .await;
        Sessions::with_read_ahead(id.to_string(), None, async {
            assert_eq!(mark(sessions.load(&id).await.unwrap()), None, "read: none");
        })
        .await;
        let outside = sessions.load(&id).await.unwrap();
        assert_eq!(mark(outside).as_deref(), Some("stored"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
