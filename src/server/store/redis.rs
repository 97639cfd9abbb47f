//! The shared backend: Redis, so that several instances see the same sessions, codes
//! and counters. Expiry is Redis' own.
use std::sync::LazyLock;
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{Counter, StateStore, StoreError, Write};

#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    /// Keeps several deployments apart in one Redis.
    prefix: String,
}

fn failed(error: redis::RedisError) -> StoreError {
    // Redis errors can echo the URL, which may hold a password: keep only the kind.
    StoreError(format!("redis: {:?} {}", error.kind(), error.category()))
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `SET … PX ttl`.
fn for_ttl(ttl: Duration) -> redis::SetOptions {
    redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(millis(ttl)))
}

/// `SET … NX PX ttl`: only where nothing is.
fn absent_for(ttl: Duration) -> redis::SetOptions {
    for_ttl(ttl).conditional_set(redis::ExistenceCheck::NX)
}

/// Takes one from a live counter, never below zero: a counter whose window ended
/// meanwhile is not made again (as `DECR` would, with no expiry).
const RELEASE_SOURCE: &str = r"
    local count = tonumber(redis.call('GET', KEYS[1]) or '0')
    if count > 0 then redis.call('DECR', KEYS[1]) end
    return 0
";
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RELEASE_SOURCE));

/// Every counter below its limit, then one more on each; else the first full one.
/// One script, so no other instance can slip in between the check and the count.
/// In a file of its own, which the benchmark's bare server (`crates/loadgen`) runs too.
static ADMIT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(include_str!("admit.lua")));

impl RedisStore {
    /// Connects to `url` (`redis://[:password@]host:port[/db]`).
    ///
    /// # Errors
    /// When the URL is malformed or the server does not answer.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(failed)?;
        let mut connection = ConnectionManager::new(client).await.map_err(failed)?;
        keeps_every_key(&mut connection).await?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// Refuses a Redis that evicts keys when its memory is full: the limits' counters
/// would vanish first under a flood, and with them the limits. Where `CONFIG` is
/// switched off (some managed services), the operator is warned instead.
async fn keeps_every_key(connection: &mut ConnectionManager) -> Result<(), StoreError> {
    let answer: Result<Vec<String>, _> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(connection)
        .await;
    match answer.as_deref() {
        Ok([_, policy]) if policy == "noeviction" => Ok(()),
        Ok([_, policy]) => Err(StoreError(format!(
            "Redis has maxmemory-policy {policy}: under memory pressure it would evict the \
             limits' counters and sessions; set maxmemory-policy noeviction"
        ))),
        _ => {
            tracing::warn!(
                "cannot read Redis' maxmemory-policy; make sure it is noeviction, or the limits \
                 can vanish under memory pressure"
            );
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl StateStore for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.connection
            .clone()
            .get(self.key(key))
            .await
            .map_err(failed)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.connection
            .clone()
            .set_options(self.key(key), value, for_ttl(ttl))
            .await
            .map_err(failed)
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let answer: Option<String> = self
            .connection
            .clone()
            .set_options(self.key(key), value, absent_for(ttl))
            .await
            .map_err(failed)?;
        Ok(answer.is_some())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.connection
            .clone()
            .del(self.key(key))
            .await
            .map_err(failed)
    }

    async fn set_if_absent_and_read(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
        reads: &[&str],
    ) -> Result<(bool, Vec<Option<Vec<u8>>>), StoreError> {
        if reads.is_empty() {
            return Ok((self.set_if_absent(key, value, ttl).await?, Vec::new()));
        }
        let reads: Vec<String> = reads.iter().map(|read| self.key(read)).collect();
        let (taken, values): (Option<String>, Vec<Option<Vec<u8>>>) = redis::pipe()
            .set_options(self.key(key), value, absent_for(ttl))
            .cmd("MGET")
            .arg(reads)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        Ok((taken.is_some(), values))
    }

    async fn write_all(&self, writes: &[Write<'_>]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        // A pipeline: one trip, applied in order.
        let mut pipe = redis::pipe();
        for write in writes {
            match *write {
                Write::Set { key, value, ttl } => pipe
                    .set_options(self.key(key), value, for_ttl(ttl))
                    .ignore(),
                Write::Delete(key) => pipe.del(self.key(key)).ignore(),
                // EVAL, not EVALSHA: a pipeline cannot load a script it misses.
                Write::Release(key) => pipe
                    .cmd("EVAL")
                    .arg(RELEASE_SOURCE)
                    .arg(1)
                    .arg(self.key(key))
                    .ignore(),
            };
        }
        pipe.query_async::<()>(&mut self.connection.clone())
            .await
            .map_err(failed)
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.connection
            .clone()
            .get_del(self.key(key))
            .await
            .map_err(failed)
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        RELEASE
            .key(self.key(key))
            .invoke_async::<i64>(&mut self.connection.clone())
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        // INCR, and start the clock on the first hit only (NX), atomically.
        let (count,): (u64,) = redis::pipe()
            .atomic()
            .incr(self.key(key), 1)
            .cmd("PEXPIRE")
            .arg(self.key(key))
            .arg(millis(ttl))
            .arg("NX")
            .ignore()
            .query_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        Ok(count)
    }

    async fn admit(&self, counters: &[Counter]) -> Result<Option<usize>, StoreError> {
        let mut invocation = ADMIT.prepare_invoke();
        for counter in counters {
            invocation
                .key(self.key(&counter.key))
                .arg(counter.limit)
                .arg(millis(counter.ttl));
        }
        let full: usize = invocation
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(failed)?;
        Ok(full.checked_sub(1))
    }
}
