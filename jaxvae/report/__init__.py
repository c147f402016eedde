"""The report: figures, terminal tables and HTML pages of what the study measured.

``plots`` draws one figure per function; ``demo_figures`` and ``sweep_figures`` draw the demo's and
the sweep's figures; ``tables`` makes the tables every page shares; ``demo_page``, ``sweep_page`` and
``why_page`` write the pages (``templates/`` holds the HTML, CSS and JS as package data), and
``story`` lays out the demo's steps; ``explorer`` writes the in-browser decoder page; ``film`` turns
the training film into a GIF.
"""
