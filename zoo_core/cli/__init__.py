"""The ``zoo`` command line (:func:`zoo_core.cli.main.main`)."""
