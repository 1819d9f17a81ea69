-- pop3-policy store: SQL schema for Dovecot's dict server (dict-sql),
-- matching the maps in pop3-policy-dict-sql.conf.ext. Written for SQLite
-- (the embedded default: sqlite3 /var/lib/dovecot/pop3-policy.sqlite <
-- pop3-policy-sqlite.sql); the same statements work on PostgreSQL.
--
-- Every value is a store record (see the top of src/lib/pop3-policy-store.c
-- and src/lib/pop3-policy-record.c): text starting with the record version.
-- The primary key of each table is the set of variables of its key pattern
-- (plus the user for priv/ keys), which dict-sql's upsert
-- ("ON CONFLICT (...) DO UPDATE") relies on.

-- shared/pop3-policy/policy/$user: the user's policy override
CREATE TABLE IF NOT EXISTS pop3_policy_policy (
	username VARCHAR(255) NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

-- shared/pop3-policy/apop/$user: the user's APOP secret, encrypted
CREATE TABLE IF NOT EXISTS pop3_policy_apop (
	username VARCHAR(255) NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

-- shared/pop3-policy/login/$user: LOGIN-DELAY state
CREATE TABLE IF NOT EXISTS pop3_policy_login (
	username VARCHAR(255) NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

-- priv/pop3-policy/uidl-guard: UIDL guard sketch of the user
CREATE TABLE IF NOT EXISTS pop3_policy_uidl_guard (
	username VARCHAR(255) NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

-- priv/pop3-policy/uidl-map: UIDL map index of the user
CREATE TABLE IF NOT EXISTS pop3_policy_uidl_map (
	username VARCHAR(255) NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

-- priv/pop3-policy/uidl-map/$generation/$chunk: UIDL map chunks
CREATE TABLE IF NOT EXISTS pop3_policy_uidl_map_chunk (
	username VARCHAR(255) NOT NULL,
	generation VARCHAR(64) NOT NULL,
	chunk VARCHAR(16) NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (generation, chunk, username)
);
