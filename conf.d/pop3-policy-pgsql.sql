-- pop3-policy: schema of the store's SQL tables (PostgreSQL).
--
-- Derived from pop3-policy-sqlite.sql: the same tables, columns and primary
-- keys, so that the same dict-sql map (pop3-policy-dict-sql.conf.ext) serves
-- both; only its connect line differs. Create the database and the tables
-- once, as a role that then owns them:
--
--   createdb -O dovecot pop3policy
--   psql -U dovecot -d pop3policy -f pop3-policy-pgsql.sql
--
-- and point the map at it, e.g.
--
--   connect = host=db.example.com dbname=pop3policy user=dovecot password=...
--
-- dict { pop3policy = pgsql:/etc/dovecot/pop3-policy-dict-sql.conf.ext }
-- on every Dovecot backend (package dovecot-pgsql), and pop3_policy_dict =
-- proxy::pop3policy as on one machine. dict-sql writes with INSERT ... ON
-- CONFLICT (the primary key columns) DO UPDATE, which needs PostgreSQL 9.5
-- or later and exactly these primary keys.
--
-- username: the user's login name; in the tables of shared/ keys escaped
-- as in the key ('/' -> '\|', '\' -> '\\'). value: a versioned record of
-- the package, "<version> TAB <kind> TAB <fields...>" (at most 60 KiB;
-- TEXT has no length limit). With a UTF8 database, user names must be
-- valid UTF-8; create it with -E SQL_ASCII
-- -T template0 to store any bytes.

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
