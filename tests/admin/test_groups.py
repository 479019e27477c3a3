"""create-group, list-groups, group-members."""

from __future__ import annotations

from sqlalchemy import select

from debusine.models import Group, GroupAuditLog, GroupMembership, GroupMembershipRoles
from tests import factories
from tests.admin.helpers import assert_error, assert_usage_error


def members(db_session, group: Group) -> dict[str, str]:
    db_session.expire_all()
    return {
        m.user.username: m.role.value
        for m in db_session.scalars(
            select(GroupMembership).where(GroupMembership.group_id == group.id)
        )
    }


def test_create_group(admin, db_session):
    scope = factories.ScopeFactory(name="debian")

    result = admin("create-group", "debian/Developers")

    assert result.code == 0, result
    assert result.out == "Created group debian/Developers\n"
    group = db_session.scalar(select(Group).where(Group.name == "Developers"))
    assert group.scope == scope
    assert not group.ephemeral
    assert group.memberships == []


def test_create_group_same_name_other_scope(admin):
    factories.GroupFactory(scope=factories.ScopeFactory(name="debian"), name="Admins")
    factories.ScopeFactory(name="apertis")

    assert admin("create-group", "apertis/Admins").code == 0


def test_create_group_duplicate(admin, unchanged):
    factories.GroupFactory(scope=factories.ScopeFactory(name="debian"), name="Admins")
    check = unchanged()

    assert_error(
        admin("create-group", "debian/Admins"), "group debian/Admins already exists"
    )
    check()


def test_create_group_unknown_scope(admin, unchanged):
    check = unchanged()

    assert_error(admin("create-group", "nowhere/Admins"), "unknown scope 'nowhere'")
    check()


def test_create_group_invalid_name(admin, unchanged):
    factories.ScopeFactory(name="debian")
    check = unchanged()

    assert_error(admin("create-group", "debian/+x"), "invalid group name '+x'")
    check()


def test_create_group_malformed(admin):
    assert_usage_error(admin("create-group", "Admins"), "not of the form SCOPE/GROUP")


def test_list_groups(admin):
    debian = factories.ScopeFactory(name="debian")
    apertis = factories.ScopeFactory(name="apertis")
    admins = factories.GroupFactory(scope=debian, name="Admins")
    factories.GroupFactory(scope=debian, name="Developers")
    factories.GroupFactory(scope=apertis, name="Admins")
    for user in factories.UserFactory.create_batch(2):
        admins.memberships.append(GroupMembership(user=user))

    table = admin("list-groups")
    everything = admin("list-groups", "--yaml").yaml()
    only_debian = admin("list-groups", "debian", "--yaml").yaml()

    assert table.code == 0
    assert [line.split() for line in table.out.splitlines()[2:]] == [
        ["apertis", "Admins", "0", "no"],
        ["debian", "Admins", "2", "no"],
        ["debian", "Developers", "0", "no"],
    ]
    assert [(g["scope"], g["name"], g["members"]) for g in everything] == [
        ("apertis", "Admins", 0),
        ("debian", "Admins", 2),
        ("debian", "Developers", 0),
    ]
    assert [g["name"] for g in only_debian] == ["Admins", "Developers"]


def test_list_groups_unknown_scope(admin):
    assert_error(admin("list-groups", "nowhere"), "unknown scope 'nowhere'")


def test_group_members_add_remove(admin, db_session):
    group = factories.GroupFactory(scope=factories.ScopeFactory(name="s"), name="G")
    for name in ("alice", "bob", "carol"):
        factories.UserFactory(username=name)

    result = admin("group-members", "s/G", "--add", "alice", "bob")

    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0] == "Members of s/G"
    assert [line.split() for line in lines[3:]] == [
        ["alice", "member"],
        ["bob", "member"],
    ]
    assert members(db_session, group) == {"alice": "member", "bob": "member"}

    result = admin(
        "group-members", "s/G", "--add", "carol", "--admin", "--remove", "bob", "--yaml"
    )

    assert result.yaml() == [
        {"username": "alice", "role": "member"},
        {"username": "carol", "role": "admin"},
    ]
    assert members(db_session, group) == {"alice": "member", "carol": "admin"}
    logs = db_session.scalars(
        select(GroupAuditLog.changes)
        .where(GroupAuditLog.group_id == group.id)
        .order_by(GroupAuditLog.id)
    ).all()
    assert logs == [
        {"source": "debusine-admin", "added": ["alice", "bob"], "role": "member"},
        {
            "source": "debusine-admin",
            "added": ["carol"],
            "role": "admin",
            "removed": ["bob"],
        },
    ]


