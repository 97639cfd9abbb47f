//! Every state store call timed into the metrics (`store_seconds` by operation).
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Counter, StateStore, StoreError, Write};
use crate::server::metrics::Metrics;

/// A store whose calls show in the metrics.
pub struct Measured {
    inner: Arc<dyn StateStore>,
    metrics: Arc<Metrics>,
}

impl Measured {
    pub fn new(inner: Arc<dyn StateStore>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    async fn time<T>(&self, operation: &'static str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = call.await;
        self.metrics.store_call(operation, started.elapsed());
        result
    }
}

#[async_trait::async_trait]
impl StateStore for Measured {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.time("get", self.inner.get(key)).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        self.time("set", self.inner.set(key, value, ttl)).await
    }

    async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.time("set_if_absent", self.inner.set_if_absent(key, value, ttl))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.time("delete", self.inner.delete(key)).await
    }

    async fn set_if_absent_and_read(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
        reads: &[&str],
    ) -> Result<(bool, Vec<Option<Vec<u8>>>), StoreError> {
        let call = self.inner.set_if_absent_and_read(key, value, ttl, reads);
        self.time("set_if_absent_and_read", call).await
    }

    async fn write_all(&self, writes: &[Write<'_>]) -> Result<(), StoreError> {
        self.time("write_all", self.inner.write_all(writes)).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.time("take", self.inner.take(key)).await
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, StoreError> {
        self.time("incr", self.inner.incr(key, ttl)).await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.time("release", self.inner.release(key)).await
    }

    async fn admit(&self, counters: &[Counter]) -> Result<Option<usize>, StoreError> {
        self.time("admit", self.inner.admit(counters)).await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.inner.ready().await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush().await
    }

    fn is_shared(&self) -> bool {
        self.inner.is_shared()
    }
}
