-- pop3-policy: schema of the store's SQL tables (SQLite).
--
-- Used by the dict server through pop3-policy-dict-sql.conf.ext:
--   sqlite3 /var/lib/dovecot/pop3-policy/pop3-policy.sqlite \
--     < pop3-policy-sqlite.sql
--
-- Written in the SQL that SQLite, PostgreSQL and MySQL share, so that it is
-- the base of their schemas: VARCHAR and TEXT columns only, one primary key
-- per table on exactly the columns the dict-sql map fills from the key
-- (dict-sql writes with INSERT ... ON CONFLICT (those columns) DO UPDATE on
-- SQLite and PostgreSQL). On MySQL make value a MEDIUMTEXT.
--
-- username: the user's login name; in the tables of shared/ keys escaped
-- as in the key ('/' -> '\|', '\' -> '\\'). value: a versioned record of
-- the package, "<version> TAB <kind> TAB <fields...>" (at most 60 KiB).

-- Write-ahead logging (kept in the database file): every successful POP3
-- login writes its LOGIN-DELAY record, and with SQLite's default rollback
-- journal those writes block concurrent readers ("database is locked").
PRAGMA journal_mode=WAL;

CREATE TABLE pop3_policy_policy (
  username VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (username)
);

CREATE TABLE pop3_policy_apop (
  username VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (username)
);

CREATE TABLE pop3_policy_login (
  username VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (username)
);
