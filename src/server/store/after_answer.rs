//! Writes the answer need not wait for. A flow request runs in a scope
//! ([`AfterAnswer::scope`]) whose writes are left for the flow lock to make once the
//! answer is out, in the trip that frees the lock (`routes::flow_lock`): two trips
//! to Redis fewer on the check that verifies a number. Outside such a scope, a write
//! is made at once.
//!
//! Only writes no later request of the same visitor can tell from a moment's delay
//! are left: a session record whose id the answer replaces, and a count given back.
use std::sync::{Arc, Mutex, PoisonError};

use super::{StateStore, StoreError, Write};

/// A write left for after the answer, owning its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Later {
    /// [`Write::Delete`].
    Delete(String),
    /// [`Write::Release`].
    Release(String),
}

impl Later {
    pub fn as_write(&self) -> Write<'_> {
        match self {
            Later::Delete(key) => Write::Delete(key),
            Later::Release(key) => Write::Release(key),
        }
    }

    fn key(&self) -> &str {
        match self {
            Later::Delete(key) | Later::Release(key) => key,
        }
    }
}

/// The writes one request left for after its answer. Its holder makes them even
/// when the request ends early (a timeout, a closed connection), and shutdown waits
/// for them (`AppState::after_answers`).
#[derive(Clone, Default)]
pub struct AfterAnswer(Arc<Mutex<Vec<Later>>>);

tokio::task_local! {
    static SCOPE: AfterAnswer;
}

impl AfterAnswer {
    /// Runs `request` with its writes for after the answer collected here.
    pub async fn scope<F: Future>(&self, request: F) -> F::Output {
        SCOPE.scope(self.clone(), request).await
    }

    /// The writes left so far, in their order; they are the caller's now.
    pub fn take(&self) -> Vec<Later> {
        std::mem::take(&mut *self.writes())
    }

    fn writes(&self) -> std::sync::MutexGuard<'_, Vec<Later>> {
        // A list only pushed to and taken whole: a panic cannot tear it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Leaves `writes` for after the answer when the request runs in a scope; makes
/// them now, in one trip, otherwise.
///
/// # Errors
/// When they are made now and the store fails.
pub async fn after_answer(
    store: &dyn StateStore,
    writes: impl IntoIterator<Item = Later>,
) -> Result<(), StoreError> {
    match SCOPE.try_with(AfterAnswer::clone) {
        Ok(scope) => {
            scope.writes().extend(writes);
            Ok(())
        }
        Err(_) => {
            let writes: Vec<Later> = writes.into_iter().collect();
            let writes: Vec<Write> = writes.iter().map(Later::as_write).collect();
            store.write_all(&writes).await
        }
    }
}

/// Drops the writes to `key` left for after the answer: a value stored under it
/// since must not be undone by them.
pub fn forget(key: &str) {
    let _ = SCOPE.try_with(|scope| scope.writes().retain(|later| later.key() != key));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::SqliteStore;
    use std::time::Duration;

    #[tokio::test]
    async fn writes_in_a_scope_wait_for_its_holder_and_others_are_made_at_once() {
        let dir = std::env::temp_dir().join(format!("pv-after-answer-{}", std::process::id()));
        let store = SqliteStore::open(&dir.join("state.sqlite3")).unwrap();
        let hour = Duration::from_secs(3600);
        for key in ["a", "b", "c"] {
            store.set(key, b"1", hour).await.unwrap();
        }
        store.incr("n", hour).await.unwrap();

        let later = AfterAnswer::default();
        later
            .scope(async {
                after_answer(&store, [Later::Delete("a".into())])
                    .await
                    .unwrap();
                after_answer(&store, [Later::Release("n".into())])
                    .await
                    .unwrap();
                after_answer(&store, [Later::Delete("b".into())])
                    .await
                    .unwrap();
                forget("b");
            })
            .await;
        assert!(store.get("a").await.unwrap().is_some(), "not made yet");
        assert_eq!(
            store.incr("n", hour).await.unwrap(),
            2,
            "not given back yet"
        );
        let left = later.take();
        assert_eq!(
            left,
            [Later::Delete("a".into()), Later::Release("n".into())],
            "in order, without the forgotten one"
        );
        assert!(later.take().is_empty(), "taken once");
        let writes: Vec<Write> = left.iter().map(Later::as_write).collect();
        store.write_all(&writes).await.unwrap();
        assert!(store.get("a").await.unwrap().is_none());
        assert!(store.get("b").await.unwrap().is_some(), "forgotten");
        assert_eq!(store.incr("n", hour).await.unwrap(), 2, "given back");

        after_answer(&store, [Later::Delete("c".into())])
            .await
            .unwrap();
        assert!(
            store.get("c").await.unwrap().is_none(),
            "no scope: made now"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
