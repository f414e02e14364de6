"""Accounts, cookie sessions, CSRF, roles and API tokens."""
