"""Scripts into the bible: read a script, plan the files, write them and re-ingest."""
