"""Creators from a CSV file: read it, judge each row, add the new ones in one go. No Flask.

reading.py turns the uploaded bytes into rows (or refuses the file, saying why); judging.py gives
each row a verdict against the portal and the rest of the file; saving.py judges again and adds
the new creators with bulk inserts in one transaction. The preview and the import are the same
judgement at two moments.
"""
