//! Accounts: what a visitor types, parsed into types that cannot hold a bad value,
//! and the rows of the `accounts` table.
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::Db;

/// Why a typed value was refused; each has a message in every language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputError {
    Email,
    EmailTaken,
    Password,
    Phone,
}

/// An email address, trimmed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// [`InputError::Email`] unless it is `local@domain.tld`, at most 254 characters.
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let email = input.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(email))
        } else {
            Err(InputError::Email)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10 to 128 characters.
pub struct Password(String);

impl Password {
    /// # Errors
    /// [`InputError::Password`] when too short or too long.
    pub fn parse(input: &str) -> Result<Self, InputError> {
        if (10..=128).contains(&input.chars().count()) {
            Ok(Self(input.to_owned()))
        } else {
            Err(InputError::Password)
        }
    }

    /// An argon2id hash with a fresh salt, as a PHC string.
    pub fn hash(&self) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    }
}

/// Whether `password` matches the stored `hash`.
pub fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A number typed in international form, valid by the numbering plan of its
/// country (libphonenumber's metadata), kept as E.164. Whether it can receive a
/// code is phone-verify's to find out, when it sends one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct E164(String);

impl E164 {
    /// Accepts `+` and the number, with the spaces, dots, dashes and brackets people type.
    ///
    /// # Errors
    /// [`InputError::Phone`] otherwise.
    pub fn parse(input: &str) -> Result<Self, InputError> {
        let input = input.trim();
        // Letters would be read as a keypad's digits (vanity numbers): not here.
        if !input.starts_with('+')
            || input.chars().count() > 32
            || input.chars().any(char::is_alphabetic)
        {
            return Err(InputError::Phone);
        }
        phonenumber::parse(None, input)
            .ok()
            .filter(phonenumber::is_valid)
            .map(|number| Self(number.format().mode(phonenumber::Mode::E164).to_string()))
            .ok_or(InputError::Phone)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A row of `accounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub phone: String,
    pub phone_verified: bool,
    pub created_at: u64,
    pub verified_at: Option<u64>,
}

impl Account {
    /// The number with all but the country code and the last three digits hidden.
    pub fn masked_phone(&self) -> String {
        mask(&self.phone)
    }
}

/// `+447911123456` → `+44*******456`.
pub fn mask(e164: &str) -> String {
    let chars: Vec<char> = e164.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 || i + 3 >= chars.len() {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: row.get(0)?,
        email: row.get(1)?,
        password_hash: row.get(2)?,
        phone: row.get(3)?,
        phone_verified: row.get(4)?,
        created_at: row.get(5)?,
        verified_at: row.get(6)?,
    })
}

const COLUMNS: &str = "id, email, password_hash, phone, phone_verified, created_at, verified_at";

/// What a new account starts with.
pub struct NewAccount {
    pub email: Email,
    pub password_hash: String,
    pub phone: String,
    /// When the number was verified, if it was before the account existed.
    pub verified_at: Option<u64>,
}

/// The account store, over the database.
#[derive(Clone)]
pub struct Accounts(pub Db);

impl Accounts {
    /// Creates the account; `Ok(None)` when the email is taken.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn create(&self, new: NewAccount, now: u64) -> rusqlite::Result<Option<i64>> {
        self.0
            .call(move |conn| {
                let inserted = conn.execute(
                    "INSERT INTO accounts (email, password_hash, phone, phone_verified, created_at, verified_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (email) DO NOTHING",
                    params![
                        new.email.as_str(),
                        new.password_hash,
                        new.phone,
                        new.verified_at.is_some(),
                        now,
                        new.verified_at
                    ],
                )?;
                Ok((inserted == 1).then(|| conn.last_insert_rowid()))
            })
            .await
    }

    /// # Errors
    /// When the database fails.
    pub async fn by_email(&self, email: &Email) -> rusqlite::Result<Option<Account>> {
        let email = email.as_str().to_owned();
        self.0
            .call(move |conn| {
                one(
                    conn,
                    &format!("SELECT {COLUMNS} FROM accounts WHERE email = ?1"),
                    params![email],
                )
            })
            .await
    }

    /// # Errors
    /// When the database fails.
    pub async fn by_id(&self, id: i64) -> rusqlite::Result<Option<Account>> {
        self.0
            .call(move |conn| {
                one(
                    conn,
                    &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"),
                    params![id],
                )
            })
            .await
    }

    /// # Errors
    /// When the database fails.
    pub async fn email_taken(&self, email: &Email) -> rusqlite::Result<bool> {
        Ok(self.by_email(email).await?.is_some())
    }

    /// Sets the account's number, verified at `at`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn set_verified_phone(&self, id: i64, e164: String, at: u64) -> rusqlite::Result<()> {
        self.0
            .call(move |conn| {
                conn.execute(
                    "UPDATE accounts SET phone = ?2, phone_verified = 1, verified_at = ?3 WHERE id = ?1",
                    params![id, e164, at],
                )
                .map(drop)
            })
            .await
    }
}

fn one(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Option<Account>> {
    conn.query_row(sql, params, from_row).optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_need_a_domain() {
        assert_eq!(
            Email::parse(" Ada@Example.org ").unwrap().as_str(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "a b@example.org",
            "ada@@example.org",
            "ada@example.org.",
        ] {
            assert_eq!(Email::parse(bad), Err(InputError::Email), "{bad}");
        }
    }

    #[test]
    fn numbers_are_international_valid_and_kept_as_e164() {
        assert_eq!(
            E164::parse(" +44 7911 123456 ").unwrap().as_str(),
            "+447911123456"
        );
        assert_eq!(
            E164::parse("+1 (201) 555-0123").unwrap().as_str(),
            "+12015550123"
        );
        for bad in [
            "07911123456",
            "+0447911123456",
            "+44",
            "+44 7911 12345",
            "+4479111234567890",
            "+44 7911 12345a",
        ] {
            assert_eq!(E164::parse(bad), Err(InputError::Phone), "{bad}");
        }
    }

    #[test]
    fn passwords_hash_and_match_only_themselves() {
        assert!(Password::parse("short").is_err());
        let hash = Password::parse("correct horse battery").unwrap().hash();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse battery!", &hash));
        assert!(!password_matches("anything", "not a hash"));
    }

    #[test]
    fn a_mask_keeps_the_country_code_and_the_last_three_digits() {
        assert_eq!(mask("+447911123456"), "+44*******456");
    }
}
