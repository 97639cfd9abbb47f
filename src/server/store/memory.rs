//! The SQLite backend's working copy: every live key in memory, with the store's
//! operations done on it under one lock, and the keys changed since the file last
//! had them written down. Expiry as in the file: milliseconds since the epoch.
use std::collections::HashMap;

use super::Counter;

/// A value and when it stops being live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub value: Vec<u8>,
    pub expires_at: i64,
}

/// What the file must learn about one key: its row, or that it is gone.
pub type Change = (String, Option<Row>);

#[derive(Default)]
pub struct Rows {
    rows: HashMap<String, Row>,
    /// Keys whose row changed (or went) since [`Self::take_changes`] last ran, each
    /// with whether the file cannot have it: made since then, where no row was and
    /// no change was waiting. Such a key removed again before the next write is no
    /// change at all (a session renewed, a code taken, moments after they were made).
    changed: HashMap<String, bool>,
}

impl Rows {
    /// The rows a file holds, as they were loaded; nothing to write back.
    pub fn loaded(rows: impl IntoIterator<Item = (String, Row)>) -> Self {
        Self {
            rows: rows.into_iter().collect(),
            ..Self::default()
        }
    }

    fn live(&self, key: &str, now: i64) -> Option<&Row> {
        self.rows.get(key).filter(|row| row.expires_at > now)
    }

    fn put(&mut self, key: &str, value: Vec<u8>, expires_at: i64) {
        let made = self
            .rows
            .insert(key.to_owned(), Row { value, expires_at })
            .is_none();
        // A change already waiting decides: the file may have had the key before it.
        self.changed.entry(key.to_owned()).or_insert(made);
    }

    /// Notes that the row under `key` went.
    fn removed(&mut self, key: &str) {
        if self.changed.get(key) == Some(&true) {
            self.changed.remove(key);
        } else {
            self.changed.insert(key.to_owned(), false);
        }
    }

    pub fn get(&self, key: &str, now: i64) -> Option<Vec<u8>> {
        self.live(key, now).map(|row| row.value.clone())
    }

    pub fn set(&mut self, key: &str, value: &[u8], expires_at: i64) {
        self.put(key, value.to_vec(), expires_at);
    }

    /// Stores `value` only if `key` holds nothing live; says whether it did.
    pub fn set_if_absent(&mut self, key: &str, value: &[u8], expires_at: i64, now: i64) -> bool {
        if self.live(key, now).is_some() {
            return false;
        }
        self.put(key, value.to_vec(), expires_at);
        true
    }

    pub fn delete(&mut self, key: &str) {
        if self.rows.remove(key).is_some() {
            self.removed(key);
        }
    }

    /// Removes the row under `key`; its value if it was live.
    pub fn take(&mut self, key: &str, now: i64) -> Option<Vec<u8>> {
        let row = self.rows.remove(key)?;
        self.removed(key);
        (row.expires_at > now).then_some(row.value)
    }

    /// Adds one to the live counter under `key`, or starts it at one, to live until
    /// `expires_at`; the new count.
    pub fn incr(&mut self, key: &str, expires_at: i64, now: i64) -> u64 {
        let (count, expires_at) = match self.live(key, now) {
            Some(row) => (parse_count(&row.value) + 1, row.expires_at),
            None => (1, expires_at),
        };
        self.put(key, count.to_string().into_bytes(), expires_at);
        count
    }

    /// Takes one back from the live counter under `key`, never below zero.
    pub fn release(&mut self, key: &str, now: i64) {
        if let Some(row) = self.live(key, now) {
            let (count, expires_at) = (parse_count(&row.value).saturating_sub(1), row.expires_at);
            self.put(key, count.to_string().into_bytes(), expires_at);
        }
    }

    /// If every counter is below its limit, counts one on each and answers `None`;
    /// otherwise changes nothing and answers the index of the first that is full.
    /// `expires_at` gives a new counter's end from its time to live.
    pub fn admit(
        &mut self,
        counters: &[Counter],
        now: i64,
        expires_at: impl Fn(&Counter) -> i64,
    ) -> Option<usize> {
        let full = counters.iter().position(|counter| {
            self.live(&counter.key, now)
                .map_or(0, |row| parse_count(&row.value))
                >= counter.limit
        });
        if full.is_none() {
            for counter in counters {
                self.incr(&counter.key, expires_at(counter), now);
            }
        }
        full
    }

    /// Drops every expired row from memory; how many there were. The file forgets
    /// them by its own sweep, so they are not changes to write.
    pub fn sweep(&mut self, now: i64) -> usize {
        let before = self.rows.len();
        self.rows.retain(|_, row| row.expires_at > now);
        before - self.rows.len()
    }

    /// The changes since the last call, each key once with its latest row. A row
    /// made since then that expires before `lasting_until` is not worth a write: the
    /// file never hears of it. A row the file may have is written whatever its life,
    /// so that a restart never finds an older value (a counter near its window's end).
    pub fn take_changes(&mut self, lasting_until: i64) -> Vec<Change> {
        let rows = &self.rows;
        self.changed
            .drain()
            .filter_map(|(key, made)| match rows.get(&key) {
                Some(row) if made && row.expires_at < lasting_until => None,
                row => Some((key, row.cloned())),
            })
            .collect()
    }

