"""Running training: data in, run folder out.

``config`` holds the settings every training flag comes from; ``driver`` is the one training loop;
``single`` and ``ensemble_run`` write a single run's and an ensemble's folder with it; ``checkpoint``
and ``files`` write and read what is in a folder; ``parallel`` and ``distributed`` place the work on
devices and hosts; ``folder`` gives a run folder one writer at a time; ``film`` records an ensemble's
codes after every epoch; ``prune`` keeps only a finished ensemble's final models.
"""
