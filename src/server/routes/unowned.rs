//! Every request is handled with no reactive owner left over on its thread.
//!
//! Leptos gives each server-function call and page render an owner, whose parent is
//! whatever owner the thread last had as current. A tokio worker can still have one
//! from another request; the new owner then hangs below an owner that the other
//! request drops when it ends. In reactive_graph 0.2, looking up a context walks up
//! to that parent while holding a read lock on the child; if the parent's last
//! handle goes in that walk, its cleanup asks for a write lock on the same child,
//! and the worker thread waits for ever. Seen here under load on the no-JS path
//! (a server function's `use_context` stuck in `RwLock::write_contended`): the
//! request never finished, and with it one of the runtime's threads and the
//! shutdown. Clearing the thread's owner before each poll keeps every request's
//! owner a root of its own.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use leptos::reactive::owner::Owner;

pub async fn without_owner(request: Request, next: Next) -> Response {
    Unowned(Box::pin(next.run(request))).await
}

/// Polls its future with no current owner on the thread.
struct Unowned<F>(Pin<Box<F>>);

impl<F: Future> Future for Unowned<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if let Some(owner) = Owner::current() {
            owner.unset();
        }
        self.0.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_future_never_sees_an_owner_left_on_the_thread() {
        let leftover = Owner::new();
        let seen = Unowned(Box::pin(async {
            let at_start = Owner::current().is_some();
            // Something else sets an owner on the thread between two polls.
            leftover.set();
            tokio::task::yield_now().await;
            (at_start, Owner::current().is_some())
        }));
        Owner::new().set();
        assert_eq!(seen.await, (false, false));
    }
}
