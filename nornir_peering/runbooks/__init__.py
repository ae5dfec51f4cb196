"""Runbooks: Nornir tasks run across routers in parallel, and the function
each CLI command calls. They return result objects; ``report`` prints them."""
