import pytest

from . import english_to_indonesian


@pytest.fixture(scope="session")
def catalogue() -> dict[str, str]:
    return english_to_indonesian()
