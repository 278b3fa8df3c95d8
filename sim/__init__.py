"""jukimatch.sim: the outside world, simulated.

Rooms (nothing heavy is imported here): ``profiles`` (the 19 requesters' load profiles,
joined with ``datasets/data/requesters.tsv``), ``mix`` (what a requester sends, and the judge
of an answer), ``locustfile`` (Locust users and the business-day shape), ``load``
(``simulate load``), ``calibrate`` (service times from the real service), ``queue`` (the
FIFO multi-server kernel, Erlang C), ``planner`` (``simulate plan``), ``jukinet_bulk``
(the bulk Juki-net stand-in; the online one is the service's ``api.service.standin``), ``service`` (a loopback service for load runs),
``commands`` (the CLI hook).
"""