    /// Marks `keys` changed again: their write did not reach the file.
    pub fn unwritten(&mut self, keys: impl IntoIterator<Item = String>) {
        self.changed
            .extend(keys.into_iter().map(|key| (key, false)));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rows.len()
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

    fn row(value: &[u8], expires_at: i64) -> Row {
        Row {
            value: value.to_vec(),
            expires_at,
        }
    }

    fn counter(key: &str, limit: u64) -> Counter {
        Counter {
            key: key.into(),
            limit,
            ttl: std::time::Duration::from_secs(60),
        }
    }

    #[test]
    fn a_key_written_several_times_is_one_change_with_its_last_value() {
        let mut rows = Rows::default();
        rows.set("k", b"one", 100);
        rows.set("k", b"two", 200);
        let last = row(b"two", 200);
        assert_eq!(rows.take_changes(0), [("k".to_owned(), Some(last))]);
        assert!(rows.take_changes(0).is_empty(), "nothing new since");
    }

    #[test]
    fn a_key_made_and_removed_between_two_writes_is_no_change_unless_the_file_had_it() {
        let mut rows = Rows::loaded([("filed".to_owned(), row(b"v", 100))]);
        rows.set("brief", b"x", 100);
        rows.set("brief", b"y", 100);
        assert_eq!(rows.take("brief", 0).as_deref(), Some(&b"y"[..]));
        rows.delete("filed");
        rows.set("filed", b"again", 100);
        rows.delete("filed");
        assert_eq!(
            rows.take_changes(0),
            [("filed".to_owned(), None)],
            "the file forgets what it had, and never hears of the rest"
        );
        rows.set("kept", b"x", 100);
        assert_eq!(rows.take_changes(0).len(), 1);
        rows.delete("kept");
        assert_eq!(
            rows.take_changes(0),
            [("kept".to_owned(), None)],
            "written once, so removed from the file too"
        );
    }

    #[test]
    fn expired_rows_read_as_absent_and_can_be_replaced() {
        let mut rows = Rows::default();
        rows.set("k", b"old", 10);
        assert_eq!(rows.get("k", 9).as_deref(), Some(&b"old"[..]));
        assert_eq!(rows.get("k", 10), None);
        assert!(!rows.set_if_absent("k", b"new", 50, 9), "still live");
        assert!(rows.set_if_absent("k", b"new", 50, 10));
        assert_eq!(rows.take("k", 20).as_deref(), Some(&b"new"[..]));
        assert_eq!(rows.take("k", 20), None, "taken once");
    }

    #[test]
    fn counters_keep_their_window_and_admit_counts_all_or_nothing() {
        let mut rows = Rows::default();
        assert_eq!(rows.incr("c", 100, 0), 1);
        assert_eq!(
            rows.incr("c", 500, 50),
            2,
            "the window set by the first hit"
        );
        assert_eq!(rows.get("c", 99).as_deref(), Some(&b"2"[..]));
        assert_eq!(rows.incr("c", 300, 100), 1, "a new window");

        let both = [counter("a", 2), counter("b", 1)];
        assert_eq!(rows.admit(&both, 0, |_| 1_000), None);
        assert_eq!(rows.admit(&both, 0, |_| 1_000), Some(1), "b is full");
        assert_eq!(
            rows.get("a", 0).as_deref(),
            Some(&b"1"[..]),
            "a not counted again"
        );
        rows.release("b", 0);
        assert_eq!(rows.admit(&both, 0, |_| 1_000), None, "b has room again");
        rows.release("gone", 0);
        assert_eq!(rows.get("gone", 0), None, "nothing to release");
    }

    #[test]
    fn a_row_made_about_to_expire_stays_in_memory_and_one_the_file_has_is_written() {
        let lasting_until = 15_000;
        let mut rows = Rows::loaded([("filed".to_owned(), row(b"v", 60_000))]);
        rows.set("note", b"n", 10_000);
        rows.set("filed", b"brief", 5_000);
        rows.set("lasting", b"l", 15_000);
        let mut changes = rows.take_changes(lasting_until);
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            changes,
            [
                ("filed".to_owned(), Some(row(b"brief", 5_000))),
                ("lasting".to_owned(), Some(row(b"l", 15_000)))
            ],
            "the note is never written; the file's row is kept up to date"
        );
        assert_eq!(
            rows.get("note", 0).as_deref(),
            Some(&b"n"[..]),
            "answered from memory"
        );
        assert_eq!(rows.get("filed", 0).as_deref(), Some(&b"brief"[..]));
    }

    #[test]
    fn a_sweep_forgets_expired_rows_without_writing_them() {
        let mut rows = Rows::loaded([
            ("old".to_owned(), row(b"v", 5)),
            ("live".to_owned(), row(b"v", 50)),
        ]);
        assert_eq!(rows.sweep(10), 1);
        assert_eq!(rows.len(), 1);
        assert!(rows.take_changes(0).is_empty());
    }
}
