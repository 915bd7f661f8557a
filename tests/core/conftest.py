import pytest

from tests.core.datafiles import write_every_format


@pytest.fixture
def data_root(tmp_path):
    """A data_root holding every file format, in the layouts people actually have."""
    return write_every_format(tmp_path)
