"""The support report's presentation: numbers (``format``), the HTML page (``page``) and its
charts (``charts``); the report itself is aggregated in ``handoff.reports``."""
