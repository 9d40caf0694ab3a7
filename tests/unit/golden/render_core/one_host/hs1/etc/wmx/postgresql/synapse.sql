-- Managed by wmx (templates/postgresql/etc/wmx/postgresql/synapse.sql.j2).
-- Creates Synapse's role and database once; a second run changes nothing and prints
-- no CREATE tag, which is how the role tells whether anything changed.
SELECT 'CREATE ROLE synapse LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'synapse')
\gexec

-- Synapse requires C collation and ctype (sorting must not change with the locale);
-- only template0 may be copied with a locale other than the cluster's.
SELECT 'CREATE DATABASE synapse OWNER synapse ENCODING ''UTF8'' LC_COLLATE ''C'' LC_CTYPE ''C'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'synapse')
\gexec

-- A database made by hand with another collation would make Synapse refuse to start:
-- say so here, where the cause is clear.
DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_database
             WHERE datname = 'synapse' AND (datcollate <> 'C' OR datctype <> 'C')) THEN
    RAISE EXCEPTION 'database "synapse" exists with a collation or ctype other than C, '
      'which Synapse refuses; dump it, drop it and deploy again to recreate it';
  END IF;
END
$$;
