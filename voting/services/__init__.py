"""Transactions: load rows, call the domain, write rows and audit events, commit once."""
