-- The host's own users. The phone number is E.164 and counts only once
-- phone_verified is 1: the backend set it from a token it checked itself.
CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,          -- argon2id, PHC string
    phone          TEXT    NOT NULL,          -- E.164
    phone_verified INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    created_at     INTEGER NOT NULL,          -- Unix seconds
    verified_at    INTEGER                    -- Unix seconds, when phone_verified became 1
);

-- Visitors' sessions: an opaque cookie names a row.
CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    data       TEXT    NOT NULL,              -- JSON, see src/session.rs
    expires_at INTEGER NOT NULL
);

-- Result tokens already accepted for a login, kept until they expire: a token
-- checked offline (against the JWKS) is otherwise good until its exp.
CREATE TABLE used_tokens (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
