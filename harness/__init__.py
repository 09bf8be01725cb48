"""What the tests and the benchmarks share: the production stack started on this machine
(``stack``), simulated participants over HTTP (``simulated``), and studies with a known truth
(``synthetic``: vote tables, and system folders made from the shipped photos). Neither the
packages nor the site import it."""
