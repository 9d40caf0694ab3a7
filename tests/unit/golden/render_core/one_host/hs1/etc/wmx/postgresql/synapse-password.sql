-- Managed by wmx. SECRET: never print or copy this file.
-- Synapse connects through the unix socket with peer authentication: no password.
ALTER ROLE synapse PASSWORD NULL;
