"""Compliance: the consent ledger, Meta's deauthorize and deletion requests, retention, key rotation.

No Flask: the blueprints, the scheduler and the CLI call these with plain values.
"""
