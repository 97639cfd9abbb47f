//! The accounts database: one SQLite file, its schema in `migrations/`, applied in
//! order and counted in `PRAGMA user_version`.
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

const MIGRATIONS: [&str; 1] = [include_str!("../migrations/0001_accounts.sql")];

#[derive(Clone)]
pub struct Db(Arc<Mutex<Connection>>);

impl Db {
    /// Opens `path` (creating it and its folder) and brings its schema up to date.
    ///
    /// # Errors
    /// When the file cannot be opened or a migration fails.
    pub fn open(path: &Path) -> Result<Self, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut conn = Connection::open(path).map_err(|e| e.to_string())?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
            .map_err(|e| e.to_string())?;
        migrate(&mut conn).map_err(|e| e.to_string())?;
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    /// Runs `work` on the connection, off the async threads.
    ///
    /// # Errors
    /// What `work` returns, or a failure of the blocking task.
    pub async fn call<T, F>(&self, work: F) -> Result<T, rusqlite::Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let conn = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            work(&conn)
        })
        .await
        .unwrap_or(Err(rusqlite::Error::InvalidQuery))
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (number, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", number + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once() {
        let dir = std::env::temp_dir().join(format!("demo-host-db-{}", std::process::id()));
        let path = dir.join("accounts.sqlite");
        let _ = std::fs::remove_file(&path);
        drop(Db::open(&path).unwrap());
        // A second start finds the schema in place and applies nothing again.
        let db = Db::open(&path).unwrap();
        let version: usize =
            db.0.lock()
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let _ = std::fs::remove_dir_all(dir);
    }
}
