"""Settings that the test run changes keep their production values outside it."""

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from smschat.accounts import auth
from smschat.config import Settings


def test_production_hashes_passwords_at_argon2s_recommended_cost(monkeypatch):
    monkeypatch.delenv("SMSCHAT_PASSWORD_HASHER")
    assert Settings(_env_file=None).password_hasher == "argon2"
    hasher, _ = auth._hashing("argon2")
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        RFC_9106_LOW_MEMORY.time_cost, RFC_9106_LOW_MEMORY.memory_cost, RFC_9106_LOW_MEMORY.parallelism)


def test_the_test_runs_cheap_hashes_are_argon2_and_verify_in_production():
    fast, _ = auth._hashing("fast")
    stored = fast.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, "correct horse battery")
    # ...and production upgrades such a hash at the next login.
    assert auth._hashing("argon2")[0].check_needs_rehash(stored)
