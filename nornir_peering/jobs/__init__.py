"""Background jobs on Redis Queue (``--tasks``).

The command that enqueues does everything that needs the state file or the
templates: it loads the inventory, renders, reads what is stored. Each job
carries what a worker needs (a router's connection parameters and its
rendered configuration, a batch of bgpq runs, a PeeringDB download), and the
worker runs the same public Nornir tasks and functions a direct run does, on
a one-host Nornir object, without ever opening the DuckDB file. Results come
back through Redis; one writer stores them: the enqueuing command, which
waits for its jobs by default, or ``jobs collect`` for a batch enqueued with
``--no-wait``.

- :mod:`.queue`: batches of jobs, enqueued, waited for, listed, collected.
- :mod:`.work`: the job functions workers run.
- :mod:`.payload`: what goes into a job and comes back, as JSON.
- :mod:`.worker`: ``nornir-peering worker``.
"""
