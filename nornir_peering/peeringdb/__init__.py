"""The PeeringDB cache: ``pdb_<tag>`` tables kept in step with the API.

``schema`` (the tables), ``fetch`` (downloads), ``load`` (bulk load) and
``sync`` (the ``peeringdb-sync`` job) — imported one by one, as the store's
migrations need the schema without the rest.
"""
