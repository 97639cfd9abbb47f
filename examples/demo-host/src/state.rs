use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::phone_verify::PhoneVerify;

/// Unix seconds now. The tests run the host on the clock of the phone-verify they
/// start, which they move by hand.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub phone_verify: Arc<PhoneVerify>,
    pub clock: Clock,
}

impl AppState {
    /// Opens (and migrates) the accounts database.
    ///
    /// # Errors
    /// When the database cannot be opened or the HTTP client made.
    pub fn new(config: Config, clock: Clock) -> Result<Self, String> {
        let db = Db::open(&config.database).map_err(|e| format!("accounts database: {e}"))?;
        let phone_verify = PhoneVerify::new(&config)?;
        Ok(Self {
            config: Arc::new(config),
            db,
            phone_verify: Arc::new(phone_verify),
            clock,
        })
    }

    pub fn now(&self) -> u64 {
        (self.clock)()
    }
}

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}
