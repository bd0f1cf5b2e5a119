"""One naming convention for every service's tables, so Alembic names constraints the same
way on every machine and a migration can drop what an earlier one created."""

from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A fresh MetaData per service: two services' `dossiers` tables never collide."""
    return MetaData(naming_convention=NAMING_CONVENTION)
