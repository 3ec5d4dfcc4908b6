import pytest
from sqlalchemy import func, select

from smschat.accounts import auth, projects
from smschat.accounts.actor import Actor
from smschat.chat import window as chat
from smschat.errors import PermissionDenied, ValidationError
from smschat.messaging import inbound
from smschat.models import Contact, PhoneNumber
from smschat.people import contacts, imports

GOOD = """type,name,phone,village,username
case,Grace Achieng,+254712345678,Kisumu,
case,Peter Banda,0991234567,Zomba,
mobile_worker,marie,+1 703 399 6500,,marie
"""


@pytest.fixture
def sup(session, project):
    user = auth.create_user(session, "sup", "long enough pw", project=project, role="supervisor")
    session.commit()
    return user


def _count(session, model=Contact):
    return session.scalar(select(func.count()).select_from(model))


def test_a_good_file_imports_every_row(session, project, sup):
    project.default_region = "MW"  # Malawi: 0991234567 is a national number there
    report = imports.import_csv(session, Actor.web(sup.id), project.id, GOOD)
    session.commit()
    assert (report.created, report.errors) == (3, [])
    grace = session.scalar(select(Contact).where(Contact.name == "Grace Achieng"))
    assert grace.case_properties == {"village": "Kisumu", "name": "Grace Achieng"}
    assert session.scalar(select(PhoneNumber.e164).where(PhoneNumber.contact_id != grace.id,
                                                         PhoneNumber.e164.like("+265%"))) == "+265991234567"
    # The worker is not verified yet, so the list holds the two cases only.
    assert [r.name for r in contacts._list_contacts(session, project.id)] == ["Grace Achieng", "Peter Banda"]


def test_reimporting_the_same_file_changes_nothing(session, project, sup):
    project.default_region = "MW"
    imports.import_csv(session, Actor.web(sup.id), project.id, GOOD)
    session.commit()
    again = imports.import_csv(session, Actor.web(sup.id), project.id, GOOD)
    session.commit()
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 3, [])
    assert _count(session) == 3 and _count(session, PhoneNumber) == 3


def test_bad_rows_are_reported_with_their_line_and_the_rest_import(session, project, sup):
    text = (
        "type,name,phone\n"
        "case,Good One,+254712345678\n"
        "case,Bad Number,12ab\n"
        "robot,Wrong Type,+254712345679\n"
        "case,,+254712345670\n"
        "mobile_worker,Same Number,+254712345678\n"
        "case,Good Two,+254712345671\n"
    )
    report = imports.import_csv(session, Actor.web(sup.id), project.id, text)
    session.commit()
    assert report.created == 2
    assert [line for line, _ in report.errors] == [3, 4, 5, 6]
    assert "not a valid phone number" in report.errors[0][1]
    assert "already in use" in report.errors[3][1]
    assert sorted(r.name for r in contacts._list_contacts(session, project.id)) == ["Good One", "Good Two"]


def test_a_changed_row_updates_the_contact(session, project, sup):
    imports.import_csv(session, Actor.web(sup.id), project.id, "type,name,phone\ncase,Grace,+254712345678\n")
    report = imports.import_csv(session, Actor.web(sup.id), project.id, "type,name,phone,village\ncase,Grace A.,+254712345678,Kisumu\n")
    session.commit()
    assert report.updated == 1
    assert [r.name for r in contacts._list_contacts(session, project.id)] == ["Grace A."]


def test_a_file_without_the_required_columns_is_refused(session, project, sup):
    with pytest.raises(ValidationError, match="missing: phone"):
        imports.import_csv(session, Actor.web(sup.id), project.id, "type,name\ncase,x\n")


def test_agents_cannot_import_or_add(session, project, agent):
    with pytest.raises(PermissionDenied):
        imports.import_csv(session, Actor.web(agent.id), project.id, GOOD)
    with pytest.raises(PermissionDenied):
        imports.add_contact(session, Actor.web(agent.id), project.id, "case", "x", "+254712345678")


def test_added_worker_gets_the_welcome_question_and_verifies_by_reply(session, project, sup):
    bob = imports.add_contact(session, Actor.web(sup.id), project.id, "mobile_worker", "bob", "+17035550101", send_verification=True)
    session.commit()
    assert [r.name for r in contacts._list_contacts(session, project.id)] == []
    inbound.receive_sms(session, project, "+17035550101", "123")
    session.commit()
    assert [r.name for r in contacts._list_contacts(session, project.id)] == ["bob"]
    with pytest.raises(ValidationError, match="already verified"):
        imports.start_verification(session, Actor.web(sup.id), project.id, bob.id)


def test_a_number_two_way_elsewhere_is_not_verified(session, project, sup, marie):
    other = projects.create_project(session, "other", "Other")
    twin = contacts.create_contact(session, other, "mobile_worker", "marie elsewhere")
    phone = contacts.register_phone(session, other, twin, "+17033996500")  # unverified there
    session.commit()
    inbound.receive_sms(session, other, "+17033996500", "123")
    session.commit()
    session.refresh(phone)
    assert not phone.verified and not phone.two_way
    [*_, reply] = chat.get_history(session, other.id, twin.id)
    assert reply.sender == "System" and "already registered for SMS with another program" in reply.body


def test_cli_import_reports_lines_and_exit_code(db_url, session, project, tmp_path):
    from typer.testing import CliRunner

    from smschat.cli import app

    path = tmp_path / "contacts.csv"
    path.write_text("type,name,phone\ncase,Good,+254712345678\ncase,Bad,nope\n")
    r = CliRunner().invoke(app, ["contacts", "import", str(path), "--project", "test"])
    assert r.exit_code == 1
    assert "1 created, 0 updated, 0 unchanged, 1 rows with errors" in r.output
    assert "line 3:" in r.output
    again = CliRunner().invoke(app, ["contacts", "import", str(path), "--project", "test"])
    assert "0 created, 0 updated, 1 unchanged" in again.output


def test_the_command_line_imports_as_the_operator(session, project):
    from smschat.accounts.actor import OPERATOR

    one = "type,name,phone\ncase,Zoe,+254700000002\n"
    report = imports.import_csv(session, OPERATOR, project.id, one)
    assert (report.created, report.errors) == (1, [])
    with pytest.raises(TypeError, match="must be an Actor"):
        imports.import_csv(session, None, project.id, one)  # no longer a silent way round the check
