-- Managed by wmx. SECRET: never print or copy this file.
-- Synapse connects from another host with this password (scram-sha-256).
ALTER ROLE synapse PASSWORD 'test-postgres-password-0000';
