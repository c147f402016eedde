"""The report: figures, terminal tables and HTML pages of what the study measured.

``plots`` draws one figure per function; ``demo_figures`` draws the demo's figures of one run of
each model; ``demo_page`` and ``sweep_page`` write the tables and pages (``templates/`` holds the
HTML, CSS and JS as package data); ``explorer`` writes the in-browser decoder page; ``story`` lays
out the demo's steps; ``why_page`` writes the ablation's page; ``film`` turns the training film into
a GIF.
"""
