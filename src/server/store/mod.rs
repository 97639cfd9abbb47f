//! Durable state shared by every instance: sessions, the local provider's pending
//! codes, and (for the limits) counters. Two backends behind one trait:
//! - [`SqliteStore`]: embedded, a file under `DATA_DIR` with a working copy in
//!   memory; the default, needs no server.
//! - [`RedisStore`]: when `REDIS_URL` is set, so instances behind a load balancer
//!   share everything.
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

mod measured;
mod memory;
mod redis;
mod sqlite;

pub use self::measured::Measured;
pub use self::redis::RedisStore;
pub use self::sqlite::{SWEEP_INTERVAL as SQLITE_SWEEP_INTERVAL, SqliteStore};

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

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sessions")
    }
}

fn session_key(id: &Id) -> String {
    format!("session:{id}")
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
        self.0
            .set(
                &session_key(&record.id),
                &encode(record)?,
                ttl_until(record),
            )
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self.0.get(&session_key(id)).await.map_err(backend)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| session_store::Error::Decode(e.to_string())),
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0.delete(&session_key(id)).await.map_err(backend)
    }
}
