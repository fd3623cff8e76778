"""Pull, validate, normalize and store xAPI statements; see README.md for the tour."""
