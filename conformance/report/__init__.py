"""Reports: the same results as JSON for machines, HTML for tickets, JUnit for CI, and a terminal line."""
