"""Code both the receiver and the consumers use: registry client, copy engine,
settings, logging, errors. Imports neither `receiver` nor `consumers`."""
