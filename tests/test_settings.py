"""Settings: validation (nothing saved when a field is invalid), role check, audit trail."""

import pytest
from sqlalchemy import select

from smschat.accounts import auth, projects
from smschat.accounts.actor import Actor
from smschat.chat import settings
from smschat.errors import PermissionDenied
from smschat.models import AuditEvent, SettingsChange


def test_defaults_are_the_seeds(session, project, sam):
    values = settings.load_settings(session, Actor.web(sam.id), project.id)
    assert values["case_name_display"] == "name"
    assert values["message_counter_threshold"] is None
    assert values["delay_automated_sms"]["enabled"] is False
    assert values["delay_automated_sms"]["conversation_minutes"] == 10
    assert values["survey_traffic"] == "show_all"
    assert values["read_mode"] == "per_user"
    assert values["chat_template"] == "Default"
    assert settings.describe("message_counter_threshold", None) == "Don't use counter"
    assert settings.describe("survey_traffic", "show_all") == "Show all survey traffic"
    assert settings.describe("read_mode", "per_user") == "only for the user that reads it"
    assert settings.describe_delay(values["delay_automated_sms"]) == "Disabled"


def test_a_supervisor_saves_and_each_change_is_in_the_audit_trail(session, project, sam):
    changed = settings.update_settings(session, Actor.web(sam.id), project.id, {
        "case_name_display": "mother_name", "message_counter_threshold": "5", "survey_traffic": "invalid_only",
        "read_mode": "per_user",  # unchanged: no row
        "delay_automated_sms": {"enabled": True, "windows": "Every day 09:00-17:00\nsat 18:00",
                                "conversation_minutes": 15},
        "time_zone": "Africa/Nairobi", "rate_limit": 2,
    })
    session.commit()
    assert changed == ["case_name_display", "message_counter_threshold", "survey_traffic", "delay_automated_sms",
                       "time_zone", "rate_limit"]
    cs = projects.get_chat_settings(session, project.id)
    assert (cs.case_name_display, cs.message_counter_threshold, cs.survey_traffic) == ("mother_name", 5, "invalid_only")
    assert cs.delay_automated_sms == {"enabled": True, "conversation_minutes": 15, "windows": [
        {"day": "every", "start": "09:00", "end": "17:00"}, {"day": "sat", "start": "18:00", "end": None}]}
    assert projects.get_project(session, project.id).time_zone == "Africa/Nairobi"
    history = settings.settings_history(session, Actor.web(sam.id), project.id)
    assert len(history) == 6 and {h.username for h in history} == {"sam"}
    by_setting = {h.setting: (h.old_value, h.new_value) for h in history}
    assert by_setting["Message Counter"] == ("Don't use counter", "5")
    assert by_setting["Survey Traffic"] == ("Show all survey traffic", "Show only invalid survey responses")
    assert by_setting["Delay Automated SMS"] == ("Disabled", "Every day 09:00-17:00; Sat 18:00 (conversation 15 min)")
    assert by_setting["Case Name Display"] == ("name", "mother_name")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "settings_changed"))
    assert event.username == "sam" and "case_name_display" in event.detail
    # Saving the same values again writes nothing.
    assert settings.update_settings(session, Actor.web(sam.id), project.id, {"case_name_display": "mother_name"}) == []


@pytest.mark.parametrize("field, value, message", [
    ("message_counter_threshold", 0, "The threshold must be greater than 0."),
    ("message_counter_threshold", "ten", "A whole number greater than 0, or Don't use counter."),
    ("case_name_display", "mother name", "A case property name"),
    ("survey_traffic", "some", "Choose one of"),
    ("read_mode", "never", "Choose one of"),
    ("chat_template", "Fancy", "Unknown chat template 'Fancy'"),
    ("time_zone", "Mars/Olympus", "Unknown time zone"),
    ("default_region", "XX", "two-letter country code"),
    ("rate_limit", 0, "Between 0"),
    ("help_text", "x" * 321, "At most 320 characters"),
    ("delay_automated_sms", {"enabled": True, "windows": "", "conversation_minutes": 10}, "at least one window"),
    ("delay_automated_sms", {"enabled": True, "windows": "Mon 17:00-09:00"}, "must be after the start"),
    ("delay_automated_sms", {"enabled": True, "windows": "Someday 09:00"}, "unknown day"),
    ("delay_automated_sms", {"enabled": True, "windows": "Mon 25:00"}, "is not a time"),
    ("delay_automated_sms", {"enabled": True, "windows": "Mon 09:00", "conversation_minutes": 4}, "between 5 and 30"),
    ("delay_automated_sms", {"enabled": False, "conversation_minutes": 31}, "between 5 and 30"),
])
def test_an_invalid_field_is_refused_with_its_message(session, project, sam, field, value, message):
    with pytest.raises(settings.SettingsInvalid) as caught:
        settings.update_settings(session, Actor.web(sam.id), project.id, {field: value})
    assert list(caught.value.errors) == [field]
    assert message in caught.value.errors[field]


def test_one_invalid_field_saves_nothing_and_every_error_is_reported(session, project, sam):
    with pytest.raises(settings.SettingsInvalid) as caught:
        settings.update_settings(session, Actor.web(sam.id), project.id, {
            "case_name_display": "mother_name", "message_counter_threshold": -1, "chat_template": "Nope"})
    session.rollback()
    assert set(caught.value.errors) == {"message_counter_threshold", "chat_template"}
    assert str(caught.value) == "Nothing was saved: check Message Counter, Chat Template."
    assert projects.get_chat_settings(session, project.id).case_name_display == "name"
    assert session.scalar(select(SettingsChange.id)) is None


@pytest.mark.parametrize("role", ["agent", "analyst"])
def test_an_agent_or_analyst_cannot_save_settings(session, project, role):
    user = auth.create_user(session, "someone", "long enough pw", project=project, role=role)
    session.commit()
    with pytest.raises(PermissionDenied, match=f"Your role \\({role}\\) cannot change settings"):
        settings.update_settings(session, Actor.web(user.id), project.id, {"message_counter_threshold": 3})
    assert projects.get_chat_settings(session, project.id).message_counter_threshold is None


def test_settings_of_another_project_are_out_of_reach(session, project, sam):
    other = projects.create_project(session, "other", "Other")
    session.commit()
    with pytest.raises(PermissionDenied):
        settings.update_settings(session, Actor.web(sam.id), other.id, {"message_counter_threshold": 3})
