//! The signing keys, kept in the state store so that every instance signs with the
//! same ones and a restart keeps them. There is always a next key, published a full
//! rotation period before it signs anything, so hosts' cached key sets (the JWKS
//! allows 5 minutes) know it long before; a replaced key stays published two days
//! longer than its last token can live.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use phone_verify_token::{JwkSet, SigningKey};
use serde::{Deserialize, Serialize};

/// A new key signs every 30 days.
pub const ROTATE_EVERY_SECS: u64 = 30 * 86_400;
/// A replaced key stays published this long after its successor began to sign:
/// longer than a token lives, plus the longest re-issue window and clock skew.
pub const RETAIN_SECS: u64 = 2 * 86_400;

/// The keys, oldest first, each with the Unix second it signs from.
#[derive(Clone, Debug)]
pub struct KeyRing {
    keys: Vec<(SigningKey, u64)>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    /// The secret scalar, base64url.
    secret: String,
    /// Unix seconds.
    signs_from: u64,
}

impl KeyRing {
    /// A first ring: a key that signs at once (no host has cached anything yet) and
    /// the next one.
    pub fn new(now: u64) -> Self {
        Self {
            keys: vec![
                (SigningKey::generate(), now),
                (SigningKey::generate(), now + ROTATE_EVERY_SECS),
            ],
        }
    }

    /// The key that signs at `now`.
    pub fn signing(&self, now: u64) -> &SigningKey {
        self.keys
            .iter()
            .rev()
            .find(|(_, from)| *from <= now)
            .or(self.keys.first())
            .map(|(key, _)| key)
            .expect("a key ring is never empty")
    }

    /// Once the next key signs, publishes a new next one; drops keys no token can
    /// still need. Says whether anything changed.
    pub fn rotate(&mut self, now: u64) -> bool {
        let mut changed = false;
        if self.keys.last().is_some_and(|(_, from)| *from <= now) {
            self.keys
                .push((SigningKey::generate(), now + ROTATE_EVERY_SECS));
            changed = true;
        }
        let signing_since = self
            .keys
            .iter()
            .rev()
            .map(|(_, from)| *from)
            .find(|from| *from <= now);
        if let Some(since) = signing_since
            && since + RETAIN_SECS <= now
        {
            let before = self.keys.len();
            self.keys.retain(|(_, from)| *from >= since);
            changed |= self.keys.len() != before;
        }
        changed
    }

    /// Every published key's public half.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().map(|(key, _)| key.jwk().clone()).collect(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let stored: Vec<StoredKey> = self
            .keys
            .iter()
            .map(|(key, signs_from)| StoredKey {
                secret: B64.encode(key.secret_bytes()),
                signs_from: *signs_from,
            })
            .collect();
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    /// The ring [`Self::encode`] wrote, if it is one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let stored: Vec<StoredKey> = serde_json::from_slice(bytes).ok()?;
        let keys = stored
            .into_iter()
            .map(|k| {
                Some((
                    SigningKey::from_secret_bytes(&B64.decode(k.secret).ok()?)?,
                    k.signs_from,
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        (!keys.is_empty()).then_some(Self { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;
    const DAY: u64 = 86_400;

    fn kids(ring: &KeyRing) -> Vec<String> {
        ring.jwks().keys.into_iter().filter_map(|k| k.kid).collect()
    }

    #[test]
    fn a_new_ring_signs_at_once_and_publishes_the_next_key() {
        let ring = KeyRing::new(T0);
        let published = kids(&ring);
        assert_eq!(published.len(), 2);
        assert_eq!(ring.signing(T0).kid(), published[0]);
        assert_eq!(ring.signing(T0 + 30 * DAY - 1).kid(), published[0]);
        assert_eq!(ring.signing(T0 + 30 * DAY).kid(), published[1]);
    }

    #[test]
    fn rotation_publishes_ahead_and_retires_behind() {
        let mut ring = KeyRing::new(T0);
        let [first, second] = <[String; 2]>::try_from(kids(&ring)).unwrap();
        assert!(!ring.rotate(T0 + 29 * DAY));
        // Day 30: the second key signs, a third is published, the first stays.
        let day30 = T0 + 30 * DAY;
        assert!(ring.rotate(day30));
        let third = kids(&ring)[2].clone();
        assert_eq!(kids(&ring), [first, second.clone(), third.clone()]);
        assert_eq!(ring.signing(day30).kid(), second);
        assert!(
            !ring.rotate(day30 + DAY),
            "the first key may still have tokens out"
        );
        // Two days on, the first key is retired; there is still a next key.
        assert!(ring.rotate(day30 + 2 * DAY));
        assert_eq!(kids(&ring), [second, third]);
    }

    #[test]
    fn a_ring_survives_the_store() {
        let ring = KeyRing::new(T0);
        let again = KeyRing::decode(&ring.encode()).unwrap();
        assert_eq!(kids(&again), kids(&ring));
        assert!(KeyRing::decode(b"[]").is_none());
        assert!(KeyRing::decode(b"nonsense").is_none());
    }
}
