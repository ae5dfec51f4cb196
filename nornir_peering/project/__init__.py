"""New projects: ``init`` for an AS from PeeringDB (:mod:`.scaffold`), the lab's own
(``lab init``), and the files they are made of, shipped in the package."""
