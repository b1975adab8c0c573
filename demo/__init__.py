"""`course demo`: a whole term of the course in a scratch directory, with simulated students (demo.term)."""
