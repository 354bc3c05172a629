"""crossdock's Alembic migrations: ``env.py`` and ``versions/`` (one file per revision).

Applied by `shared.store.migrate` (and ``crossdock db upgrade``), which configures
Alembic in code: no ``alembic.ini``. A change to `shared.store.schema` needs a new
revision making the same change, on SQLite and PostgreSQL alike; from the
repository root, ``alembic revision --rev-id 0003 -m "what"`` (configured in
pyproject.toml) writes its skeleton, and ``tests/store/test_migrations.py`` checks that the
revisions from an empty database give exactly the tables of the schema module.
"""
