"""Web users, their roles per project, logins and the audit trail."""
