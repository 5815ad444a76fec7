"""The preflight's judgements: pure functions from what a read-only step returned to a `Check`.

One module per area the checklist covers, in its order: the connection, the modules, the sync engine,
the tenant, Active Directory. `pswrap.workflows.preflight` runs the reads and assembles the checklist.
"""
