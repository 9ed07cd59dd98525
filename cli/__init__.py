"""The ``bpl`` command line. Thin: parses arguments, calls the libraries, prints."""
