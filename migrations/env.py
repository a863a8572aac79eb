import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# Keep loggers created before the upgrade (the app's own) enabled.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    # Flask-SQLAlchemy 3: db.engine. The generated fallback to the deprecated
    # db.get_engine() raises a DeprecationWarning first, which pytest's
    # filterwarnings=error turns into a failed upgrade.
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)

        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _sqlite_check_foreign_keys(connection)
            if connection.in_transaction():
                connection.commit()
        finally:
            if sqlite:
                if connection.in_transaction():
                    connection.rollback()
                # Back on before the connection returns to the pool.
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on):
    """Switch SQLite's foreign keys, outside any transaction (inside one it is ignored).

    A batch operation rebuilds a table: it copies it, drops the original and renames the
    copy. With foreign keys on, dropping a table other rows point to fails (or the commit
    does), as soon as the database holds data; SQLite's own procedure for altering a table
    turns them off for the rebuild and runs ``PRAGMA foreign_key_check`` before commit.
    """
    raw = connection.connection.driver_connection
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _sqlite_check_foreign_keys(connection):
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"migration left broken foreign keys: {problems[:10]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
