"""The service tests' helpers make what they say they make."""
from tests.api.service.support import bad_number, my_number


def test_support_numbers_are_valid():
    """The helpers' numbers pass the official check digit, their bad twins fail it."""
    from jukimatch.engine.validate.checkdigit import my_number_errors

    assert my_number_errors([my_number(12345678901), bad_number(12345678901)]) == [None, "check_digit"]
