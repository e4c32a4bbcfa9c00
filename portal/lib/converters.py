"""Path converters. `<id:pk>` is every object id in a URL: digits that fit the database's integer.

Django's `<int:…>` accepts any number of digits, so `/records/animals/<2**70>/` reached the
database and SQLite raised OverflowError (a 500). An id out of range names no object: the
converter refuses it and the URL does not match, which is a 404 like any unknown id.
"""

from django.urls import register_converter

# BigAutoField's range (DEFAULT_AUTO_FIELD): the largest id PostgreSQL and SQLite can store.
MAX_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("id out of range")
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


def register() -> None:
    register_converter(IdConverter, "id")
