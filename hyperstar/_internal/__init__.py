"""Shared internals, one helper for each need (no public API; every other package may use these).

* ``validation`` - argument checks with the one error template
* ``io``         - atomic writes (write, fsync, rename), JSONL append, file locks
* ``convert``    - plain Python types out of numpy (for JSON, Pyro and ConfigSpace)
* ``registry``   - the one generic name -> factory registry
* ``stats``      - rank statistics (Spearman) with an explicit policy for undefined values
* ``provenance`` - code version, machine description, file digests
* ``device``     - ``device="auto"`` and GPU ids
* ``paths``      - where the shipped data lives; ``weights="auto"``
"""