def test_group_members_readd_sets_role(admin, db_session):
    group = factories.GroupFactory(scope=factories.ScopeFactory(name="s"), name="G")
    alice = factories.UserFactory(username="alice")
    group.memberships.append(
        GroupMembership(user=alice, role=GroupMembershipRoles.MEMBER)
    )

    assert admin("group-members", "s/G", "--add", "alice", "--admin").code == 0
    assert members(db_session, group) == {"alice": "admin"}


def test_group_members_set(admin, db_session):
    group = factories.GroupFactory(scope=factories.ScopeFactory(name="s"), name="G")
    alice, bob, carol = (
        factories.UserFactory(username=name) for name in ("alice", "bob", "carol")
    )
    group.memberships.append(GroupMembership(user=alice))
    group.memberships.append(GroupMembership(user=bob))

    result = admin("group-members", "s/G", "--set", "bob", "carol", "--yaml")

    assert result.code == 0, result
    assert result.yaml() == [
        {"username": "bob", "role": "member"},
        {"username": "carol", "role": "member"},
    ]
    assert members(db_session, group) == {"bob": "member", "carol": "member"}

    assert admin("group-members", "s/G", "--set").code == 0
    assert members(db_session, group) == {}
    assert carol.id


def test_group_members_show_only(admin, db_session):
    group = factories.GroupFactory(scope=factories.ScopeFactory(name="s"), name="G")
    group.memberships.append(GroupMembership(user=factories.UserFactory(username="a")))

    result = admin("group-members", "s/G", "--yaml")

    assert result.yaml() == [{"username": "a", "role": "member"}]
    assert db_session.scalars(select(GroupAuditLog)).all() == []


def test_group_members_remove_non_member(admin, db_session):
    group = factories.GroupFactory(scope=factories.ScopeFactory(name="s"), name="G")
    factories.UserFactory(username="alice")

    result = admin("group-members", "s/G", "--remove", "alice", "--yaml")

    assert result.code == 0
    assert result.yaml() == []
    assert members(db_session, group) == {}


def test_group_members_unknown_user(admin, db_session, unchanged):
    group = factories.GroupFactory(scope=factories.ScopeFactory(name="s"), name="G")
    factories.UserFactory(username="alice")
    check = unchanged()

    result = admin("group-members", "s/G", "--add", "alice", "nobody")

    assert_error(result, "unknown user 'nobody'")
    check()
    assert members(db_session, group) == {}


def test_group_members_unknown_group(admin, unchanged):
    factories.ScopeFactory(name="s")
    factories.UserFactory(username="alice")
    check = unchanged()

    assert_error(admin("group-members", "s/G", "--add", "alice"), "unknown group s/G")
    assert_error(admin("group-members", "t/G", "--add", "alice"), "unknown scope 't'")
    check()


def test_group_members_usage_errors(admin):
    factories.GroupFactory(scope=factories.ScopeFactory(name="s"), name="G")
    factories.UserFactory(username="alice")

    assert_usage_error(
        admin("group-members", "s/G", "--set", "alice", "--add", "alice"),
        "--set cannot be combined",
    )
    assert_usage_error(admin("group-members", "s/G", "--admin"), "--admin needs")
    assert_usage_error(
        admin("group-members", "s/G", "--add", "alice", "--remove", "alice"),
        "both added and removed: alice",
    )
