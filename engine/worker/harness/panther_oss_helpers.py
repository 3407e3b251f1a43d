"""The older home of the caching helpers (panther_oss_helpers).

Used only when the repository does not ship its own panther_oss_helpers
global; it re-exports the current caching API so old rules keep working.
"""

from panther_detection_helpers.caching import (  # noqa: F401
    add_to_string_set,
    check_account_age,
    evaluate_threshold,
    get_counter,
    get_dictionary,
    get_string_set,
    increment_counter,
    put_dictionary,
    put_string_set,
    remove_from_string_set,
    reset_counter,
    reset_string_set,
    set_key_expiration,
)
