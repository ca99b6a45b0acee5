"""The management platform: identity, departments, roles, audit, review queues and metrics.

Every state change a person cares about goes through here so it is audited once, in one place.
"""
