"""Probes fetch: each talks to Jira (or to the network on the way) and returns Evidence.

Probes never judge; the checks in ``conformance/checks/`` do. One module per area.
"""
