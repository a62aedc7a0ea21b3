"""Tools built on the library: `powerbert bench`, `powerbert sweep` and their shared option parsers."""
